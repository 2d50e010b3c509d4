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
    # Ladder: random only (the first level), 0.15 of the main agent's episodes.
    # The other 0.85 by main_split: pfsp 0.5 over snapshots (main_exploiter_0_g0 only),
    # self-play 0.35 -> main_0, verification 0.15 -> the exploiter snapshot.
    table = _with_exploiter_snapshot().match_table(0)
    assert table.opponents("main_0") == pytest.approx(
        {"random": 0.15, "main_0": 0.35 * 0.85, "main_exploiter_0_g0": 0.65 * 0.85}
    )
    assert table.total_weight == pytest.approx(1.0)
    shares = {
        learner: sum(e.weight for e in table if e.learner == learner)
        for learner in table.learners()
    }
    assert shares == pytest.approx({"main_0": 0.5, "main_exploiter_0": 0.5})


def test_main_split_is_configurable() -> None:
    table = _with_exploiter_snapshot(main_split=(0.2, 0.2, 0.6), ladder_share=0.0).match_table(0)
    assert table.opponents("main_0") == pytest.approx(
        {"main_0": 0.2, "main_exploiter_0_g0": 0.8}
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
        {"random": 0.15, "main_0": 0.35 * 0.85, "main_exploiter_0_g0": 0.65 * 0.85}, abs=0.03
    )
    table = league.match_table(7)
    assert all(e.weight * 2 * 20 == pytest.approx(round(e.weight * 2 * 20)) for e in table)


def test_main_fallbacks_when_branches_are_empty() -> None:
    # No snapshot at all: PFSP's and verification's shares go to self-play.
    assert _league().match_table(0).opponents("main_0") == pytest.approx(
        {"random": 0.15, "main_0": 0.85}
    )
    # No ladder either: pure self-play.
    assert _league(include_random=False).match_table(0).opponents("main_0") == {"main_0": 1.0}


def test_pfsp_branch_prefers_snapshots_the_main_loses_to() -> None:
    league = _league(main_split=(1.0, 0.0, 0.0), ladder_share=0.0, num_main_exploiters=0)
    league.apply([Snapshot("main_0", "main_0_g0"), Snapshot("main_0", "main_0_g1")])
    for _ in range(10):
        league.record_match("main_0", "main_0_g0", 1.0)  # win rate -> 1: weight (1-1)^2 = 0
    assert league.match_table(0).opponents("main_0") == pytest.approx({"main_0_g1": 1.0})


def test_ladder_unlocks_level_by_level_and_weights_by_variance() -> None:
    league = _league(num_main_exploiters=0, scripted=("d1", "d2"), ladder_share=1.0,
                     ladder_unlock_win_rate=0.6, ladder_unlock_min_games=4, payoff_decay=1.0,
                     ladder_explore=0.0)
    assert league.ladder_levels == ["random", "d1", "d2"]
    assert league.ladder == ["random"]  # only the first level at the start
    assert league.match_table(0).opponents("main_0") == {"random": 1.0}
    for _ in range(3):
        league.record_match("main_0", "random", 1.0)
    assert league.update_ladder() == []  # 3 < 4 games
    league.record_match("main_0", "random", 0.0)  # 3/4 = 0.75 >= 0.6
    assert league.update_ladder() == ["d1"]
    assert league.ladder == ["random", "d1"]
    assert league.update_ladder() == []  # d1 unseen: d2 stays locked
    # variance PFSP: random at 0.75 -> 0.1875, d1 unseen (0.5) -> 0.25
    assert league.match_table(0).opponents("main_0") == pytest.approx(
        {"random": 0.1875 / 0.4375, "d1": 0.25 / 0.4375})
    for _ in range(4):
        league.record_match("main_0", "d1", 0.0)  # always loses to d1: weight 0
    assert league.match_table(0).opponents("main_0") == pytest.approx({"random": 1.0})
    assert league.update_ladder() == []
    # levels stay unlocked, and the state survives a round trip
    restored = League.from_state(league.to_state())
    assert restored.ladder == ["random", "d1"]


def test_ladder_explore_keeps_a_never_beaten_level_in_play() -> None:
    """Variance weighting alone starves a level the agent has always lost to (found in a
    30-minute league: 15 games against depth 1 in 280 iterations, all lost, so its
    win rate stayed 0 and depth 2 never unlocked); ladder_explore spreads a share evenly."""
    league = _league(num_main_exploiters=0, scripted=("d1",), ladder_share=1.0,
                     ladder_unlock_min_games=4, payoff_decay=1.0)
    assert league.settings.ladder_explore == 0.25  # the default
    for _ in range(4):
        league.record_match("main_0", "random", 1.0)
    assert league.update_ladder() == ["d1"]
    for _ in range(4):
        league.record_match("main_0", "random", 1.0)
        league.record_match("main_0", "d1", 0.0)
    # random at 1.0 and d1 at 0.0 both weigh 0 under variance: PFSP is uniform there
    assert league.match_table(0).opponents("main_0") == pytest.approx({"random": 0.5, "d1": 0.5})
    league.record_match("main_0", "random", 0.0)  # 8 of 9 vs random: weight > 0, d1 still 0
    assert league.match_table(0).opponents("main_0") == pytest.approx(
        {"random": 0.75 + 0.125, "d1": 0.125})


def test_data_share_meets_row_targets() -> None:
    # 1 main, 1 main exploiter, 1 league exploiter; rows in seat units per episode:
    # main: own episodes (self-play counts twice) + its seat in the exploiters' games.
    shares = {"main": 0.7, "main_exploiter": 0.15, "league_exploiter": 0.15}
    league = _league(num_league_exploiters=1, data_share=shares)
    table = league.match_table(0)
    x = {p: sum(e.weight for e in table if e.learner == p) for p in table.learners()}
    rows = dict.fromkeys(x, 0.0)
    for e in table:
        rows[e.learner] += e.weight
        if e.opponent in rows:
            rows[e.opponent] += e.weight
    total = sum(rows.values())
    assert {p: r / total for p, r in rows.items()} == pytest.approx(
        {"main_0": 0.7, "main_exploiter_0": 0.15, "league_exploiter_0": 0.15})
    assert sum(x.values()) == pytest.approx(1.0)


def test_data_share_validation() -> None:
    with pytest.raises(ValueError, match="sum to 1"):
        LeagueSettings(data_share={"main": 0.5, "main_exploiter": 0.2})
    with pytest.raises(ValueError, match="unknown role"):
        LeagueSettings(data_share={"main": 0.5, "boss": 0.5})
    with pytest.raises(ValueError, match="gives no data to league_exploiter"):
        LeagueSettings(data_share={"main": 0.5, "main_exploiter": 0.5})
    # a role without learners hands its share to the others in proportion
    lean = LeagueSettings(num_main_exploiters=0, num_league_exploiters=0,
                          data_share={"main": 0.7, "main_exploiter": 0.3})
    assert lean.role_shares() == {"main": 1.0}


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


def test_seat_lengths_weight_the_row_shares() -> None:
    # The exploiter's games against main are 4x as long as main's self-play games.
    shares = {"main": 0.75, "main_exploiter": 0.25}
    equal = _league(include_random=False, data_share=shares)
    longer = _league(include_random=False, data_share=shares)
    longer.observe_lengths({("main_0", "main_0"): 200, ("main_exploiter_0", "main_0"): 40,
                            ("main_0", "main_exploiter_0"): 40},
                           {("main_0", "main_0"): 10, ("main_exploiter_0", "main_0"): 1})
    assert longer.seat_length("main_0", "main_0") == 10.0  # 200 rows / (10 games x 2 seats)
    assert longer.seat_length("main_exploiter_0", "main_0") == 40.0

    def episodes(league: League) -> float:
        table = league.match_table(0)
        return sum(e.weight for e in table if e.learner == "main_exploiter_0")

    # equal lengths: rows main 2 x_m + x_e, exploiter x_e; 3:1 -> x_m = x_e = 0.5
    assert episodes(equal) == pytest.approx(0.5)
    # measured: main 10 * 2 x_m + 40 x_e, exploiter 40 x_e; 3:1 -> x_m = 4 x_e
    assert episodes(longer) == pytest.approx(0.2)


def test_progress_note_replaces_per_player_columns() -> None:
    from marl.tracking.console import iteration_line

    line = iteration_line(5, {"perf/env_steps_total": 100.0, "league/main_0/elo": 1250.0,
                              "league/main_exploiter_0/elo": 1100.0}, "competitive",
                          league=True, note="league 17 (3 learning)  newest main_0_g4")
    assert "league 17 (3 learning)" in line and "newest main_0_g4" in line
    assert "elo 1250" in line and "1100" not in line
