"""The spec's league section, seats, match scoring and head-to-head play (no Ray)."""

from __future__ import annotations

from pathlib import Path

import pytest

from envs.registry import check_env_id
from marl.errors import RunError, SpecError
from marl.league import LeagueSettings
from marl.evaluate import resolve_player
from marl.experiment import resolve
from marl.league.play import MatchResult, head_to_head, record_gif, seat_score, scripted_policy
from marl.league.spec import league_seats
from marl.spec import spec_from_dict

C4 = {"id": "competitive/connect_four-v0"}
C4_SEATS = {"player_0": 0, "player_1": 1}


def _spec(env_id: str, **league):
    return spec_from_dict({"name": "t", "env": {"id": env_id}, "league": league})


def test_league_section_maps_onto_settings_with_the_spec_seed() -> None:
    spec = spec_from_dict({"name": "t", "seed": 7, "env": C4, "league": {
        "num_league_exploiters": 2, "main_split": [0.6, 0.3, 0.1], "snapshot_step_budget": 5000,
        "scripted": ["alphabeta_d2"], "leaderboard_every": 3}})
    settings = spec.league.settings(spec.seed)
    assert isinstance(settings, LeagueSettings)
    assert (settings.seed, settings.num_league_exploiters, settings.main_split,
            settings.snapshot_step_budget, settings.scripted) == (
        7, 2, (0.6, 0.3, 0.1), 5000, ("alphabeta_d2",))
    assert spec.league.leaderboard_every == 3
    assert spec_from_dict({"name": "t", "env": C4}).league is None


@pytest.mark.parametrize(("env_id", "league", "needle"), [
    ("competitive/connect_four-v0", {"main_split": [0.5, 0.5, 0.5]}, "main_split must sum to 1"),
    ("competitive/connect_four-v0", {"scripted": ["minimax"]}, "alphabeta_d1"),
    ("competitive/connect_four-v0", {"num_main": 0, "num_league_exploiters": 0,
                                     "num_main_exploiters": 0}, "no learning player"),
    ("competitive/connect_four-v0", {"snapshot_win_rate": 1.5}, "snapshot_win_rate"),
    ("competitive/connect_four-v0", {"bogus": 1}, "unknown key 'league.bogus'"),
    ("competitive/leduc_holdem-v0", {"scripted": ["alphabeta_d1"]}, "connect_four"),
    ("cooperative/spread-v0", {}, "competitive"),
])
def test_bad_league_sections_name_the_field(env_id: str, league: dict, needle: str) -> None:
    with pytest.raises(SpecError, match=needle):
        _spec(env_id, **league)


def test_league_trains_with_ppo_only() -> None:
    with pytest.raises(SpecError, match="league.*ppo|ppo.*league"):
        spec_from_dict({"name": "t", "env": C4, "algorithm": {"name": "mappo"}, "league": {}})


def test_seats_are_players_or_teams_in_env_order() -> None:
    c4 = check_env_id("competitive/connect_four-v0")
    assert league_seats(c4, ["player_0", "player_1"]) == {"player_0": 0, "player_1": 1}
    tag = check_env_id("competitive/tag-v0")
    agents = ["adversary_0", "adversary_1", "adversary_2", "agent_0"]
    assert league_seats(tag, agents) == {"adversary_0": 0, "adversary_1": 0, "adversary_2": 0,
                                         "agent_0": 1}
    exp = resolve(_spec("competitive/connect_four-v0"))
    assert exp.seats == C4_SEATS
    plan = exp.plan  # a league run's plan: its first learner on every seat
    assert plan.policy_of("player_1") == "main_0"
    assert plan.trainable == ("main_0", "main_exploiter_0", "league_exploiter_0")


def test_seat_score_compares_mean_returns_per_seat() -> None:
    seats = {"a0": 0, "a1": 0, "b": 1}
    assert seat_score({"a0": 10.0, "a1": 0.0, "b": -10.0}, seats) == 1.0
    assert seat_score({"a0": 0.0, "a1": 0.0, "b": 0.0}, seats) == 0.5
    assert seat_score({"a0": -1.0, "a1": -1.0, "b": 1.0}, seats) == 0.0
    assert seat_score({"a0": 1.0}, seats) is None  # seat 1 never played


def test_alphabeta_beats_random_from_both_seats() -> None:
    d2 = scripted_policy("alphabeta_d2", 7)
    rnd = scripted_policy("random", 7, seed=3)
    result = head_to_head(C4, C4_SEATS, ("alphabeta_d2", d2), ("random", rnd), games=20, seed=1)
    assert result.games == 20
    assert sorted(result.by_seat) == [0, 1]
    assert all(sum(wdl) == 10 for wdl in result.by_seat.values())
    assert result.wins >= 17, result.to_dict()
    lo, hi = result.interval("win")
    assert lo <= result.wins / 20 <= hi and hi - lo < 0.4
    # And the other way round: random is A now.
    back = head_to_head(C4, C4_SEATS, ("random", rnd), ("alphabeta_d2", d2), games=10, seed=2)
    assert back.losses >= 8


def test_match_result_json_holds_per_seat_counts() -> None:
    r = MatchResult("a", "b", 4, wins=2, draws=1, losses=1, by_seat={0: [1, 1, 0], 1: [1, 0, 1]})
    d = r.to_dict()
    assert d["score"] == pytest.approx(0.625)
    assert d["by_seat"]["1"] == {"wins": 1, "draws": 0, "losses": 1, "games": 2}
    assert d["score_ci95"][0] < 0.625 < d["score_ci95"][1]


def test_scripted_references_need_no_run(tmp_path: Path) -> None:
    assert resolve_player("alphabeta_d4").kind == "scripted"
    with pytest.raises(RunError, match="neither a run nor a checkpoint"):
        resolve_player(str(tmp_path / "nothing:main_0"))


def test_replay_gif_of_a_connect_four_game(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image

    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    seats = {0: scripted_policy("random", 7), 1: scripted_policy("alphabeta_d1", 7)}
    path = record_gif(C4, C4_SEATS, seats, tmp_path / "replay.gif", seed=0)
    assert path is not None
    gif = Image.open(path)
    assert gif.n_frames >= 8 + 4  # >= 7 moves + the empty board + the held final frame
    assert gif.size[0] > 100 and gif.size[1] > 100


def test_spec_and_play_modules_import_no_ray() -> None:
    import subprocess
    import sys

    code = ("import sys, marl.spec, marl.league.spec, marl.league.play, marl.tracking.leaderboard\n"
            "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_league_runs_on_two_seat_mixed_games_but_not_on_the_commons() -> None:
    import pytest

    from marl.errors import SpecError
    from marl.spec import spec_from_dict

    ok = spec_from_dict({"name": "pd", "env": {"id": "mixed/prisoners_dilemma-v0"},
                         "league": {"scripted": []}})
    assert ok.league is not None
    with pytest.raises(SpecError, match="not a two-sided game"):
        spec_from_dict({"name": "c", "env": {"id": "mixed/commons_harvest-v0"},
                        "league": {"scripted": []}})
