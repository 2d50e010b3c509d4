"""League manager: players, snapshot and reset rules, apply, leaderboard."""

from __future__ import annotations

import pytest

from marl.league import League, LeagueSettings, Reset, Snapshot


def _league(**overrides: object) -> League:
    base: dict[str, object] = {
        "num_main": 1,
        "num_main_exploiters": 0,
        "num_league_exploiters": 0,
        "payoff_decay": 1.0,
        "snapshot_win_rate": 0.7,
        "snapshot_min_games": 5,
        "snapshot_step_budget": 1000,
    }
    base.update(overrides)
    return League(LeagueSettings(**base))  # type: ignore[arg-type]


def test_initial_players() -> None:
    league = League(LeagueSettings(num_main=2, scripted=("greedy_bot",)))
    assert league.player_ids == [
        "main_0",
        "main_1",
        "main_exploiter_0",
        "league_exploiter_0",
        "random",
        "greedy_bot",
    ]
    assert league.learner_ids == ["main_0", "main_1", "main_exploiter_0", "league_exploiter_0"]
    assert league.frozen_ids == ["random", "greedy_bot"]
    assert league.player("greedy_bot").role == "scripted"
    assert not league.player("random").trainable and league.player("main_1").trainable
    assert "random" not in League(LeagueSettings(include_random=False)).player_ids


def test_record_match_updates_payoff_ratings_and_counts() -> None:
    league = _league()
    league.record_match("main_0", "random", 1.0)
    assert league.win_rate("main_0", "random") == 1.0
    assert league.win_rate("random", "main_0") == 0.0
    assert league.ratings.get("main_0").elo > 1200 > league.ratings.get("random").elo
    assert league.player("main_0").games == league.player("random").games == 1
    assert league.matches == 1
    with pytest.raises(ValueError, match="unknown player"):
        league.record_match("main_0", "ghost", 1.0)
    with pytest.raises(ValueError, match="outcome"):
        league.record_match("main_0", "random", 2)


def _with_snapshot(**overrides: object) -> League:
    league = _league(**overrides)
    league.apply([Snapshot("main_0", "main_0_g0")])
    return league


def test_fixed_players_are_never_snapshot_targets() -> None:
    league = _league(scripted=("bot",))
    assert league.snapshot_targets("main_0") == []
    for _ in range(10):
        league.record_match("main_0", "random", 1.0)
    assert league.decide() == []  # beating random (or a scripted player) never freezes
    league.apply([Snapshot("main_0", "main_0_g0")])
    assert league.snapshot_targets("main_0") == ["main_0_g0"]  # "bot" unbeaten: no wall


def test_snapshot_needs_threshold_and_min_games() -> None:
    league = _with_snapshot()
    for _ in range(4):
        league.record_match("main_0", "main_0_g0", 1.0)
    assert league.decide() == []  # win rate 1.0 but only 4 < 5 games
    league.record_match("main_0", "main_0_g0", 1.0)
    assert league.decide() == [Snapshot("main_0", "main_0_g1", "win_rate")]

    at_threshold = _with_snapshot(snapshot_min_games=10)
    for outcome in [1.0] * 7 + [0.0] * 3:  # exactly 0.7: not above the threshold
        at_threshold.record_match("main_0", "main_0_g0", outcome)
    assert at_threshold.decide() == []
    at_threshold.record_match("main_0", "main_0_g0", 1.0)  # 8/11 > 0.7
    assert [d.source_id for d in at_threshold.decide()] == ["main_0"]


def test_snapshot_needs_every_target_beaten() -> None:
    league = _with_snapshot(scripted=("bot",))
    league.apply([Snapshot("main_0", "main_0_g1")])
    for _ in range(5):
        league.record_match("main_0", "main_0_g0", 1.0)
    assert league.decide() == []  # never played main_0_g1
    for _ in range(5):
        league.record_match("main_0", "main_0_g1", 1.0)
    assert len(league.decide()) == 1  # the scripted "bot", never played, is no target


def test_snapshot_on_step_budget_and_min_steps() -> None:
    league = _league()
    league.add_steps("main_0", 999)
    assert league.decide() == []
    league.add_steps("main_0", 1)
    assert league.decide() == [Snapshot("main_0", "main_0_g0", "step_budget")]
    gated = _with_snapshot(snapshot_min_steps=100, snapshot_step_budget=200)
    for _ in range(5):
        gated.record_match("main_0", "main_0_g0", 1.0)
    assert gated.decide() == []  # beats everyone, but 0 < 100 steps since last snapshot
    gated.add_steps("main_0", 100)
    assert gated.decide() == [Snapshot("main_0", "main_0_g1", "win_rate")]
    with pytest.raises(ValueError, match="integer n >= 0"):
        league.add_steps("main_0", -1)


def test_apply_snapshot_adds_frozen_player_with_lineage() -> None:
    league = _league(snapshot_step_budget=40)
    league.add_steps("main_0", 40)
    decisions = league.decide()
    assert decisions == league.decide()  # decide() is pure
    league.apply(decisions)
    snap = league.player("main_0_g0")
    assert (snap.role, snap.trainable, snap.parent, snap.frozen_from, snap.generation) == (
        "frozen",
        False,
        "main_0",
        "main",
        0,
    )
    assert snap.created_at_step == 40
    assert league.ratings.get("main_0_g0") == league.ratings.get("main_0")
    main = league.player("main_0")
    assert (main.generation, main.steps_since_snapshot, main.steps) == (1, 0, 40)
    assert league.decide() == []  # now it must beat its own snapshot
    league.add_steps("main_0", 1000)
    assert league.decide() == [Snapshot("main_0", "main_0_g1", "step_budget")]


def test_main_exploiter_always_reset_after_snapshot() -> None:
    league = _league(num_main_exploiters=1)
    for _ in range(5):
        league.record_match("main_exploiter_0", "main_0", 1.0)
    decisions = league.decide()
    assert decisions == [
        Snapshot("main_exploiter_0", "main_exploiter_0_g0", "win_rate"),
        Reset("main_exploiter_0"),
    ]
    league.apply(decisions)
    exploiter = league.player("main_exploiter_0")
    assert exploiter.resets == 1 and exploiter.generation == 1
    assert league.payoff.count("main_exploiter_0", "main_0") == 0  # results forgotten
    assert league.ratings.get("main_exploiter_0").elo == 1200.0
    assert league.ratings.get("main_exploiter_0_g0").elo > 1200.0  # the snapshot keeps them


def _league_exploiter_resets(prob: float, seed: int = 0, generations: int = 40) -> list[bool]:
    league = _league(num_league_exploiters=1, league_exploiter_reset_prob=prob, seed=seed)
    out = []
    for _ in range(generations):
        league.add_steps("league_exploiter_0", 1000)
        decisions = [d for d in league.decide() if "league_exploiter_0" in str(d)]
        assert isinstance(decisions[0], Snapshot)
        out.append(any(isinstance(d, Reset) for d in decisions))
        league.apply(decisions)
    return out


def test_league_exploiter_reset_probability() -> None:
    assert not any(_league_exploiter_resets(0.0))
    assert all(_league_exploiter_resets(1.0))
    half = _league_exploiter_resets(0.5)
    assert 8 <= sum(half) <= 32
    assert half == _league_exploiter_resets(0.5)  # deterministic
    assert half != _league_exploiter_resets(0.5, seed=1)


def test_main_is_never_reset() -> None:
    league = _league()
    for _ in range(5):
        league.add_steps("main_0", 1000)
        decisions = league.decide()
        assert not any(isinstance(d, Reset) for d in decisions)
        league.apply(decisions)
    assert league.player("main_0").generation == 5


def test_apply_validates_before_changing_anything() -> None:
    league = _league()
    before = league.to_state()
    bad_lists = [
        [Snapshot("main_0", "main_0_g0"), Snapshot("main_0", "main_0_g0")],
        [Snapshot("main_0", "main_0_g0"), Snapshot("random", "random_g0")],
        [Snapshot("main_0", "main_0_g0"), Reset("random")],
        [Snapshot("main_0", "bad-id")],
        [Reset("ghost")],
    ]
    for decisions in bad_lists:
        with pytest.raises(ValueError):
            league.apply(decisions)
        assert league.to_state() == before


def test_leaderboard_rows() -> None:
    league = _league(num_main=2)
    for _ in range(6):
        league.record_match("main_0", "random", 1.0)
    league.record_match("main_1", "random", 0.5)
    rows = league.leaderboard()
    assert next(r.player for r in rows) == "main_0"
    assert [r.ordinal for r in rows] == sorted((r.ordinal for r in rows), reverse=True)
    by_id = {r.player: r for r in rows}
    assert by_id["main_0"].win_rate_vs_random == 1.0
    assert by_id["main_1"].win_rate_vs_random == 0.5
    assert by_id["random"].win_rate_vs_random is None
    assert by_id["main_0"].games == 6 and by_id["random"].games == 7
    assert set(rows[0].to_dict()) >= {"player", "role", "generation", "elo", "mu", "sigma"}
