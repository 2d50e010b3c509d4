"""The cross-run rating list: maximum-likelihood Elo, schedule, state file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from marl.errors import LeagueError
from marl.league.ladder import Ladder, fit_elo


def _expected(diff: float) -> float:
    return 1.0 / (1.0 + 10 ** (-diff / 400))


def test_fit_recovers_known_elo_differences() -> None:
    # b is 200 above a, c 200 above b: 1000 games a pair at the expected scores.
    results = []
    for lo, hi in (("a", "b"), ("b", "c")):
        wins_hi = round(1000 * _expected(200))
        results += [(lo, hi, 0.0, wins_hi), (lo, hi, 1.0, 1000 - wins_hi)]
    elo, ci = fit_elo(["a", "b", "c"], results, pinned="a", prior_draws=0.0)
    assert elo["a"] == 0.0 and ci["a"] == 0.0
    assert elo["b"] == pytest.approx(200, abs=3) and elo["c"] == pytest.approx(400, abs=5)
    assert 0 < ci["b"] < ci["c"]  # further from the anchor, less certain


def test_unbeaten_entries_stay_finite_and_order_by_strength() -> None:
    ladder = Ladder("competitive/connect_four-v0")
    ladder.add("random", {"kind": "scripted"})
    for name in ("weak", "strong"):
        ladder.add(name, {"kind": "module"})
    ladder.record("strong", "random", 20, 0, 0)  # unbeaten
    ladder.record("weak", "random", 12, 0, 8)
    ladder.record("strong", "weak", 15, 2, 3)
    rows = {r.name: r for r in ladder.ratings()}
    assert [r.name for r in ladder.ratings()] == ["strong", "weak", "random"]
    assert rows["random"].elo == 0.0 and rows["random"].anchor
    assert 0 < rows["weak"].elo < rows["strong"].elo < 2000
    assert (rows["strong"].wins, rows["strong"].draws, rows["strong"].losses) == (35, 2, 3)
    assert rows["random"].games == 40 and rows["random"].wins == 8


def test_schedule_tops_up_pairs_and_skips_anchor_pairs() -> None:
    ladder = Ladder("competitive/connect_four-v0")
    ladder.add("random", {"kind": "scripted"})
    ladder.add("alphabeta_d1", {"kind": "scripted"})
    ladder.add("m", {"kind": "module"})
    ladder.record("m", "random", 3, 1, 0)
    assert ladder.schedule(10) == [("alphabeta_d1", "m", 10), ("m", "random", 6)]
    ladder.record("random", "m", 1, 0, 5)  # from random's side: stored as m's 5/0/1
    assert ladder.games("m", "random") == 10 and ladder.schedule(10) == [("alphabeta_d1", "m", 10)]
    assert ladder.pairs["m|random"] == [8, 1, 1]


def test_state_round_trips_and_bad_files_are_one_line(tmp_path: Path) -> None:
    ladder = Ladder("competitive/connect_four-v0")
    ladder.add("random", {"kind": "scripted"})
    ladder.add("m", {"kind": "module", "checkpoint": "/x"})
    ladder.record("m", "random", 2, 1, 1)
    path = ladder.save(tmp_path / "l.json")
    again = Ladder.load(path)
    assert again.entries == ladder.entries and again.pairs == ladder.pairs
    with pytest.raises(LeagueError, match="exists"):
        again.add("m", {"kind": "module"})
    for text in ("not json", json.dumps({"format": "marl-ladder", "version": 1, "env": "x",
                                         "entries": {}, "pairs": {"a|b": [1, 0, 0]}})):
        (tmp_path / "bad.json").write_text(text)
        with pytest.raises(LeagueError) as err:
            Ladder.load(tmp_path / "bad.json")
        assert "\n" not in str(err.value)
    with pytest.raises(LeagueError, match="no ladder"):
        Ladder.load(tmp_path / "missing.json")
