"""Tables read at 80 columns: no wrapped labels, no line wider than the terminal."""

from __future__ import annotations

import io

from rich.console import Console

from marl.cli.main import eval_table
from marl.evaluate import EvalRow


def _rows() -> list[EvalRow]:
    extra = {"score_ci_low": 0.42, "score_ci_high": 0.69}
    rows = []
    for actions in ("sampled", "greedy"):
        for pairing in ("trained", "player_0 trained vs random", "player_1 trained vs random"):
            rows.append(EvalRow(pairing, 50, {"player_0": 0.44, "player_1": -0.44}, 36, 0, 14,
                                dict(extra), actions))
    rows.insert(1, EvalRow("random", 50, {"player_0": 0.12, "player_1": -0.12}, 28, 0, 22,
                           dict(extra)))
    return rows


def _render(width: int) -> list[str]:
    out = io.StringIO()
    Console(file=out, width=width, color_system=None).print(
        eval_table(_rows(), "results: quickstart-20261201-073239-c8a6d2 after 10 iterations"))
    return out.getvalue().splitlines()


def test_results_table_fits_80_columns_without_wrapped_labels() -> None:
    lines = _render(80)
    assert max(len(line) for line in lines) <= 80
    body = [line for line in lines if "vs random" in line]
    assert len(body) == 4  # every labelled row on one line: nothing wrapped
    assert any("player_0 vs random" in line and "greedy" in line and "36/0/14" in line
               for line in body)


def test_results_table_uses_a_wide_terminal() -> None:
    assert max(len(line) for line in _render(160)) <= 160
    assert len([line for line in _render(160) if "vs random" in line]) == 4


def _lines(table, width: int = 80) -> list[str]:
    out = io.StringIO()
    Console(file=out, width=width, color_system=None).print(table)
    return out.getvalue().splitlines()


def test_league_leaderboard_fits_80_columns() -> None:
    from marl.league import League, LeagueSettings
    from marl.tracking.leaderboard import leaderboard_table

    league = League(LeagueSettings(scripted=("alphabeta_d1",)))
    for _ in range(5):
        league.record_match("main_0", "random", 1.0)
        league.record_match("league_exploiter_0", "alphabeta_d1", 0.0)
    lines = _lines(leaderboard_table(league, f"league run-x @ iter_000040: "
                                             f"{len(league.players)} players"))
    assert max(len(line) for line in lines) <= 80
    for pid in league.player_ids:
        assert sum(line.lstrip().startswith(pid + " ") for line in lines) == 1, pid  # never wrapped


def test_head_to_head_and_envs_tables_fit_80_columns() -> None:
    from marl.cli.league import h2h_table
    from marl.cli.main import envs_table
    from marl.league.play import MatchResult

    result = MatchResult("quickstart-20261201-073239-c8a6d2:shared", "alphabeta_d2", 200,
                         wins=120, draws=10, losses=70, by_seat={0: [70, 5, 25], 1: [50, 5, 45]})
    lines = _lines(h2h_table(result, "A vs B: 200 games, competitive/connect_four-v0"))
    assert max(len(line) for line in lines) <= 80
    assert sum(line.lstrip().startswith("both") for line in lines) == 1
    lines = _lines(envs_table(_env_rows(), 80))
    assert max(len(line) for line in lines) <= 80
    assert any("mixed/commons_harvest-v0" in line for line in lines)


def _env_rows() -> list[dict]:
    """Rows as ``marl envs list`` builds them, with the widest cells of the registry."""
    return [{"id": "cooperative/knights_archers_zombies-v0", "api": "parallel",
             "agents": ["a"] * 4, "observation": "(27, 5)", "action": "Discrete(6)",
             "actions": "discrete", "observations": "vector", "board": None, "action_size": 6,
             "description": "Knights, archers, zombies: vector obs, dead agents see zeros"},
            {"id": "cooperative/pistonball-v0", "api": "parallel", "agents": ["p"] * 20,
             "observation": "(457, 120, 3)", "action": "Discrete(3)", "actions": "discrete",
             "observations": "image", "board": None, "action_size": 3,
             "description": "Pistonball: pistons push a ball left, RGB pixels, shared reward"},
            {"id": "cooperative/multiwalker-v0", "api": "parallel", "agents": ["w"] * 3,
             "observation": "(31,)", "action": "Box(-1.0, 1.0, (4,), float32)",
             "actions": "continuous", "observations": "vector", "board": None,
             "action_size": 4, "description": "SISL multiwalker"},
            {"id": "competitive/connect_four-v0", "api": "aec", "agents": ["p0", "p1"],
             "observation": "(84,)", "action": "Discrete(7)", "actions": "discrete",
             "observations": "board", "board": [6, 7, 2], "action_size": 7,
             "description": "Connect four"},
            {"id": "mixed/commons_harvest-v0", "api": "parallel", "agents": ["a"] * 5,
             "observation": "(148,)", "action": "Discrete(8)", "actions": "discrete",
             "observations": "vector", "board": None, "action_size": 8,
             "description": "Commons harvest: apples regrow only near apples; tagging beam"}]


def test_envs_table_shows_action_and_observation_kinds_at_80_columns() -> None:
    from marl.cli.main import envs_table

    lines = _lines(envs_table(_env_rows(), 80))
    assert max(len(line) for line in lines) <= 80
    row = {r["id"]: next(line for line in lines if r["id"] in line) for r in _env_rows()}
    assert "image 457x120x3" in row["cooperative/pistonball-v0"]  # nothing cut short
    assert "continuous 4" in row["cooperative/multiwalker-v0"]
    assert "board 6x7x2" in row["competitive/connect_four-v0"]
    assert "vector 27x5" in row["cooperative/knights_archers_zombies-v0"]
    assert "…" not in "".join(lines)
    assert "descriptions" in lines[-1]  # the caption says where the dropped column went


def test_envs_table_adds_descriptions_on_a_wide_terminal() -> None:
    from marl.cli.main import envs_table

    lines = _lines(envs_table(_env_rows(), 160), width=160)
    assert max(len(line) for line in lines) <= 160
    assert any("Pistonball: pistons push a ball left" in line for line in lines)
    assert "…" not in "".join(lines)
