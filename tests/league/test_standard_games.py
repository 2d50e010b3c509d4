"""The standard two-player games (tic-tac-toe, hold'em, rps, OpenSpiel pokers) in self-play
specs, leagues, seat scoring and evaluation, without Ray."""

from __future__ import annotations

import pytest

from marl.evaluate import evaluate, pairings
from marl.experiment import resolve
from marl.league.play import head_to_head, scripted_policy
from marl.spec import spec_from_dict

TWO_PLAYER = {
    "competitive/tictactoe-v0": ["player_1", "player_2"],
    "competitive/texas_holdem-v0": ["player_0", "player_1"],
    "competitive/rps-v0": ["player_0", "player_1"],
    "competitive/kuhn_poker-v0": ["player_0", "player_1"],
    "competitive/leduc_poker-v0": ["player_0", "player_1"],
}


def _random(exp, seed: int) -> dict:
    return {a: scripted_policy("random", exp.action_spaces[a], seed + i)
            for i, a in enumerate(exp.agents)}


@pytest.mark.parametrize("env_id", sorted(TWO_PLAYER))
def test_self_play_and_league_specs_seat_the_players_in_env_order(env_id: str) -> None:
    shared = resolve(spec_from_dict({"name": "t", "env": {"id": env_id},
                                     "policies": {"mode": "shared"}, "stop": {"iterations": 1}}))
    agents = TWO_PLAYER[env_id]
    assert list(shared.agents) == agents
    assert shared.seats == {agents[0]: 0, agents[1]: 1}
    assert {shared.plan.policy_of(a) for a in agents} == {"shared"}
    league = resolve(spec_from_dict({"name": "t", "env": {"id": env_id}, "league": {}}))
    assert league.seats == shared.seats and league.plan.policy_of(agents[1]) == "main_0"


@pytest.mark.parametrize("env_id", sorted(TWO_PLAYER))
def test_random_vs_random_is_scored_per_seat_and_in_evaluation(env_id: str) -> None:
    exp = resolve(spec_from_dict({"name": "t", "env": {"id": env_id},
                                  "policies": {"mode": "shared"}, "stop": {"iterations": 1}}))
    a0 = scripted_policy("random", exp.action_spaces[exp.agents[0]], seed=1)
    b0 = scripted_policy("random", exp.action_spaces[exp.agents[0]], seed=2)
    result = head_to_head(exp.play_config(), exp.seats, ("a", a0), ("b", b0), games=10, seed=0)
    assert result.games == 10 and sorted(result.by_seat) == [0, 1]
    assert result.wins + result.draws + result.losses == 10

    rows = evaluate(exp, pairings(exp.entry, exp.agents, _random(exp, 0), _random(exp, 10)),
                    episodes=8, seed=0)
    assert [r.pairing for r in rows] == ["trained", "random",
                                         *(f"{a} trained vs random" for a in exp.agents)]
    for row in rows:  # every two-player zero-sum game is scored W/D/L, turn-based or not
        assert row.wins is not None and row.wins + row.draws + row.losses == 8, row
        assert sum(row.team_returns.values()) == pytest.approx(0.0, abs=1e-6)  # zero-sum


def test_team_games_with_returns_that_do_not_sum_to_zero_get_no_wdl() -> None:
    exp = resolve(spec_from_dict({"name": "t", "env": {"id": "competitive/tag-v0",
                                                       "config": {"max_cycles": 5},
                                                       "preprocess": "pad"},
                                  "policies": {"mode": "shared"}, "stop": {"iterations": 1}}))
    rows = evaluate(exp, {"random": _random(exp, 0)}, episodes=2, seed=0)
    assert rows[0].wins is None
