"""Play policies in PettingZoo envs: episodes and their returns (plain Python, no Ray).

A policy is any ``act(list_of_obs) -> actions`` callable; evaluation, head-to-head
league games and replays all play through here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from envs.factory import api_of, make_spec_env

__all__ = ["Policy", "as_env_action", "play_episodes", "random_box_policy", "wilson_interval"]

Policy = Callable[[Sequence[Any]], np.ndarray]


def as_env_action(action: Any, space: Any) -> Any:
    """A policy's action for one agent as the env takes it: an array of the space's
    dtype for Box spaces (policies return actions already within the bounds), an int
    otherwise."""
    if isinstance(space, gym.spaces.Box):
        return np.asarray(action, dtype=space.dtype)
    return int(action)


def random_box_policy(space: gym.spaces.Box, seed: int = 0) -> Policy:
    """Uniform in ``[low, high]`` of a Box action space, per dimension (standard normal
    on dimensions without both bounds)."""
    rng = np.random.default_rng(seed)
    low, high = np.asarray(space.low, np.float64), np.asarray(space.high, np.float64)
    bounded = np.isfinite(low) & np.isfinite(high)
    low, high = np.where(bounded, low, 0.0), np.where(bounded, high, 1.0)

    def act(observations: Sequence[Any]) -> np.ndarray:
        shape = (len(observations), *space.shape)
        draws = np.where(bounded, rng.uniform(low, high, shape), rng.standard_normal(shape))
        return draws.astype(space.dtype)

    return act


def wilson_interval(successes: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a binomial rate (95 % by default)."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def play_episodes(env_config: dict[str, Any], agent_policy: dict[str, Policy], episodes: int,
                  seed: int = 0) -> list[dict[str, float]]:
    """Play ``episodes`` episodes; returns each episode's per-agent return."""
    env = make_spec_env(env_config)
    aec = api_of(env) == "aec"
    results = []
    for ep in range(episodes):
        totals = {a: 0.0 for a in env.possible_agents}
        if aec:
            env.reset(seed=seed + ep)
            for agent in env.agent_iter():
                obs, reward, term, trunc, _ = env.last()
                totals[agent] += float(reward)
                policy = agent_policy[agent]
                if term or trunc:
                    action = None
                elif hasattr(policy, "search"):  # marl.search.SearchPolicy: it needs the env
                    action = policy.search(env, agent)
                else:
                    action = as_env_action(policy([obs])[0], env.action_space(agent))
                env.step(action)
        else:
            obs, _ = env.reset(seed=seed + ep)
            while env.agents:
                actions = {}
                by_policy: dict[int, list[str]] = {}
                for agent in env.agents:
                    by_policy.setdefault(id(agent_policy[agent]), []).append(agent)
                for agents in by_policy.values():  # one batched forward per policy
                    acts = agent_policy[agents[0]]([np.asarray(obs[a], np.float32) for a in agents])
                    actions.update({a: as_env_action(x, env.action_space(a))
                                    for a, x in zip(agents, acts, strict=True)})
                obs, rewards, _, _, _ = env.step(actions)
                for agent, r in rewards.items():
                    totals[agent] += float(r)
        results.append(totals)
    env.close()
    return results
