"""LeagueSettings validation: clear ValueErrors naming the field."""

from __future__ import annotations

import pytest

from marl.errors import LeagueError
from marl.league import LeagueSettings


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"num_main": -1}, "league.num_main"),
        ({"num_main": 0, "num_main_exploiters": 0, "num_league_exploiters": 0}, "no learning"),
        ({"num_main": 0, "num_main_exploiters": 1}, "needs main agents"),
        ({"pfsp_weighting": "squared"}, "league.pfsp_weighting"),
        ({"pfsp_exponent": 0.0}, "league.pfsp_exponent"),
        ({"main_split": (0.5, 0.5, 0.5)}, "sum to 1"),
        ({"main_split": (1.0, 0.0)}, "three non-negative"),
        ({"snapshot_win_rate": 1.5}, "league.snapshot_win_rate"),
        ({"snapshot_step_budget": 0}, "league.snapshot_step_budget"),
        ({"snapshot_min_steps": 10, "snapshot_step_budget": 5}, ">= league.snapshot_min_steps"),
        ({"league_exploiter_reset_prob": -0.1}, "league.league_exploiter_reset_prob"),
        ({"payoff_decay": 0.0}, "league.payoff_decay"),
        ({"elo_k": -1.0}, "league.elo_k"),
        ({"matches_per_learner": 0}, "league.matches_per_learner"),
        ({"scripted": ("bad id",)}, "league.scripted\\[0\\]"),
        ({"scripted": ("main_bot",)}, "clashes"),
        ({"scripted": ("bot", "bot")}, "twice"),
        ({"scripted": ("default_policy",)}, "reserved"),
    ],
)
def test_invalid_settings_name_the_field(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        LeagueSettings(**overrides)  # type: ignore[arg-type]
    assert isinstance(info.value, LeagueError)  # the CLI catches MarlError in one place


def test_dict_round_trip_and_unknown_keys() -> None:
    settings = LeagueSettings(main_split=[0.6, 0.3, 0.1], scripted=["bot"])  # type: ignore[arg-type]
    assert settings.main_split == (0.6, 0.3, 0.1) and settings.scripted == ("bot",)
    assert LeagueSettings.from_dict(settings.to_dict()) == settings
    with pytest.raises(ValueError, match="unknown league setting"):
        LeagueSettings.from_dict({"num_mains": 2})
