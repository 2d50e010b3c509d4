"""Matchmaking: each learner's opponent mixture, and the league's ``MatchTable``.

Opponent selection per role (AlphaStar, Vinyals et al. 2019, Methods and
pseudocode), written as exact mixtures so a table is a probability distribution.
"Snapshots" are frozen copies of learners; "the ladder" is the fixed players
(``random``, then scripted ones in the order listed) unlocked so far.

    main              ladder_share   PFSP over the unlocked ladder levels
                                     (settings.ladder_weighting, ``variance``: levels
                                     near 50 %, not a wall it always loses to), mixed
                                     with ladder_explore of uniform over the levels
                                     (a level never beaten keeps being measured)
                      the rest, by main_split:
                      split[0]  PFSP over all snapshots (settings.pfsp_weighting)
                      split[1]  self-play: a current main agent m, uniformly; if the
                                learner's win rate vs m < selfplay_min_win_rate, m's
                                snapshots with variance weighting instead (curriculum)
                      split[2]  verification: PFSP over exploiters' snapshots
                      An empty branch (no snapshots, no exploiter snapshots, no
                      ladder) hands its share to self-play, which always has a candidate.
    main_exploiter    a current main agent m, uniformly; below exploiter_min_win_rate
                      vs m, m's snapshots with variance weighting
    league_exploiter  PFSP over all snapshots and the unlocked ladder
                      (settings.league_exploiter_weighting); the current main agents
                      if nothing is frozen yet

Data: with ``settings.data_share`` each role's learners get that share of the
*trained rows* (``learner_shares``: a learner trains on every seat it plays, also as
the live opponent in another learner's match, and twice in self-play), and a main
agent's ladder_share / main_split count rows of its own matches too (its self-play
episodes are halved: each gives it both seats); its seat in its exploiters' games comes
on top (measured as ``rows_vs_live_exploiters``). Without it, every learner gets an
equal share 1/L of the episodes and the splits count episodes. With
``settings.matches_per_learner = K`` each learner's share is split over K sampled
matches (``random.Random`` seeded by seed and iteration: the same in any process);
with ``None`` the exact mixture is used.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from marl.league.errors import LeagueValueError
from marl.league.pfsp import pfsp_distribution
from marl.league.players import Player
from marl.league.settings import LeagueSettings

__all__ = ["MatchEntry", "MatchTable", "build_match_table", "learner_shares",
           "opponent_distribution"]

WinRate = Callable[[str, str], float]
"""``win_rate(p, q)``: p's (decayed) win rate against q, 0.5 if unseen."""

SeatSteps = Callable[[str, str], float]
"""``seat_steps(p, q)``: agent steps one seat takes in a p-vs-q episode (an estimate)."""


def _equal_seats(p: str, q: str) -> float:
    return 1.0


class MatchEntry(NamedTuple):
    """Table row: ``learner`` plays ``opponent`` in a ``weight`` share of all episodes."""

    learner: str
    opponent: str
    weight: float


@dataclass(frozen=True)
class MatchTable:
    """Immutable list of (learner, opponent, weight) entries; weights sum to 1."""

    entries: tuple[MatchEntry, ...]
    iteration: int = 0

    def __post_init__(self) -> None:
        entries = tuple(MatchEntry(str(a), str(b), float(w)) for a, b, w in self.entries)
        if not entries:
            raise LeagueValueError("a match table needs at least one entry")
        if any(not w > 0.0 for _, _, w in entries):
            raise LeagueValueError(
                f"match table weights must be > 0, got {[e.weight for e in entries]}"
            )
        object.__setattr__(self, "entries", entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[MatchEntry]:
        return iter(self.entries)

    @property
    def total_weight(self) -> float:
        """Sum of all weights (1 up to float rounding)."""
        return sum(e.weight for e in self.entries)

    def learners(self) -> tuple[str, ...]:
        """Learner ids, in order of first appearance."""
        return tuple(dict.fromkeys(e.learner for e in self.entries))

    def module_ids(self) -> tuple[str, ...]:
        """Every player id the table uses, learners and opponents, in order of first appearance."""
        return tuple(dict.fromkeys(pid for e in self.entries for pid in (e.learner, e.opponent)))

    def opponents(self, learner: str) -> dict[str, float]:
        """``learner``'s opponents with their share of that learner's weight (sums to 1)."""
        rows = [e for e in self.entries if e.learner == learner]
        total = sum(e.weight for e in rows)
        out: dict[str, float] = {}
        for e in rows:
            out[e.opponent] = out.get(e.opponent, 0.0) + e.weight / total
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serializable dict ``{"iteration", "entries": [[learner, opponent, w]]}``."""
        return {"iteration": self.iteration, "entries": [list(e) for e in self.entries]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MatchTable:
        """Inverse of ``to_dict``."""
        return cls(
            entries=tuple(MatchEntry(*e) for e in data["entries"]), iteration=data["iteration"]
        )


def _add(dist: dict[str, float], branch: dict[str, float], share: float) -> None:
    """Mix ``branch`` into ``dist`` with weight ``share``: dist += share * branch."""
    if share <= 0.0:
        return
    for pid, prob in branch.items():
        dist[pid] = dist.get(pid, 0.0) + share * prob


def _pfsp(
    learner: str, candidates: Sequence[Player], win_rate: WinRate, weighting: str, exponent: float
) -> dict[str, float]:
    probs = pfsp_distribution([win_rate(learner, c.id) for c in candidates], weighting, exponent)
    return {c.id: p for c, p in zip(candidates, probs, strict=True)}


def _vs_main(
    learner: Player, main: Player, players: Sequence[Player], win_rate: WinRate, min_win_rate: float
) -> dict[str, float]:
    """Play ``main``, or its snapshots (variance PFSP) while it beats the learner badly."""
    if win_rate(learner.id, main.id) >= min_win_rate:
        return {main.id: 1.0}
    history = [q for q in players if q.role == "frozen" and q.parent == main.id]
    if not history:
        return {main.id: 1.0}
    return _pfsp(learner.id, history, win_rate, "variance", 2.0)


def opponent_distribution(
    learner: Player, players: Sequence[Player], win_rate: WinRate, settings: LeagueSettings,
    ladder: Sequence[str] = (), seat_steps: SeatSteps = _equal_seats,
) -> dict[str, float]:
    """Exact opponent mixture of one learner, by role (see module docstring).

    Args:
        learner: A learning player (main, main_exploiter or league_exploiter).
        players: All league players, in league order (determines tie order).
        win_rate: ``win_rate(p, q)`` from the payoff table.
        settings: League settings (split, weightings, curriculum thresholds).
        ladder: Ids of the unlocked ladder levels (fixed players), lowest first.
        seat_steps: Agent steps per seat of a p-vs-q episode; with ``data_share`` the
            main agent's mixture is over rows, so episode weights are divided by it.

    Returns:
        Opponent id -> probability, summing to 1, in a deterministic order.
    """
    snapshots = [q for q in players if q.role == "frozen"]
    unlocked = set(ladder)
    levels = [q for q in players if q.id in unlocked]
    mains = [q for q in players if q.role == "main"]
    dist: dict[str, float] = {}
    if learner.role == "main":
        w_ladder = settings.ladder_share if levels else 0.0
        w_pfsp, w_self, w_verify = (w * (1.0 - w_ladder) for w in settings.main_split)
        exploiter_snaps = [
            q for q in snapshots if q.frozen_from in ("main_exploiter", "league_exploiter")
        ]
        if not snapshots:  # nothing frozen yet: PFSP's share goes to self-play
            w_pfsp, w_self = 0.0, w_self + w_pfsp
        if not exploiter_snaps:  # no exploiter snapshot yet: verification's share too
            w_verify, w_self = 0.0, w_self + w_verify
        weighting, p = settings.pfsp_weighting, settings.pfsp_exponent
        explore = settings.ladder_explore
        _add(dist, _pfsp(learner.id, levels, win_rate, settings.ladder_weighting, p),
             w_ladder * (1.0 - explore))
        _add(dist, {q.id: 1.0 / len(levels) for q in levels}, w_ladder * explore)
        _add(dist, _pfsp(learner.id, snapshots, win_rate, weighting, p), w_pfsp)
        for main in mains:
            branch = _vs_main(learner, main, players, win_rate, settings.selfplay_min_win_rate)
            _add(dist, branch, w_self / len(mains))
        _add(dist, _pfsp(learner.id, exploiter_snaps, win_rate, weighting, p), w_verify)
        if settings.data_share is not None:
            # Rows, not episodes: an episode vs q gives the learner seat_steps(learner, q)
            # rows per seat it holds (both seats against itself), so episode weights are
            # the row shares divided by that.
            dist = {q: v / ((2.0 if q == learner.id else 1.0)
                            * max(seat_steps(learner.id, q), 1e-6)) for q, v in dist.items()}
            total = sum(dist.values())
            dist = {q: v / total for q, v in dist.items()}
    elif learner.role == "main_exploiter":
        for main in mains:
            branch = _vs_main(learner, main, players, win_rate, settings.exploiter_min_win_rate)
            _add(dist, branch, 1.0 / len(mains))
    elif learner.role == "league_exploiter":
        if snapshots or levels:
            weighting, p = settings.league_exploiter_weighting, settings.pfsp_exponent
            _add(dist, _pfsp(learner.id, [*snapshots, *levels], win_rate, weighting, p), 1.0)
        else:  # nothing frozen yet: the main agents, or itself in an exploiter-only league
            for q in mains or [learner]:
                _add(dist, {q.id: 1.0}, 1.0 / max(1, len(mains)))
    else:
        raise LeagueValueError(
            f"player {learner.id!r} ({learner.role}) does not learn: no opponents"
        )
    return dist


def learner_shares(learners: Sequence[Player], dists: dict[str, dict[str, float]],
                   settings: LeagueSettings, seat_steps: SeatSteps = _equal_seats
                   ) -> dict[str, float]:
    """Each learner's share of the episodes, so that trained rows meet ``data_share``.

    Learner L trains on ``r_L = x_L sum_O P_L(O) E(L, O) + sum_M x_M P_M(L) E(M, L)`` rows
    per episode of the iteration, where ``x_M`` is learner M's episode share, ``P_M(O)``
    the probability that M's opponent is O and ``E(M, O)`` the agent steps per seat of an
    M-vs-O episode (``seat_steps``; self-play counts both seats). Solving ``r ∝ t`` for
    the target shares ``t`` gives ``x``; negative solutions (a target below what other
    learners' matches already give) are clipped and the rest renormalized.

    Returns:
        Learner id -> episode share, summing to 1 (equal shares without ``data_share``).
    """
    roles = settings.role_shares()
    if roles is None or len(learners) == 1:
        return {p.id: 1.0 / len(learners) for p in learners}
    per_role = Counter(p.role for p in learners)
    target = [roles.get(p.role, 0.0) / per_role[p.role] for p in learners]
    ids = [p.id for p in learners]
    # r = A x with A[L][M] = [L == M] sum_O P_M(O) E(M, O) + P_M(L) E(M, L)
    n = len(ids)
    own = [sum(prob * seat_steps(m, o) for o, prob in dists[m].items()) for m in ids]
    a = [[(own[j] if i == j else 0.0) + dists[ids[j]].get(ids[i], 0.0)
          * seat_steps(ids[j], ids[i]) for j in range(n)] for i in range(n)]
    x = _solve(a, target)
    if x is None or sum(max(0.0, v) for v in x) <= 0.0:
        return {pid: 1.0 / n for pid in ids}
    x = [max(0.0, v) for v in x]
    total = sum(x)
    if any(v <= 0.0 for v in x):  # a learner must keep some episodes of its own
        x = [max(v, 1e-3 * total) for v in x]
        total = sum(x)
    return {pid: v / total for pid, v in zip(ids, x, strict=True)}


def _solve(a: list[list[float]], b: list[float]) -> list[float] | None:
    """Gaussian elimination with partial pivoting; None if singular."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        if abs(m[pivot][col]) < 1e-12:
            return None
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(n):
            if r != col:
                f = m[r][col] / m[col][col]
                m[r] = [vr - f * vc for vr, vc in zip(m[r], m[col], strict=True)]
    return [m[i][n] / m[i][i] for i in range(n)]


def build_match_table(
    players: Iterable[Player], win_rate: WinRate, settings: LeagueSettings, iteration: int,
    ladder: Sequence[str] = (), seat_steps: SeatSteps = _equal_seats,
) -> MatchTable:
    """The league's match table for one training iteration.

    Deterministic in (players, payoff, settings, iteration, ladder): the sampling RNG
    is ``random.Random("<seed>/match_table/<iteration>")``, which seeds from a SHA-512
    of the string, not from Python's salted ``hash``.

    Args:
        players: All league players, in league order.
        win_rate: ``win_rate(p, q)`` from the payoff table.
        settings: League settings.
        iteration: Training iteration; part of the sampling seed.
        ladder: Ids of the unlocked ladder levels.
        seat_steps: Agent steps per seat of a p-vs-q episode (``data_share`` only).

    Returns:
        A ``MatchTable`` whose weights sum to 1, each learner holding its
        ``learner_shares`` part of it.
    """
    players = list(players)
    learners = [p for p in players if p.is_learner]
    rng = random.Random(f"{settings.seed}/match_table/{iteration}")
    dists = {p.id: opponent_distribution(p, players, win_rate, settings, ladder, seat_steps)
             for p in learners}
    shares = learner_shares(learners, dists, settings, seat_steps)
    entries: list[MatchEntry] = []
    for learner in learners:
        dist, share = dists[learner.id], shares[learner.id]
        ids = [q for q, prob in dist.items() if prob > 0.0]
        k = settings.matches_per_learner
        if k is None:  # exact mixture
            entries.extend(MatchEntry(learner.id, q, share * dist[q]) for q in ids)
            continue
        # K sampled matches; repeated opponents merge into one entry of count/K.
        counts = Counter(rng.choices(ids, weights=[dist[q] for q in ids], k=k))
        entries.extend(MatchEntry(learner.id, q, share * counts[q] / k) for q in ids if counts[q])
    return MatchTable(entries=tuple(entries), iteration=iteration)
