"""Matchmaking: each learner's opponent mixture, and the league's ``MatchTable``.

Opponent selection per role (AlphaStar, Vinyals et al. 2019, Methods and
pseudocode), written as exact mixtures so a table is a probability distribution:

    main              split[0]  PFSP over all frozen players (settings.pfsp_weighting)
                      split[1]  self-play: a current main agent m, uniformly; if the
                                learner's win rate vs m < selfplay_min_win_rate, m's
                                snapshots with variance weighting instead (curriculum)
                      split[2]  verification: PFSP over exploiters' snapshots
                      An empty branch (no frozen players, no exploiter snapshots)
                      hands its share to self-play, which always has a candidate.
    main_exploiter    a current main agent m, uniformly; below exploiter_min_win_rate
                      vs m, m's snapshots with variance weighting
    league_exploiter  PFSP over all frozen players (settings.league_exploiter_weighting);
                      the current main agents if nothing is frozen yet

Every learner gets an equal share 1/L of the episodes. With
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

__all__ = ["MatchEntry", "MatchTable", "build_match_table", "opponent_distribution"]

WinRate = Callable[[str, str], float]
"""``win_rate(p, q)``: p's (decayed) win rate against q, 0.5 if unseen."""


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
    learner: Player, players: Sequence[Player], win_rate: WinRate, settings: LeagueSettings
) -> dict[str, float]:
    """Exact opponent mixture of one learner, by role (see module docstring).

    Args:
        learner: A learning player (main, main_exploiter or league_exploiter).
        players: All league players, in league order (determines tie order).
        win_rate: ``win_rate(p, q)`` from the payoff table.
        settings: League settings (split, weightings, curriculum thresholds).

    Returns:
        Opponent id -> probability, summing to 1, in a deterministic order.
    """
    frozen = [q for q in players if q.is_frozen]
    mains = [q for q in players if q.role == "main"]
    dist: dict[str, float] = {}
    if learner.role == "main":
        w_pfsp, w_self, w_verify = settings.main_split
        exploiter_snaps = [
            q for q in frozen if q.frozen_from in ("main_exploiter", "league_exploiter")
        ]
        if not frozen:  # nothing frozen yet: PFSP's share goes to self-play
            w_pfsp, w_self = 0.0, w_self + w_pfsp
        if not exploiter_snaps:  # no exploiter snapshot yet: verification's share too
            w_verify, w_self = 0.0, w_self + w_verify
        weighting, p = settings.pfsp_weighting, settings.pfsp_exponent
        _add(dist, _pfsp(learner.id, frozen, win_rate, weighting, p), w_pfsp)
        for main in mains:
            branch = _vs_main(learner, main, players, win_rate, settings.selfplay_min_win_rate)
            _add(dist, branch, w_self / len(mains))
        _add(dist, _pfsp(learner.id, exploiter_snaps, win_rate, weighting, p), w_verify)
    elif learner.role == "main_exploiter":
        for main in mains:
            branch = _vs_main(learner, main, players, win_rate, settings.exploiter_min_win_rate)
            _add(dist, branch, 1.0 / len(mains))
    elif learner.role == "league_exploiter":
        if frozen:
            weighting, p = settings.league_exploiter_weighting, settings.pfsp_exponent
            _add(dist, _pfsp(learner.id, frozen, win_rate, weighting, p), 1.0)
        else:  # nothing frozen yet: the main agents, or itself in an exploiter-only league
            for q in mains or [learner]:
                _add(dist, {q.id: 1.0}, 1.0 / max(1, len(mains)))
    else:
        raise LeagueValueError(
            f"player {learner.id!r} ({learner.role}) does not learn: no opponents"
        )
    return dist


def build_match_table(
    players: Iterable[Player], win_rate: WinRate, settings: LeagueSettings, iteration: int
) -> MatchTable:
    """The league's match table for one training iteration.

    Deterministic in (players, payoff, settings, iteration): the sampling RNG is
    ``random.Random("<seed>/match_table/<iteration>")``, which seeds from a SHA-512
    of the string, not from Python's salted ``hash``.

    Args:
        players: All league players, in league order.
        win_rate: ``win_rate(p, q)`` from the payoff table.
        settings: League settings.
        iteration: Training iteration; part of the sampling seed.

    Returns:
        A ``MatchTable`` whose weights sum to 1, each learner holding 1/L of it.
    """
    players = list(players)
    learners = [p for p in players if p.is_learner]
    rng = random.Random(f"{settings.seed}/match_table/{iteration}")
    share = 1.0 / len(learners)
    entries: list[MatchEntry] = []
    for learner in learners:
        dist = opponent_distribution(learner, players, win_rate, settings)
        ids = [q for q, prob in dist.items() if prob > 0.0]
        k = settings.matches_per_learner
        if k is None:  # exact mixture
            entries.extend(MatchEntry(learner.id, q, share * dist[q]) for q in ids)
            continue
        # K sampled matches; repeated opponents merge into one entry of count/K.
        counts = Counter(rng.choices(ids, weights=[dist[q] for q in ids], k=k))
        entries.extend(MatchEntry(learner.id, q, share * counts[q] / k) for q in ids if counts[q])
    return MatchTable(entries=tuple(entries), iteration=iteration)
