"""Matchmaking per role: exact mixtures, sampled split frequencies, fallbacks, determinism."""

from __future__ import annotations

import dataclasses

import pytest

from marl.league import League, LeagueSettings, MatchEntry, MatchTable, Snapshot


def _league(**overrides: object) -> League:
    base: dict[str, object] = {
        "num_main": 1,
        "num_main_exploiters": 1,
        "num_league_exploiters": 0,
        "matches_per_learner": None,
    }
    base.update(overrides)
    return League(LeagueSettings(**base))  # type: ignore[arg-type]


def _with_exploiter_snapshot(**overrides: object) -> League:
    league = _league(**overrides)
    league.apply([Snapshot("main_exploiter_0", "main_exploiter_0_g0")])
    return league


def test_main_split_exact_mixture() -> None:
    # Frozen: random, main_exploiter_0_g0 (all unseen: hard PFSP is uniform).
    #   pfsp 0.5 -> 0.25 each; self-play 0.35 -> main_0; verification 0.15 -> the snapshot.
    table = _with_exploiter_snapshot().match_table(0)
    assert table.opponents("main_0") == pytest.approx(
        {"random": 0.25, "main_0": 0.35, "main_exploiter_0_g0": 0.40}
    )
    assert table.total_weight == pytest.approx(1.0)
    shares = {
        learner: sum(e.weight for e in table if e.learner == learner)
        for learner in table.learners()
    }
    assert shares == pytest.approx({"main_0": 0.5, "main_exploiter_0": 0.5})


def test_main_split_is_configurable() -> None:
    table = _with_exploiter_snapshot(main_split=(0.2, 0.2, 0.6)).match_table(0)
    assert table.opponents("main_0") == pytest.approx(
        {"random": 0.1, "main_0": 0.2, "main_exploiter_0_g0": 0.7}
    )


def test_sampled_split_frequencies_over_many_iterations() -> None:
    league = _with_exploiter_snapshot(matches_per_learner=20)
    totals = {"random": 0.0, "main_0": 0.0, "main_exploiter_0_g0": 0.0}
    iterations = 300
    for iteration in range(iterations):
        for opponent, share in league.match_table(iteration).opponents("main_0").items():
            totals[opponent] += share / iterations
    # 6,000 samples: one standard deviation is <= 0.0065.
    assert totals == pytest.approx(
        {"random": 0.25, "main_0": 0.35, "main_exploiter_0_g0": 0.40}, abs=0.03
    )
    table = league.match_table(7)
    assert all(e.weight * 2 * 20 == pytest.approx(round(e.weight * 2 * 20)) for e in table)


def test_main_fallbacks_when_branches_are_empty() -> None:
    # No exploiter snapshot: verification's share goes to self-play.
    assert _league().match_table(0).opponents("main_0") == pytest.approx(
        {"random": 0.5, "main_0": 0.5}
    )
    # Nothing frozen at all: pure self-play.
    assert _league(include_random=False).match_table(0).opponents("main_0") == {"main_0": 1.0}


def test_pfsp_branch_prefers_opponents_the_main_loses_to() -> None:
    league = _league(main_split=(1.0, 0.0, 0.0), scripted=("bot",))
    for _ in range(10):
        league.record_match("main_0", "random", 1.0)  # win rate -> 1: weight (1-1)^2 = 0
    assert league.match_table(0).opponents("main_0") == pytest.approx({"bot": 1.0})


def test_selfplay_curriculum_uses_snapshots_of_a_too_strong_main() -> None:
    league = _league(num_main=2, num_main_exploiters=0, include_random=False)
    league.apply([Snapshot("main_1", "main_1_g0")])
    for _ in range(5):
        league.record_match("main_0", "main_1", 0.0)  # main_0 vs main_1: 0 < 0.3
    # pfsp 0.5 -> main_1_g0 (the only frozen player); no exploiter snapshot, so
    # self-play gets 0.35 + 0.15 = 0.5: 0.25 -> main_0 itself, 0.25 -> main_1's
    # snapshots instead of main_1 (only g0).
    assert league.match_table(0).opponents("main_0") == pytest.approx(
        {"main_1_g0": 0.5 + 0.25, "main_0": 0.25}
    )
    assert league.match_table(0).opponents("main_1") == pytest.approx(
        {"main_1_g0": 0.5, "main_0": 0.25, "main_1": 0.25}
    )


def test_main_exploiter_plays_mains_then_their_snapshots_when_crushed() -> None:
    league = _league(include_random=False, payoff_decay=1.0)
    assert league.match_table(0).opponents("main_exploiter_0") == {"main_0": 1.0}
    for _ in range(5):
        league.record_match("main_exploiter_0", "main_0", 0.0)  # win rate 0 < 0.1
    # No snapshot of main_0 yet: keep playing it.
    assert league.match_table(0).opponents("main_exploiter_0") == {"main_0": 1.0}
    league.apply([Snapshot("main_0", "main_0_g0"), Snapshot("main_0", "main_0_g1")])
    league.record_match("main_exploiter_0", "main_0_g0", 1.0)
    league.record_match("main_exploiter_0", "main_0_g0", 0.0)  # x = 0.5: x(1-x) = 0.25
    league.record_match("main_exploiter_0", "main_0_g1", 1.0)
    for _ in range(4):
        league.record_match("main_exploiter_0", "main_0_g1", 0.0)
    x = league.win_rate("main_exploiter_0", "main_0_g1")
    w0, w1 = 0.25, x * (1 - x)
    assert league.match_table(0).opponents("main_exploiter_0") == pytest.approx(
        {"main_0_g0": w0 / (w0 + w1), "main_0_g1": w1 / (w0 + w1)}
    )


def test_league_exploiter_pfsp_over_frozen_and_fallback() -> None:
    league = _league(num_league_exploiters=1, num_main_exploiters=0)
    league.apply([Snapshot("main_0", "main_0_g0")])
    for _ in range(10):
        league.record_match("league_exploiter_0", "random", 1.0)
    for _ in range(10):
        league.record_match("league_exploiter_0", "random", 0.0)
    x = league.win_rate("league_exploiter_0", "random")
    w_random, w_snap = min(0.5, 1 - x), 0.5  # linear_capped; the snapshot is unseen (0.5)
    assert league.match_table(0).opponents("league_exploiter_0") == pytest.approx(
        {"random": w_random / (w_random + w_snap), "main_0_g0": w_snap / (w_random + w_snap)}
    )
    lonely = _league(num_league_exploiters=1, num_main_exploiters=0, include_random=False)
    assert lonely.match_table(0).opponents("league_exploiter_0") == {"main_0": 1.0}


def test_tables_are_deterministic_and_immutable() -> None:
    a = _with_exploiter_snapshot(matches_per_learner=8)
    b = _with_exploiter_snapshot(matches_per_learner=8)
    assert a.match_table(3) == b.match_table(3)
    assert any(a.match_table(3) != a.match_table(i) for i in range(4, 10))
    other_seed = _with_exploiter_snapshot(matches_per_learner=8, seed=1)
    assert any(a.match_table(i) != other_seed.match_table(i) for i in range(10))
    table = a.match_table(3)
    assert isinstance(table.entries, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        table.iteration = 4  # type: ignore[misc]
    assert MatchTable.from_dict(table.to_dict()) == table


def test_match_table_validation() -> None:
    with pytest.raises(ValueError, match="at least one entry"):
        MatchTable(entries=())
    with pytest.raises(ValueError, match="> 0"):
        MatchTable(entries=(MatchEntry("a", "b", 0.0),))
