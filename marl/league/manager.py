"""The league manager: an observer of training that returns decisions.

One training iteration, as seen by the driver (the RLlib callback):

    league.record_match(p, q, outcome)   for every finished episode
    league.add_steps(player_id, n)       env steps each learner trained on
    decisions = league.decide()          pure: same state -> same decisions
    ...copy / reset weights in RLlib...  in list order
    league.apply(decisions)              the league's bookkeeping follows
    fn = league.mapping(iteration + 1, agents)   new policy_mapping_fn
    league.save(run_dir / "league.json")         atomic, next to the checkpoint

Snapshot rule (AlphaStar, Vinyals et al. 2019): a learner is frozen once
``steps_since_snapshot >= snapshot_min_steps`` and either

    min over targets t of win_rate(p, t) > snapshot_win_rate,
        with >= snapshot_min_games (raw) games vs every t      reason "win_rate"
    steps_since_snapshot >= snapshot_step_budget               reason "step_budget"

Targets: main and league exploiters: all frozen players; main exploiters: the
current main agents. Reset rule: main exploiters after every snapshot, league
exploiters with probability ``league_exploiter_reset_prob``, main agents never.

Randomness has no hidden state: the reset coin is ``random.Random`` seeded by
the string ``"<seed>/reset/<id>/<generation>/<resets>"`` and matchmaking by
``"<seed>/match_table/<iteration>"``, so a league restored from ``to_state``
makes exactly the decisions the original would have.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from marl.league.decisions import Decision, Reset, Snapshot, SnapshotReason
from marl.league.errors import LeagueValueError
from marl.league.mapping import EpisodeMapping
from marl.league.matchmaking import MatchTable, build_match_table
from marl.league.nash import NashAverage, alpha_rank, nash_average
from marl.league.payoff import PayoffTable, check_outcome
from marl.league.players import LEARNING_ROLES, Player, Role, learner_id, snapshot_id
from marl.league.ratings import Ratings
from marl.league.settings import LeagueSettings, check_module_id
from marl.league.storage import atomic_write_json, read_json

__all__ = ["STATE_FORMAT", "STATE_VERSION", "LeaderboardRow", "League"]

STATE_FORMAT = "marl.league"
STATE_VERSION = 1


@dataclass(frozen=True)
class LeaderboardRow:
    """One player's line on the leaderboard."""

    player: str
    role: str
    generation: int
    trainable: bool
    elo: float
    mu: float
    sigma: float
    ordinal: float
    games: int
    win_rate_vs_random: float | None
    """Decayed win rate against 'random'; None without a random player or a game vs it."""
    nash_weight: float = 0.0
    """Weight in the meta-game's maximum-entropy Nash (``marl.league.nash``)."""
    nash_skill: float = 0.0
    """Nash-averaged skill: expected score margin vs the Nash mixture (0 = in its support)."""

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of all fields."""
        return asdict(self)


class League:
    """AlphaStar-style league: players, payoff, ratings, snapshot/reset rules, matchmaking."""

    def __init__(self, settings: LeagueSettings | None = None) -> None:
        """Create a league with its learners and fixed opponents, before any game.

        Players, in order: ``main_<i>``, ``main_exploiter_<i>``,
        ``league_exploiter_<i>``, then ``random`` (if included), then scripted ids.

        Args:
            settings: League settings; defaults to ``LeagueSettings()``.
        """
        self.settings = settings if settings is not None else LeagueSettings()
        self.players: dict[str, Player] = {}
        self.payoff = PayoffTable(self.settings.payoff_decay)
        self.ratings = Ratings(elo_k=self.settings.elo_k)
        self.total_steps = 0
        self.matches = 0
        self.decisions_applied = 0
        self.ladder_unlocked = 1  # ladder levels open to the main agents (see ``ladder``)
        # (learner, opponent) -> agent steps it trained on against that opponent, since start
        self.train_rows: dict[tuple[str, str], int] = {}
        # (learner, opponent) -> agent steps per seat of their episodes (moving average)
        self.seat_steps: dict[tuple[str, str], float] = {}
        counts: tuple[tuple[Role, int], ...] = (
            ("main", self.settings.num_main),
            ("main_exploiter", self.settings.num_main_exploiters),
            ("league_exploiter", self.settings.num_league_exploiters),
        )
        for role, n in counts:
            for i in range(n):
                self._add(Player(id=learner_id(role, i), role=role, trainable=True))
        if self.settings.include_random:
            self._add(Player(id="random", role="random", trainable=False))
        for sid in self.settings.scripted:
            self._add(Player(id=sid, role="scripted", trainable=False))

    def _add(self, player: Player, copy_ratings_from: str | None = None) -> None:
        self.players[player.id] = player
        self.ratings.add(player.id, copy_from=copy_ratings_from)

    # ----------------------------------------------------------------- queries

    def player(self, player_id: str) -> Player:
        """The player with this id.

        Raises:
            LeagueValueError: If there is no such player.
        """
        try:
            return self.players[player_id]
        except KeyError:
            raise LeagueValueError(
                f"unknown player {player_id!r}: the league has {list(self.players)}"
            ) from None

    @property
    def learner_ids(self) -> list[str]:
        """Trainable players (``policies_to_train``), in league order."""
        return [p.id for p in self.players.values() if p.is_learner]

    @property
    def frozen_ids(self) -> list[str]:
        """Snapshots, random and scripted players, in league order."""
        return [p.id for p in self.players.values() if p.is_frozen]

    @property
    def player_ids(self) -> list[str]:
        """All players = all RLlib module ids the league needs, in league order."""
        return list(self.players)

    @property
    def ladder_levels(self) -> list[str]:
        """The fixed players as a curriculum: ``random``, then scripted ones as listed."""
        return [p.id for p in self.players.values() if p.role in ("random", "scripted")]

    @property
    def ladder(self) -> list[str]:
        """The ladder levels unlocked so far (lowest first)."""
        return self.ladder_levels[:max(1, self.ladder_unlocked)]

    def update_ladder(self) -> list[str]:
        """Unlock the next ladder levels every main agent now beats the top of.

        A level unlocks once, for every main agent, the win rate against the highest
        unlocked level is at least ``ladder_unlock_win_rate`` over at least
        ``ladder_unlock_min_games`` games. Levels never lock again.

        Returns:
            The ids unlocked by this call (usually none).
        """
        s, levels = self.settings, self.ladder_levels
        mains = [p.id for p in self.players.values() if p.role == "main"]
        opened: list[str] = []
        while mains and self.ladder_unlocked < len(levels):
            top = levels[self.ladder_unlocked - 1]
            if not all(self.payoff.count(m, top) >= s.ladder_unlock_min_games
                       and self.payoff.win_rate(m, top) >= s.ladder_unlock_win_rate
                       for m in mains):
                break
            opened.append(levels[self.ladder_unlocked])
            self.ladder_unlocked += 1
        return opened

    def win_rate(self, p: str, q: str) -> float:
        """Decayed win rate of ``p`` against ``q`` (0.5 if unseen)."""
        return self.payoff.win_rate(p, q)

    # ------------------------------------------------------------------ inputs

    def record_match(self, p: str, q: str, outcome: float) -> None:
        """Book a finished game: ``p`` scored ``outcome`` (1 win, 0.5 draw, 0 loss) against ``q``.

        Updates the payoff table, Elo and openskill ratings, and game counters.
        """
        a, b = self.player(p), self.player(q)
        s = check_outcome(outcome)
        self.payoff.record(p, q, s)
        self.ratings.update(p, q, s)
        a.games += 1
        if b is not a:
            b.games += 1
        self.matches += 1

    def record_matches(self, results: Iterable[tuple[str, str, float]]) -> None:
        """``record_match`` for each ``(p, q, outcome)``, in order."""
        for p, q, outcome in results:
            self.record_match(p, q, outcome)

    def add_rows(self, learner: str, opponent: str, n: int) -> None:
        """Count ``n`` agent steps (trained rows) of ``learner`` against ``opponent``."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise LeagueValueError(f"add_rows needs an integer n >= 0, got {n!r}")
        key = (learner, opponent)
        self.train_rows[key] = self.train_rows.get(key, 0) + n

    def observe_lengths(self, rows: Mapping[tuple[str, str], int],
                        games: Mapping[tuple[str, str], int]) -> None:
        """Update the per-seat episode lengths from one iteration's rows and games.

        Args:
            rows: ``(module, opponent) -> agent steps`` this iteration.
            games: ``(seat-0 module, seat-1 module) -> games`` this iteration.
        """
        pair_games: dict[frozenset[str], int] = {}
        for (p, q), n in games.items():
            key = frozenset((p, q))
            pair_games[key] = pair_games.get(key, 0) + n
        for (p, q), n in rows.items():
            g = pair_games.get(frozenset((p, q)), 0)
            if g <= 0:
                continue
            per_seat = n / (g * (2 if p == q else 1))
            old = self.seat_steps.get((p, q))
            self.seat_steps[(p, q)] = per_seat if old is None else 0.7 * old + 0.3 * per_seat

    def seat_length(self, p: str, q: str) -> float:
        """Agent steps per seat of a p-vs-q episode: measured, else the mean of all pairs."""
        if (p, q) in self.seat_steps:
            return self.seat_steps[(p, q)]
        if (q, p) in self.seat_steps:
            return self.seat_steps[(q, p)]
        if self.seat_steps:
            return sum(self.seat_steps.values()) / len(self.seat_steps)
        return 1.0

    def row_shares(self) -> dict[str, float]:
        """Each learner's share of all trained rows so far (the measured ``data_share``)."""
        per: dict[str, int] = {}
        for (learner, _), n in self.train_rows.items():
            per[learner] = per.get(learner, 0) + n
        total = sum(per.values())
        return {pid: per.get(pid, 0) / total for pid in self.learner_ids} if total else {}

    def row_split(self, learner: str) -> dict[str, float]:
        """What ``learner`` trained against so far, as shares of its rows, by opponent kind:
        ``self`` (current main agents), ``snapshots`` (of main agents),
        ``exploiter_snapshots``, ``ladder`` (random, scripted), ``live_exploiters``."""
        kinds: dict[str, int] = {}
        for (p, q), n in self.train_rows.items():
            if p != learner or q not in self.players:
                continue
            other = self.players[q]
            if other.role == "main":
                kind = "self"
            elif other.role == "frozen":
                kind = "snapshots" if other.frozen_from == "main" else "exploiter_snapshots"
            elif other.role in ("random", "scripted"):
                kind = "ladder"
            else:
                kind = "live_exploiters"
            kinds[kind] = kinds.get(kind, 0) + n
        total = sum(kinds.values())
        return {k: v / total for k, v in kinds.items()} if total else {}

    def add_steps(self, player_id: str, n: int) -> None:
        """Count ``n`` env steps trained by ``player_id`` (towards its snapshot budget)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise LeagueValueError(f"add_steps needs an integer n >= 0, got {n!r}")
        player = self.player(player_id)
        player.steps += n
        player.steps_since_snapshot += n
        self.total_steps += n

    # --------------------------------------------------------------- decisions

    def snapshot_targets(self, player_id: str) -> list[str]:
        """Opponents a learner must beat to be snapshotted before its step budget.

        Main exploiters: the main agents. Others: every snapshot. Fixed players (random,
        scripted) are never targets: an unbeaten scripted player would block the rule.
        """
        player = self.player(player_id)
        if player.role == "main_exploiter":
            return [p.id for p in self.players.values() if p.role == "main"]
        return [p.id for p in self.players.values() if p.role == "frozen"]

    def _snapshot_reason(self, player: Player) -> SnapshotReason | None:
        s = self.settings
        if player.steps_since_snapshot < s.snapshot_min_steps:
            return None
        targets = self.snapshot_targets(player.id)
        # min_t win_rate(p, t) > threshold, each over >= min_games raw games.
        if targets and all(
            self.payoff.count(player.id, t) >= s.snapshot_min_games
            and self.payoff.win_rate(player.id, t) > s.snapshot_win_rate
            for t in targets
        ):
            return "win_rate"
        if player.steps_since_snapshot >= s.snapshot_step_budget:
            return "step_budget"
        return None

    def _reset_after_snapshot(self, player: Player) -> bool:
        if player.role == "main_exploiter":
            return True
        if player.role == "league_exploiter":
            # A coin seeded by the player's own counters: stateless and reproducible.
            key = f"{self.settings.seed}/reset/{player.id}/{player.generation}/{player.resets}"
            return random.Random(key).random() < self.settings.league_exploiter_reset_prob
        return False

    def decide(self) -> list[Decision]:
        """Snapshots and resets due now. Pure: calling it twice gives the same list.

        Returns:
            For each learner due, in league order: ``Snapshot(source_id, new_id,
            reason)``, followed by ``Reset(player_id)`` if the learner's role
            resets it. Empty if nothing is due.
        """
        decisions: list[Decision] = []
        for player in self.players.values():
            if not player.is_learner:
                continue
            reason = self._snapshot_reason(player)
            if reason is None:
                continue
            new_id = snapshot_id(player.id, player.generation)
            decisions.append(Snapshot(source_id=player.id, new_id=new_id, reason=reason))
            if self._reset_after_snapshot(player):
                decisions.append(Reset(player_id=player.id))
        return decisions

    def apply(self, decisions: Sequence[Decision]) -> None:
        """Update the league after the driver applied ``decisions`` to the weights.

        ``Snapshot``: adds a frozen player (role ``frozen``, ``parent`` = source,
        ``frozen_from`` = source's role, ``generation`` = source's generation,
        ratings copied from the source), bumps the source's generation and zeroes
        its ``steps_since_snapshot``. ``Reset``: forgets the learner's payoff
        results, resets its ratings, counts the reset, zeroes its step counter.

        Raises:
            LeagueValueError: If any decision is invalid; nothing is applied then.
        """
        known = set(self.players)
        for d in decisions:  # validate everything first, so a bad list changes nothing
            if isinstance(d, Snapshot):
                if self.player(d.source_id).role not in LEARNING_ROLES:
                    raise LeagueValueError(f"cannot snapshot {d.source_id!r}: it does not learn")
                check_module_id(d.new_id, "snapshot id")
                if d.new_id in known:
                    raise LeagueValueError(f"snapshot id {d.new_id!r} is already taken")
                known.add(d.new_id)
            elif isinstance(d, Reset):
                if self.player(d.player_id).role not in LEARNING_ROLES:
                    raise LeagueValueError(f"cannot reset {d.player_id!r}: it does not learn")
            else:
                raise LeagueValueError(f"not a league decision: {d!r}")
        for d in decisions:
            if isinstance(d, Snapshot):
                source = self.players[d.source_id]
                frozen = Player(
                    id=d.new_id,
                    role="frozen",
                    trainable=False,
                    generation=source.generation,
                    parent=source.id,
                    frozen_from=source.role,
                    created_at_step=self.total_steps,
                )
                self._add(frozen, copy_ratings_from=source.id)  # same weights, same skill
                source.generation += 1
                source.steps_since_snapshot = 0
            else:
                player = self.players[d.player_id]
                self.payoff.forget(player.id)  # new weights: old results say nothing
                self.ratings.reset(player.id)
                player.resets += 1
                player.steps_since_snapshot = 0
            self.decisions_applied += 1

    # ------------------------------------------------------------- matchmaking

    def match_table(self, iteration: int) -> MatchTable:
        """Immutable match table for ``iteration``; deterministic in league state and iteration."""
        return build_match_table(
            self.players.values(), self.payoff.win_rate, self.settings, iteration, self.ladder,
            self.seat_length,
        )

    def mapping(self, iteration: int, agents: Sequence[str] | Mapping[str, int]) -> EpisodeMapping:
        """``policy_mapping_fn`` for ``iteration``, built from ``match_table(iteration)``.

        Args:
            iteration: Training iteration the mapping is for.
            agents: Agent ids in seat order, or a dict agent id -> team index.
        """
        return EpisodeMapping(self.match_table(iteration), agents)

    # ------------------------------------------------------------------ report

    def nash(self) -> NashAverage:
        """Nash averaging of the payoff table (Balduzzi et al. 2018): the meta-game's
        maximum-entropy Nash and each player's skill against it; copies of a player
        leave every skill unchanged (unlike Elo)."""
        return nash_average(list(self.players), self.payoff.win_rate)

    def alpha_rank(self) -> dict[str, float]:
        """alpha-Rank stationary mass of each player (OpenSpiel's ``alpharank``) over the
        payoff table; derived, like ``nash``."""
        return alpha_rank(list(self.players), self.payoff.win_rate)

    def leaderboard(self) -> list[LeaderboardRow]:
        """One row per player, best conservative skill (openskill ordinal) first."""
        rows = []
        nash = self.nash()
        for p in self.players.values():
            r = self.ratings.get(p.id)
            vs_random = None
            if "random" in self.players and p.id != "random" and self.payoff.count(p.id, "random"):
                vs_random = self.payoff.win_rate(p.id, "random")
            rows.append(
                LeaderboardRow(
                    player=p.id,
                    role=p.role,
                    generation=p.generation,
                    trainable=p.trainable,
                    elo=r.elo,
                    mu=r.mu,
                    sigma=r.sigma,
                    ordinal=r.ordinal,
                    games=p.games,
                    win_rate_vs_random=vs_random,
                    nash_weight=nash.weight(p.id),
                    nash_skill=nash.skill(p.id),
                )
            )
        rows.sort(key=lambda row: (-row.ordinal, -row.elo, row.player))
        return rows

    # ------------------------------------------------------------------- state

    def to_state(self) -> dict[str, Any]:
        """The whole league as a plain JSON-serializable dict (see ``from_state``)."""
        return {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "settings": self.settings.to_dict(),
            "players": [p.to_dict() for p in self.players.values()],
            "payoff": self.payoff.to_dict(),
            "ratings": self.ratings.to_dict(),
            # Randomness is derived from settings.seed and these counters (plus each
            # player's generation/resets and the iteration): there is no other RNG state.
            "counters": {
                "total_steps": self.total_steps,
                "matches": self.matches,
                "decisions_applied": self.decisions_applied,
                "ladder_unlocked": self.ladder_unlocked,
            },
            "train_rows": [[p, q, n] for (p, q), n in sorted(self.train_rows.items())],
            "seat_steps": [[p, q, v] for (p, q), v in sorted(self.seat_steps.items())],
            # Derived from the payoff (for users and tools; not read back): the meta-game's
            # max-entropy Nash with Nash-averaged skills, and alpha-Rank.
            "nash": self.nash().to_dict(),
            "alpha_rank": self.alpha_rank(),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> League:
        """Rebuild a league from ``to_state()`` output.

        Raises:
            LeagueValueError: If the dict is not a league state of a known version.
        """
        if state.get("format") != STATE_FORMAT or state.get("version") != STATE_VERSION:
            raise LeagueValueError(
                f"not a league state of format {STATE_FORMAT!r} version {STATE_VERSION}: "
                f"got format {state.get('format')!r} version {state.get('version')!r}"
            )
        try:
            league = cls.__new__(cls)
            league.settings = LeagueSettings.from_dict(state["settings"])
            league.players = {}
            for data in state["players"]:
                player = Player.from_dict(data)
                league.players[player.id] = player
            league.payoff = PayoffTable.from_dict(state["payoff"])
            league.ratings = Ratings.from_dict(state["ratings"])
            counters = state["counters"]
            league.total_steps = int(counters["total_steps"])
            league.matches = int(counters["matches"])
            league.decisions_applied = int(counters["decisions_applied"])
            # states written before the ladder existed: its first level only
            league.ladder_unlocked = int(counters.get("ladder_unlocked", 1))
            league.train_rows = {(str(p), str(q)): int(n)
                                 for p, q, n in state.get("train_rows", [])}
            league.seat_steps = {(str(p), str(q)): float(v)
                                 for p, q, v in state.get("seat_steps", [])}
        except LeagueValueError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise LeagueValueError(f"corrupt league state: {exc!r}") from exc
        missing = [pid for pid in league.players if pid not in league.ratings]
        if missing:
            raise LeagueValueError(f"corrupt league state: no ratings for {missing}")
        return league

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``to_state()`` as JSON atomically (temp file in the same dir, fsync, rename).

        Returns:
            The path written.
        """
        return atomic_write_json(path, self.to_state())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> League:
        """Read a league written by ``save``.

        Raises:
            LeagueValueError: If the file is missing, not JSON, or not a league state.
        """
        return cls.from_state(read_json(path))
