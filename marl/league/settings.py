"""League settings: one frozen dataclass, validated on construction.

Every field documents itself right under its declaration. Invalid values raise
``LeagueValueError`` (a ``ValueError``) whose message names the field and the fix,
so a spec is rejected on the laptop before a cluster ever sees it.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from typing import Any

from marl.league.errors import LeagueValueError
from marl.league.pfsp import WEIGHTINGS

__all__ = ["MODULE_ID_RE", "RESERVED_IDS", "LeagueSettings", "check_module_id"]

MODULE_ID_RE = re.compile(r"^[A-Za-z0-9_]+$")
"""Player ids are RLlib module ids: letters, digits and underscores only."""

RESERVED_IDS = frozenset({"default_policy", "__all__"})
"""Names RLlib gives a meaning of its own; no player may take them."""

# Learners are named "<prefix>_<index>"; scripted ids must not look like one of them
# or like one of their snapshots ("main_0_g3").
_LEARNER_PREFIXES = ("main_", "league_exploiter_")


def check_module_id(player_id: str, what: str = "player id") -> str:
    """Return ``player_id`` if it is a safe RLlib module id, else raise.

    Args:
        player_id: The candidate id.
        what: How to name the value in the error message (e.g. a field path).

    Raises:
        LeagueValueError: If the id is empty, has characters other than
            ``[A-Za-z0-9_]`` or is reserved by RLlib.
    """
    if not isinstance(player_id, str) or not MODULE_ID_RE.match(player_id):
        raise LeagueValueError(
            f"{what} {player_id!r} is not a valid module id: use only letters, digits and '_'"
        )
    if player_id in RESERVED_IDS:
        raise LeagueValueError(f"{what} {player_id!r} is reserved by RLlib: pick another name")
    return player_id


@dataclass(frozen=True)
class LeagueSettings:
    """Shape and rules of an AlphaStar-style league (Vinyals et al. 2019)."""

    num_main: int = 1
    """Main agents: trained against everyone, snapshotted, never reset."""
    num_main_exploiters: int = 1
    """Main exploiters: play the current main agents; reset after every snapshot."""
    num_league_exploiters: int = 1
    """League exploiters: PFSP over all frozen players; reset with some probability."""

    pfsp_weighting: str = "hard"
    """PFSP weighting for main agents: 'hard', 'variance' or 'linear_capped'."""
    pfsp_exponent: float = 2.0
    """Exponent p of the 'hard' weighting (1 - x)^p; AlphaStar's 'squared' is p = 2."""
    league_exploiter_weighting: str = "linear_capped"
    """PFSP weighting for league exploiters (AlphaStar: linear_capped)."""

    main_split: tuple[float, float, float] = (0.5, 0.35, 0.15)
    """Main agents' opponent mix (pfsp over frozen, self-play, verification); sums to 1."""
    selfplay_min_win_rate: float = 0.3
    """Self-play curriculum: below this win rate vs a main, play its snapshots instead."""
    exploiter_min_win_rate: float = 0.1
    """Main-exploiter curriculum: below this win rate vs a main, play its snapshots."""

    snapshot_win_rate: float = 0.7
    """Snapshot a learner once its win rate vs every target opponent exceeds this."""
    snapshot_min_games: int = 20
    """... and it has played at least this many games against each target."""
    snapshot_min_steps: int = 0
    """No snapshot before this many env steps since the last one (AlphaStar: 2e9)."""
    snapshot_step_budget: int = 2_000_000
    """Snapshot anyway after this many env steps since the last one (AlphaStar: 4e9)."""
    league_exploiter_reset_prob: float = 0.25
    """Probability that a league exploiter is reset after a snapshot."""

    payoff_decay: float = 0.99
    """Per-pair exponential decay of the payoff table's win/game counts, in (0, 1]."""
    elo_k: float = 32.0
    """Elo K factor."""
    seed: int = 0
    """Seeds matchmaking and reset coin flips (with iteration and counters)."""

    include_random: bool = True
    """Add a uniformly random player 'random' as a frozen opponent."""
    scripted: tuple[str, ...] = ()
    """Ids of scripted (non-learning) opponents the callback provides modules for."""
    matches_per_learner: int | None = 32
    """Matches sampled per learner for each match table; None: exact opponent mixture."""

    data_share: tuple[tuple[str, float], ...] | None = None
    """Share of the trained rows (agent steps) each role's learners get, e.g.
    ``{main: 0.7, main_exploiter: 0.15, league_exploiter: 0.15}`` (a dict on input),
    split equally between the learners of a role; roles without learners hand theirs
    to the others in proportion. Rows count every seat a learner plays: its own matches
    and its seat in other learners' matches (a main agent in its exploiters' games).
    None: every learner gets an equal share of the *episodes* (the old rule)."""
    ladder_share: float = 0.15
    """Share of a main agent's episodes against the fixed ladder (``random`` then the
    scripted players in the order listed); the rest follows ``main_split``. Fixed players
    are met only through the ladder (main agents) and league exploiters' PFSP, and are
    never snapshot targets."""
    ladder_weighting: str = "variance"
    """PFSP weighting over the unlocked ladder levels: ``variance`` favours opponents the
    main agent beats about half the time, not the ones it always loses to."""
    ladder_explore: float = 0.25
    """Share of the ladder's games spread evenly over the unlocked levels, the rest by
    ``ladder_weighting``. Variance weighting alone gives a level the agent has never beaten
    no games (x (1 - x) = 0 at x = 0), so its win rate never updates and the next level
    never unlocks."""
    ladder_unlock_win_rate: float = 0.6
    """The next ladder level unlocks once every main agent's win rate vs the highest
    unlocked level reaches this ..."""
    ladder_unlock_min_games: int = 20
    """... over at least this many games against it."""

    def __post_init__(self) -> None:
        # Lists arrive from YAML/JSON: store tuples so the settings stay hashable.
        object.__setattr__(self, "main_split", tuple(float(x) for x in self.main_split))
        object.__setattr__(self, "scripted", tuple(self.scripted))
        if isinstance(self.data_share, dict):
            object.__setattr__(self, "data_share", tuple(
                (str(k), float(v)) for k, v in self.data_share.items()))
        elif self.data_share is not None:
            object.__setattr__(self, "data_share", tuple(
                (str(k), float(v)) for k, v in self.data_share))
        self._validate()

    def _validate(self) -> None:
        for name in ("num_main", "num_main_exploiters", "num_league_exploiters"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise LeagueValueError(f"league.{name} must be an integer >= 0, got {value!r}")
        if self.num_main + self.num_main_exploiters + self.num_league_exploiters == 0:
            raise LeagueValueError(
                "league has no learning player: set league.num_main (or an exploiter count) >= 1"
            )
        if self.num_main_exploiters > 0 and self.num_main == 0:
            raise LeagueValueError(
                "league.num_main_exploiters > 0 needs main agents to exploit: "
                "set league.num_main >= 1"
            )
        for name in ("pfsp_weighting", "league_exploiter_weighting"):
            if getattr(self, name) not in WEIGHTINGS:
                raise LeagueValueError(
                    f"league.{name} must be one of {sorted(WEIGHTINGS)}, "
                    f"got {getattr(self, name)!r}"
                )
        if not (math.isfinite(self.pfsp_exponent) and self.pfsp_exponent > 0):
            raise LeagueValueError(f"league.pfsp_exponent must be > 0, got {self.pfsp_exponent!r}")
        split = self.main_split
        if len(split) != 3 or any(not math.isfinite(x) or x < 0 for x in split):
            raise LeagueValueError(
                "league.main_split must be three non-negative numbers "
                f"(pfsp, selfplay, verification), got {split!r}"
            )
        if abs(sum(split) - 1.0) > 1e-6:
            raise LeagueValueError(
                f"league.main_split must sum to 1, got {split!r} (sum {sum(split)})"
            )
        for name in (
            "selfplay_min_win_rate",
            "exploiter_min_win_rate",
            "snapshot_win_rate",
            "league_exploiter_reset_prob",
        ):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0.0 <= value <= 1.0):
                raise LeagueValueError(f"league.{name} must be in [0, 1], got {value!r}")
        for name in ("snapshot_min_games", "snapshot_min_steps"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise LeagueValueError(f"league.{name} must be an integer >= 0, got {value!r}")
        if not isinstance(self.snapshot_step_budget, int) or self.snapshot_step_budget < 1:
            raise LeagueValueError(
                "league.snapshot_step_budget must be an integer >= 1, "
                f"got {self.snapshot_step_budget!r}"
            )
        if self.snapshot_step_budget < self.snapshot_min_steps:
            raise LeagueValueError(
                "league.snapshot_step_budget must be >= league.snapshot_min_steps "
                f"({self.snapshot_step_budget} < {self.snapshot_min_steps})"
            )
        if not (0.0 < self.payoff_decay <= 1.0):
            raise LeagueValueError(
                f"league.payoff_decay must be in (0, 1], got {self.payoff_decay!r}"
            )
        if not (math.isfinite(self.elo_k) and self.elo_k > 0):
            raise LeagueValueError(f"league.elo_k must be > 0, got {self.elo_k!r}")
        if not isinstance(self.seed, int):
            raise LeagueValueError(f"league.seed must be an integer, got {self.seed!r}")
        if self.matches_per_learner is not None and (
            not isinstance(self.matches_per_learner, int) or self.matches_per_learner < 1
        ):
            raise LeagueValueError(
                f"league.matches_per_learner must be >= 1 or null, got {self.matches_per_learner!r}"
            )
        self._validate_scripted()
        self._validate_shares()

    def role_shares(self) -> dict[str, float] | None:
        """``data_share`` over the roles that have learners, renormalized; None if unset."""
        if self.data_share is None:
            return None
        counts = {"main": self.num_main, "main_exploiter": self.num_main_exploiters,
                  "league_exploiter": self.num_league_exploiters}
        shares = {role: share for role, share in self.data_share if counts[role] > 0}
        total = sum(shares.values())
        return {role: share / total for role, share in shares.items()}

    def _validate_shares(self) -> None:
        if self.ladder_weighting not in WEIGHTINGS:
            raise LeagueValueError(f"league.ladder_weighting must be one of {sorted(WEIGHTINGS)}, "
                                   f"got {self.ladder_weighting!r}")
        for name in ("ladder_share", "ladder_explore", "ladder_unlock_win_rate"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0.0 <= value <= 1.0):
                raise LeagueValueError(f"league.{name} must be in [0, 1], got {value!r}")
        if not isinstance(self.ladder_unlock_min_games, int) or self.ladder_unlock_min_games < 0:
            raise LeagueValueError("league.ladder_unlock_min_games must be an integer >= 0, "
                                   f"got {self.ladder_unlock_min_games!r}")
        if self.data_share is None:
            return
        roles = ("main", "main_exploiter", "league_exploiter")
        for role, share in self.data_share:
            if role not in roles:
                raise LeagueValueError(f"league.data_share: unknown role {role!r}; use "
                                       f"{', '.join(roles)}")
            if not (math.isfinite(share) and share >= 0):
                raise LeagueValueError(f"league.data_share.{role} must be >= 0, got {share!r}")
        if abs(sum(s for _, s in self.data_share) - 1.0) > 1e-6:
            raise LeagueValueError(f"league.data_share must sum to 1, got "
                                   f"{dict(self.data_share)} (sum {sum(s for _, s in self.data_share):g})")
        counts = {"main": self.num_main, "main_exploiter": self.num_main_exploiters,
                  "league_exploiter": self.num_league_exploiters}
        given = dict(self.data_share)
        starved = [r for r in roles if counts[r] > 0 and given.get(r, 0.0) <= 0.0]
        if starved:
            raise LeagueValueError(
                f"league.data_share gives no data to {', '.join(starved)} but the league has "
                f"such learners: give them a share > 0 or set their count to 0")

    def _validate_scripted(self) -> None:
        seen: set[str] = set()
        for i, sid in enumerate(self.scripted):
            check_module_id(sid, f"league.scripted[{i}]")
            if sid == "random" or sid.startswith(_LEARNER_PREFIXES):
                raise LeagueValueError(
                    f"league.scripted[{i}] {sid!r} clashes with a league-made id "
                    "('random', 'main_*', 'main_exploiter_*', 'league_exploiter_*'): rename it"
                )
            if sid in seen:
                raise LeagueValueError(f"league.scripted[{i}] {sid!r} is listed twice")
            seen.add(sid)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serializable dict (tuples become lists)."""
        out = dataclasses.asdict(self)
        out["main_split"] = list(self.main_split)
        out["scripted"] = list(self.scripted)
        out["data_share"] = None if self.data_share is None else dict(self.data_share)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LeagueSettings:
        """Build settings from a plain dict, rejecting unknown keys.

        Raises:
            LeagueValueError: On an unknown key or an invalid value.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise LeagueValueError(
                f"unknown league setting(s) {unknown}: valid keys are {sorted(known)}"
            )
        return cls(**data)
