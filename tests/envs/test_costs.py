"""Cost wrappers (``envs.wrappers.costs``) against hand-placed agents."""

from __future__ import annotations

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test

from envs.commons import parallel_env as commons
from envs.factory import make_spec_env
from envs.wrappers.costs import add_costs, check_costs, mpe_collisions

SPREAD = "mpe2.simple_spread_v3:parallel_env"
FIRE, NOOP = 7, 0
E, W = 1, 3


def _spread():
    return make_spec_env({"id": "cooperative/spread-v0", "config": {}, "preprocess": "none",
                          "costs": ["collisions"]})


def test_mpe_collisions_count_overlapping_agents_per_agent() -> None:
    env = _spread()
    env.reset(seed=0)
    a0, a1, a2 = env.unwrapped.world.agents  # size 0.15 each: collide below 0.3
    a0.state.p_pos, a1.state.p_pos = np.array([0.0, 0.0]), np.array([0.29, 0.0])
    a2.state.p_pos = np.array([0.0, 0.2])  # overlaps a0 (0.2) and a1 (0.357 apart: no)
    assert mpe_collisions(env.unwrapped) == {"agent_0": 2.0, "agent_1": 1.0, "agent_2": 1.0}
    a2.state.p_pos = np.array([5.0, 5.0])
    assert mpe_collisions(env.unwrapped) == {"agent_0": 1.0, "agent_1": 1.0, "agent_2": 0.0}


def test_spread_cost_in_every_step_infos_matches_the_collision_reward() -> None:
    env = _spread()
    raw = make_spec_env({"id": "cooperative/spread-v0", "config": {}, "preprocess": "none"})
    env.reset(seed=3)
    raw.reset(seed=3)
    rng = np.random.default_rng(0)
    steps = 0
    while env.agents:
        actions = {a: int(rng.integers(5)) for a in env.agents}
        _, rewards, _, _, infos = env.step(actions)
        _, raw_rewards, *_ = raw.step(actions)
        assert rewards == raw_rewards  # costs never change rewards
        # spread: r_i = 0.5 global - 0.5 collisions_i, so r_i - r_j is the collision gap
        gap = rewards["agent_0"] - rewards["agent_1"]
        assert gap == pytest.approx(-0.5 * (infos["agent_0"]["cost_collisions"]
                                            - infos["agent_1"]["cost_collisions"]))
        steps += 1
    assert steps == 25


def test_commons_tagging_costs_the_shooter_only() -> None:
    corridor = ["##########", "#P......P#", "#..#....P#", "##########"]
    env = add_costs(commons(map=corridor, num_agents=3, tag_duration=3, beam_length=4),
                    "envs.commons:parallel_env", ["tagging"])
    env.reset(seed=0, options={"agent_positions": [(1, 1), (1, 3), (1, 6)],
                               "agent_orientations": [E, W, E]})
    *_, infos = env.step({"player_0": FIRE, "player_1": NOOP, "player_2": FIRE})
    assert [infos[a]["cost_tagging"] for a in env.possible_agents] == [1.0, 0.0, 0.0]
    *_, infos = env.step(dict.fromkeys(env.possible_agents, NOOP))
    assert [infos[a]["cost_tagging"] for a in env.possible_agents] == [0.0, 0.0, 0.0]


def test_wrapped_env_passes_the_parallel_api_test() -> None:
    parallel_api_test(_spread(), num_cycles=30)


def test_unknown_cost_names_the_env_costs() -> None:
    with pytest.raises(ValueError, match="unknown cost 'bumps' for x; its costs: collisions"):
        check_costs("x", SPREAD, ["bumps"], custom=False)
    with pytest.raises(ValueError, match="its costs: none"):
        check_costs("x", "pettingzoo.classic.connect_four_v3:env", ["bumps"], custom=False)
    check_costs("x", "mine:env", ["anything"], custom=True)  # a user's env reports its own
