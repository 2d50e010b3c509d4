"""Every registry id through its RLlib adapter (``make_rllib_env``), stepped like RLlib does.

Random legal actions, only for the agents that were just given an observation, until
``__all__``. Checked on every step: observations lie in the declared spaces, only agents
that must act (plus agents finishing now) observe, a finished agent gets its final
observation and reward exactly once and then never appears again.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from envs.registry import check_env_id, env_ids
from marl.rllib.env.adapters import AecAdapter
from marl.rllib.env.creator import make_rllib_env

MAX_STEPS = 2_000
C4 = "competitive/connect_four-v0"


def _config(env_id: str) -> dict[str, Any]:
    short = {"max_cycles": 30} if "max_cycles" in check_env_id(env_id).defaults else {}
    return {"id": env_id, "config": short}


def _legal_action(space: gym.Space, obs: Any, rng: np.random.Generator) -> Any:
    if isinstance(obs, dict) and "action_mask" in obs:
        return int(rng.choice(np.flatnonzero(obs["action_mask"])))
    return int(rng.integers(space.n)) if isinstance(space, gym.spaces.Discrete) else space.sample()


def _run_episode(env: Any, seed: int) -> dict[str, Any]:
    """One episode under RLlib's MultiAgentEnv contract; returns what happened."""
    rng = np.random.default_rng(seed)
    turn_based = isinstance(env, AecAdapter)
    obs, infos = env.reset(seed=seed)
    assert obs, "reset returned no observation"
    assert isinstance(infos, dict)
    totals = {a: 0.0 for a in env.possible_agents}
    done: set[str] = set()
    last_actor = None
    for step in range(MAX_STEPS):
        for agent, o in obs.items():
            assert agent in env.possible_agents
            assert env.observation_spaces[agent].contains(o), (agent, o)
        acting = [a for a in obs if a not in done]
        if turn_based:
            assert len(acting) == 1, f"turn-based step {step}: {acting} all observe"
        else:
            assert sorted(acting) == sorted(env.agents), (acting, env.agents)
        actions = {a: _legal_action(env.action_spaces[a], obs[a], rng) for a in acting}
        for agent, action in actions.items():
            assert env.action_spaces[agent].contains(action)
        last_actor = acting[0] if turn_based else None
        obs, rew, term, trunc, info = env.step(actions)
        assert "__all__" in term and "__all__" in trunc
        for agent in {*obs, *rew, *term, *trunc, *info} - {"__all__"}:
            assert agent not in done, f"step {step}: {agent} finished earlier but appears again"
        for agent, r in rew.items():
            totals[agent] += r
        finished = {a for a in term if a != "__all__" and (term[a] or trunc.get(a, False))}
        finished |= {a for a in trunc if a != "__all__" and trunc[a]}
        for agent in finished:
            assert agent in obs, f"{agent} finished without a final observation"
            assert agent in rew, f"{agent} finished without a final reward"
        done |= finished
        if term["__all__"] or trunc["__all__"]:
            assert done == set(env.possible_agents), f"__all__ set with {done} done"
            # Turn-based: the agents whose final observation goes out this step still count
            # as present (RLlib's env check rejects obs of agents not in ``agents``).
            assert not env.agents or (turn_based and set(env.agents) == set(obs)), env.agents
            return {"totals": totals, "steps": step + 1, "last_actor": last_actor,
                    "terminated": term["__all__"], "truncated": trunc["__all__"]}
        assert not done >= set(env.possible_agents), "every agent done but __all__ not set"
        # Live agents that got no observation this step must not be asked to act next.
        assert {a for a in obs if a not in done}, "no agent observes but the episode goes on"
    pytest.fail(f"episode did not end within {MAX_STEPS} steps")


@pytest.mark.parametrize("env_id", env_ids())
def test_adapter_follows_multi_agent_env_contract(env_id: str) -> None:
    env = make_rllib_env(_config(env_id))
    assert isinstance(env, AecAdapter) == (check_env_id(env_id).api == "aec")
    assert set(env.observation_spaces) == set(env.possible_agents)
    assert set(env.action_spaces) == set(env.possible_agents)
    for seed in range(3):
        out = _run_episode(env, seed)
        assert out["steps"] >= 1
    env.close()


@pytest.mark.parametrize("env_id", [i for i in env_ids() if "max_cycles" in
                                    check_env_id(i).defaults])
def test_time_limited_envs_truncate_at_max_cycles(env_id: str) -> None:
    env = make_rllib_env(_config(env_id))
    out = _run_episode(env, seed=0)
    if out["terminated"]:
        pytest.skip(f"{env_id} ended by termination before max_cycles")
    assert out["truncated"] and out["steps"] == 30


@pytest.mark.parametrize("env_id", [i for i in env_ids() if check_env_id(i).masked])
def test_masked_obs_are_float_dicts(env_id: str) -> None:
    env = make_rllib_env(_config(env_id))
    obs, _ = env.reset(seed=0)
    (o,) = obs.values()
    assert set(o) == {"observations", "action_mask"}
    assert o["observations"].dtype == np.float32 and o["observations"].ndim == 1
    assert o["action_mask"].dtype == np.float32 and o["action_mask"].sum() >= 1


@pytest.mark.parametrize("env_id", [i for i in env_ids() if check_env_id(i).api == "parallel"])
def test_parallel_obs_are_float32(env_id: str) -> None:
    env = make_rllib_env(_config(env_id))
    obs, _ = env.reset(seed=0)
    for agent, o in obs.items():
        assert np.asarray(o).dtype == np.float32
        assert env.observation_spaces[agent].dtype == np.float32


def test_connect_four_rewards_zero_sum_and_last_mover_wins() -> None:
    env = make_rllib_env({"id": C4})
    decided = 0
    for seed in range(12):
        out = _run_episode(env, seed)
        totals = out["totals"]
        assert sum(totals.values()) == 0, totals
        assert sorted(totals.values()) in ([-1.0, 1.0], [0.0, 0.0]), totals
        if totals[out["last_actor"]] != 0:
            # Connect four is won only by the move that completes four: the last mover.
            assert totals[out["last_actor"]] == 1.0, out
            decided += 1
    assert decided >= 6, "random play should decide most connect-four games"
