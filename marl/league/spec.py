"""The spec's optional ``league:`` section and the seats of a game (pure: pydantic, no ray).

With a ``league:`` section the run's policies come from the league, not from
``policies:``: one module per player (``main_0``, ``main_exploiter_0``,
``league_exploiter_0``, frozen snapshots ``main_0_g0`` ..., ``random`` and any
scripted opponents). Every key below maps onto ``marl.league.LeagueSettings``
except the last block (tracking), and the league's seed is the spec's ``seed``.

Scripted opponents are named ``alphabeta_d<depth>`` (depth-limited alpha-beta
search from ``envs/connect_four_opponents.py``; connect four only).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["LeagueSpec", "SCRIPTED_RE", "TWO_SEAT_MIXED_ENVS", "check_league_env", "league_seats",
           "scripted_depth"]

SCRIPTED_RE = re.compile(r"^alphabeta_d([1-9])$")
"""Scripted opponent ids: ``alphabeta_d1`` .. ``alphabeta_d9``."""

_SCRIPTED_ENVS = ("competitive/connect_four-v0",)


def scripted_depth(player_id: str) -> int | None:
    """Search depth of a scripted ``alphabeta_d<k>`` id, else None."""
    m = SCRIPTED_RE.match(player_id)
    return int(m.group(1)) if m else None


class LeagueSpec(BaseModel):
    """AlphaStar-style league (Vinyals et al. 2019): roles, matchmaking, snapshots."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, frozen=True)

    num_main: int = Field(1, ge=0, le=16)
    """Main agents: the scripted ladder, PFSP over snapshots, self-play and verification vs
    exploiters' snapshots."""
    num_main_exploiters: int = Field(1, ge=0, le=16)
    """Main exploiters: play the current main agents; reset to initial weights at each snapshot."""
    num_league_exploiters: int = Field(1, ge=0, le=16)
    """League exploiters: PFSP over the whole league; reset with ``league_exploiter_reset_prob``."""
    data_share: dict[Literal["main", "main_exploiter", "league_exploiter"], float] | None = None
    """Share of the trained rows (agent steps, every seat a learner plays) per role, split
    equally within a role and met by matchmaking, e.g. ``{main: 0.7, main_exploiter: 0.15,
    league_exploiter: 0.15}``; sums to 1. Measured per iteration as
    ``league/<player>/train_rows`` and ``train_share``. null: an equal share of episodes
    per learner."""
    main_split: tuple[float, float, float] = (0.5, 0.35, 0.15)
    """Main agents' opponent mix outside the ladder: PFSP over snapshots, self-play,
    verification vs old exploiters. Sums to 1. Measured as
    ``league/<main>/rows_vs_{snapshots,self,exploiter_snapshots,ladder,live_exploiters}``."""
    ladder_share: float = Field(0.15, ge=0, le=1)
    """Share of a main agent's episodes against the fixed ladder: ``random`` (if
    included), then ``scripted`` in the order listed (list them easiest first)."""
    ladder_weighting: Literal["hard", "variance", "linear_capped"] = "variance"
    """PFSP weighting over the unlocked ladder levels (variance: levels near 50 %)."""
    ladder_explore: float = Field(0.25, ge=0, le=1)
    """Share of the ladder's games spread evenly over the unlocked levels (the rest by
    ladder_weighting): a level the main agent has never beaten still gets games, so its
    win rate keeps being measured (variance weighting alone gives it none)."""
    ladder_unlock_win_rate: float = Field(0.6, ge=0, le=1)
    """Unlock the next ladder level once every main agent beats the highest unlocked one
    this often ..."""
    ladder_unlock_min_games: int = Field(20, ge=0)
    """... over at least this many games."""
    pfsp_weighting: Literal["hard", "variance", "linear_capped"] = "hard"
    """PFSP weighting of main agents over the payoff table."""
    pfsp_exponent: float = Field(2.0, gt=0)
    """Exponent p of 'hard' weighting (1 - win_rate)^p."""
    league_exploiter_weighting: Literal["hard", "variance", "linear_capped"] = "linear_capped"
    """PFSP weighting of league exploiters."""
    selfplay_min_win_rate: float = Field(0.3, ge=0, le=1)
    """Self-play curriculum: below this win rate vs a main agent, play its snapshots instead."""
    exploiter_min_win_rate: float = Field(0.1, ge=0, le=1)
    """Main-exploiter curriculum: below this win rate vs a main agent, play its snapshots."""
    snapshot_win_rate: float = Field(0.7, ge=0, le=1)
    """Freeze a learner once its win rate vs every target opponent exceeds this ..."""
    snapshot_min_games: int = Field(20, ge=0)
    """... over at least this many games against each target."""
    snapshot_min_steps: int = Field(0, ge=0)
    """No snapshot before this many env steps since the learner's last one."""
    snapshot_step_budget: int = Field(2_000_000, ge=1)
    """Freeze anyway after this many env steps since the last snapshot."""
    league_exploiter_reset_prob: float = Field(0.25, ge=0, le=1)
    """Probability that a league exploiter is reset to initial weights after a snapshot."""
    payoff_decay: float = Field(0.99, gt=0, le=1)
    """Per-pair exponential decay of the payoff table (draws count half, unseen = 0.5)."""
    elo_k: float = Field(32.0, gt=0)
    """Elo K factor."""
    include_random: bool = True
    """Add the masked uniform-random player ``random`` as a frozen opponent."""
    scripted: list[str] = Field(default_factory=list)
    """Scripted frozen opponents, easiest first: the ladder's levels after ``random``,
    e.g. ``[alphabeta_d1, alphabeta_d2, alphabeta_d4]`` (connect four only)."""
    scripted_ties: Literal["centre", "random"] = "centre"
    """How the scripted players break ties between equal-valued moves while training:
    ``centre`` (deterministic: one fixed line a learner can memorise) or ``random``."""
    matches_per_learner: int | None = Field(32, ge=1)
    """Matches sampled per learner for each iteration's match table; null: exact mixture."""

    leaderboard_every: int = Field(10, ge=1)
    """Log the leaderboard table, payoff heatmap and a replay to W&B every N iterations."""
    replay: bool = True
    """Log a GIF of one match with the leaderboard (envs with rgb rendering only)."""

    @model_validator(mode="after")
    def _settings(self) -> LeagueSpec:
        for i, sid in enumerate(self.scripted):
            if scripted_depth(sid) is None:
                raise ValueError(
                    f"league.scripted[{i}] {sid!r} is not a scripted opponent: use alphabeta_d1 "
                    "... alphabeta_d9 (depth-limited alpha-beta)"
                )
        self.settings(seed=0)  # LeagueSettings' own checks (its messages name the key)
        return self

    def settings(self, seed: int) -> Any:
        """The pure ``marl.league.LeagueSettings`` for this section."""
        from marl.league.settings import LeagueSettings

        data = self.model_dump(exclude={"leaderboard_every", "replay", "scripted_ties"})
        data["scripted"] = tuple(data["scripted"])
        return LeagueSettings(**data, seed=seed)


# Mixed-motive games a league can run on: two seats, so a match is scored like a
# competitive one (the seat with the higher raw return wins; equal is a draw).
TWO_SEAT_MIXED_ENVS = ("mixed/prisoners_dilemma-v0", "mixed/stag_hunt-v0", "mixed/chicken-v0")


def check_league_env(league: LeagueSpec, entry: Any) -> None:
    """Env-dependent checks: a competitive env, scripted opponents only where they exist.

    Raises:
        ValueError: naming the key and the fix.
    """
    if entry.setting != "competitive" and entry.id not in TWO_SEAT_MIXED_ENVS:
        raise ValueError(
            f"league needs two seats or teams; {entry.id} is not a two-sided game: remove the "
            f"league section or pick a competitive/* env or one of {', '.join(TWO_SEAT_MIXED_ENVS)}"
        )
    if league.scripted and entry.id not in _SCRIPTED_ENVS:
        raise ValueError(
            f"league.scripted: scripted opponents exist for {', '.join(_SCRIPTED_ENVS)} only, "
            f"not {entry.id}; remove league.scripted"
        )


def league_seats(entry: Any, agents: list[str]) -> dict[str, int]:
    """Agent id -> seat (two-player games) or team index (team games), in env order."""
    from envs.registry import team_of

    if not entry.teams:
        return {a: i for i, a in enumerate(agents)}
    teams: dict[str, int] = {}
    return {a: teams.setdefault(team_of(entry, a), len(teams)) for a in agents}
