"""PettingZoo envs as RLlib ``MultiAgentEnv``s, built on every env runner from plain config.

Two thin adapters instead of RLlib's ``PettingZooEnv``/``ParallelPettingZooEnv``: they
follow RLlib's done-agent contract (a finished agent gets its final observation and
reward once, then nothing) and cast observations once, here, so connectors do not. An
agent the env reports both terminated and truncated is passed on as terminated only,
so a truncated flag means a time limit (``marl.rllib.connectors.time_limit``).
"""

from __future__ import annotations

from typing import Any, cast

import gymnasium as gym
import numpy as np
from ray.rllib.env.multi_agent_env import MultiAgentEnv
from ray.rllib.utils.typing import AgentID, MultiAgentDict

__all__ = ["AecAdapter", "ParallelAdapter", "as_float32"]


def as_float32(space: gym.Space) -> gym.Space:
    """A Box space as float32 (the dtype the parallel adapter casts observations to)."""
    if isinstance(space, gym.spaces.Box) and space.dtype != np.float32:
        return gym.spaces.Box(space.low.astype(np.float32), space.high.astype(np.float32),
                              space.shape, np.float32)
    return space


def _dict_space(spaces: dict[AgentID, gym.Space]) -> gym.spaces.Dict:
    """The per-agent spaces as one Dict space. gymnasium annotates its keys as str, RLlib
    agent ids as ``Hashable | str``; PettingZoo's agent ids are str."""
    return gym.spaces.Dict(cast(dict[str, gym.Space], spaces))


class AecAdapter(MultiAgentEnv):
    """Turn-based (AEC) env: one agent acts per step.

    Each step emits the observation of the next agent to act, with its
    ``_cumulative_rewards`` (all reward since it last acted). Agents that finished
    get their final observation and reward, then are stepped with ``None``.
    """

    def __init__(self, env: Any):
        super().__init__()
        self.env = env
        self.possible_agents = list(env.possible_agents)
        self.agents = list(self.possible_agents)
        self.observation_spaces = {a: env.observation_space(a) for a in self.possible_agents}
        self.action_spaces = {a: env.action_space(a) for a in self.possible_agents}
        self.observation_space = _dict_space(self.observation_spaces)
        self.action_space = _dict_space(self.action_spaces)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        self.env.reset(seed=seed, options=options)
        self.agents = list(self.env.agents)
        agent = self.env.agent_selection
        return {agent: self.env.observe(agent)}, {}

    def step(self, action_dict: MultiAgentDict):
        env = self.env
        env.step(action_dict[env.agent_selection])
        obs, rew, term, trunc, info = {}, {}, {}, {}, {}
        while env.agents:
            agent = env.agent_selection
            done_t = bool(env.terminations[agent])
            done_tr = bool(env.truncations[agent]) and not done_t  # terminated wins
            obs[agent] = env.observe(agent)
            rew[agent] = float(env._cumulative_rewards[agent])
            term[agent], trunc[agent] = done_t, done_tr
            info[agent] = env.infos.get(agent, {})
            if done_t or done_tr:
                env.step(None)  # removes the finished agent, as AEC requires
            else:
                break
        # On the last step the agents whose final observation goes out still count as
        # present (RLlib's env check rejects obs of agents not in ``agents``; a game such
        # as leduc can end on the first move).
        self.agents = list(env.agents) or [a for a in self.possible_agents if a in obs]
        all_gone = not env.agents
        term["__all__"] = all_gone and all(v for k, v in term.items() if k != "__all__")
        trunc["__all__"] = all_gone and not term["__all__"]
        return obs, rew, term, trunc, info

    def render(self):
        return self.env.render()

    def close(self):
        self.env.close()


class ParallelAdapter(MultiAgentEnv):
    """Simultaneous-move (parallel) env; observations cast to float32 once here."""

    def __init__(self, env: Any):
        super().__init__()
        self.env = env
        self.possible_agents = list(env.possible_agents)
        self.agents = list(self.possible_agents)
        self.observation_spaces = {a: as_float32(env.observation_space(a))
                                   for a in self.possible_agents}
        self.action_spaces = {a: env.action_space(a) for a in self.possible_agents}
        self.observation_space = _dict_space(self.observation_spaces)
        self.action_space = _dict_space(self.action_spaces)

    @staticmethod
    def _cast(obs: dict[str, Any]) -> dict[str, Any]:
        return {a: np.asarray(o, dtype=np.float32) for a, o in obs.items()}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, infos = self.env.reset(seed=seed, options=options)
        self.agents = list(self.env.agents)
        return self._cast(obs), infos or {}

    def step(self, action_dict: MultiAgentDict):
        obs, rew, term, trunc, infos = self.env.step(action_dict)
        self.agents = list(self.env.agents)
        all_gone = not self.env.agents
        term = {a: bool(v) for a, v in term.items()}
        # An agent both terminated and truncated is terminated (Gymnasium's rule), so a
        # truncated flag always means "cut by a time limit: bootstrap" to the learner.
        trunc = {a: bool(v) and not term.get(a, False) for a, v in trunc.items()}
        term["__all__"] = all_gone and all(term.values())
        trunc["__all__"] = all_gone and not term["__all__"]
        return self._cast(obs), {a: float(r) for a, r in rew.items()}, term, trunc, infos

    def render(self):
        return self.env.render()

    def close(self):
        self.env.close()
