"""League state: JSON round-trip, atomic save, identical future after load."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from marl.league import League, LeagueSettings, decision_to_dict

SETTINGS = LeagueSettings(
    num_main=2,
    num_main_exploiters=1,
    num_league_exploiters=1,
    scripted=("bot",),
    snapshot_min_games=3,
    snapshot_step_budget=500,
    league_exploiter_reset_prob=0.5,
    matches_per_learner=6,
    seed=7,
)


def _play(league: League, iterations: range, seed: int) -> list[object]:
    """Drive the league like the callback would; return everything it said."""
    rng = random.Random(seed)
    said: list[object] = []
    for it in iterations:
        table = league.match_table(it)
        said.append(table.to_dict())
        for learner, opponent, _ in table:
            for _ in range(3):
                league.record_match(learner, opponent, rng.choice([0.0, 0.5, 1.0, 1.0]))
        for pid in league.learner_ids:
            league.add_steps(pid, rng.randrange(50, 200))
        decisions = league.decide()
        said.append([decision_to_dict(d) for d in decisions])
        league.apply(decisions)
    said.append([row.to_dict() for row in league.leaderboard()])
    return said


def test_state_is_plain_json_and_round_trips(tmp_path: Path) -> None:
    league = League(SETTINGS)
    _play(league, range(6), seed=1)
    assert league.decisions_applied > 0 and league.matches > 0
    state = league.to_state()
    assert json.loads(json.dumps(state)) == state
    assert state["format"] == "marl.league" and state["version"] == 1
    path = league.save(tmp_path / "run" / "league.json")
    assert os.listdir(path.parent) == ["league.json"]  # no temp file left behind
    loaded = League.load(path)
    assert loaded.to_state() == state
    assert loaded.settings == league.settings


def test_loaded_league_makes_identical_future_decisions(tmp_path: Path) -> None:
    league = League(SETTINGS)
    _play(league, range(5), seed=2)
    path = league.save(tmp_path / "league.json")
    loaded = League.load(path)
    future = _play(league, range(5, 15), seed=3)
    assert _play(loaded, range(5, 15), seed=3) == future
    assert loaded.to_state() == league.to_state()
    assert any(kind for kind in future if isinstance(kind, list) and kind)  # decisions happened


def test_save_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "league.json"
    league = League(SETTINGS)
    league.save(path)
    old = path.read_text()
    league.record_match("main_0", "random", 1.0)

    def crash(src: object, dst: object) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk gone"):
        league.save(path)
    assert path.read_text() == old  # the old state is intact
    assert os.listdir(tmp_path) == ["league.json"]  # and the temp file is gone
    monkeypatch.undo()
    league.save(path)
    assert League.load(path).matches == 1


def test_bad_state_is_rejected(tmp_path: Path) -> None:
    state = League(SETTINGS).to_state()
    with pytest.raises(ValueError, match="version"):
        League.from_state({**state, "version": 99})
    with pytest.raises(ValueError, match="corrupt"):
        League.from_state({**state, "counters": {}})
    with pytest.raises(ValueError, match="no league state"):
        League.load(tmp_path / "missing.json")
    (tmp_path / "torn.json").write_text('{"format": ')
    with pytest.raises(ValueError, match="not valid JSON"):
        League.load(tmp_path / "torn.json")
