"""Env side of mappo: each agent's critic input, computed at every step and put in infos.

The actor never sees it: env-to-module connectors read observations only, and the
env runners hold actor-only modules. The infos travel to the Learners inside the
episodes, where ``AddCriticObs`` turns them into the batch column ``critic_obs``.

For agent ``a`` of team ``T = (m_1, ..., m_k)`` (env agent order), at one env step:

    team_obs:  [obs(a), obs(m_1), ..., obs(m_k) without a,  onehot_k(index of a in T)]
    state:     [env.state(),                                onehot_k(index of a in T)]

With a time limit (``critic.time_feature``, parallel envs) one more entry follows:
t / time_limit, t the parallel steps taken since reset (0 at reset, 1 at the cut).

``team_obs`` is agent-centric (MAPPO's "agent-specific" input): the agent's own
observation comes first and its teammates follow in env order, so a critic shared by the
team reads its own agent's features at the same place whichever agent it evaluates.

A member without an observation this step (done, or not to move in a turn-based env
that cannot observe it) contributes zeros. Masked ``{"observations", "action_mask"}``
observations contribute their ``observations`` part.

Only built when the spec asks for a centralized critic: ``ppo``/``ippo`` envs are the
plain adapters and pay nothing.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from ray.rllib.env.multi_agent_env import MultiAgentEnv
from ray.rllib.utils.typing import AgentID, MultiAgentDict

from marl.errors import SpecError
from marl.rllib.env.adapters import AecAdapter, ParallelAdapter

__all__ = ["CRITIC_OBS", "ParallelCriticAdapter", "AecCriticAdapter", "with_critic_input"]

CRITIC_OBS = "critic_obs"
"""Info key (env side) and batch column (learner side) of the critic's input."""


def _actor_part(space: gym.Space) -> gym.Space:
    if isinstance(space, gym.spaces.Dict) and "observations" in space.spaces:
        return space["observations"]
    return space


def _flat(obs: Any) -> np.ndarray:
    if isinstance(obs, dict):
        obs = obs["observations"]
    return np.asarray(obs, dtype=np.float32).ravel()


class _CriticInputMixin(MultiAgentEnv):
    """Adds ``infos[agent][CRITIC_OBS]`` for every agent that gets an observation.

    Goes before an adapter in the bases (``class X(_CriticInputMixin, ParallelAdapter)``):
    its ``reset``/``step`` wrap the adapter's. It subclasses ``MultiAgentEnv`` only so that
    ``super()`` and the adapter's attributes type-check; it defines no ``__init__``.
    """

    env: Any  # the wrapped PettingZoo env, set by the adapter's __init__

    def _setup_critic(self, critic: dict[str, Any]) -> None:
        self._critic_mode = critic["input"]
        self._with_id = bool(critic["with_agent_id"])
        self._teams = {t: tuple(m) for t, m in critic["teams"].items()}
        self._team_of = {a: t for t, members in self._teams.items() for a in members}
        self._index = {a: members.index(a) for members in self._teams.values() for a in members}
        self._order = {a: (a, *(m for m in members if m != a))
                       for members in self._teams.values() for a in members}
        spaces = self.observation_spaces
        assert spaces is not None, "the adapter's __init__ sets observation_spaces"
        self._obs_dim = {a: gym.spaces.flatdim(_actor_part(spaces[a]))
                         for a in self.possible_agents}
        self._time_limit = critic.get("time_limit")
        self._t = 0

    def _state(self) -> np.ndarray:
        try:
            return np.asarray(self.env.state(), np.float32).ravel()
        except (NotImplementedError, AttributeError):
            raise SpecError("algorithm.critic.input: this env provides no global state "
                            "(state()); use critic.input: team_obs") from None

    def _member_obs(self, agent: str, obs: MultiAgentDict) -> np.ndarray:
        if agent in obs:
            return _flat(obs[agent])
        return np.zeros(self._obs_dim[agent], np.float32)

    def _critic_inputs(self, obs: MultiAgentDict) -> MultiAgentDict:
        """Critic input of every agent in ``obs``."""
        state = self._state() if self._critic_mode == "state" and obs else None
        out = {}
        for agent in obs:
            if state is not None:
                parts = [state]
            else:
                parts = [self._member_obs(m, obs) for m in self._order[agent]]
            if self._with_id:
                one_hot = np.zeros(len(self._teams[self._team_of[agent]]), np.float32)
                one_hot[self._index[agent]] = 1.0
                parts.append(one_hot)
            if self._time_limit:
                parts.append(np.array([self._t / self._time_limit], np.float32))
            out[agent] = np.concatenate(parts)
        return out

    def _add_critic_infos(self, obs: MultiAgentDict, infos: MultiAgentDict) -> MultiAgentDict:
        infos = dict(infos or {})
        for agent, x in self._critic_inputs(obs).items():
            infos[agent] = {**(infos.get(agent) or {}), CRITIC_OBS: x}
        return infos

    def critic_dims(self) -> dict[AgentID, int]:
        """Width of each agent's critic input (resets the env)."""
        obs, _ = self.reset(seed=0)
        return {a: int(x.shape[0]) for a, x in self._critic_inputs(obs).items()}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, infos = super().reset(seed=seed, options=options)
        self._t = 0
        return obs, self._add_critic_infos(obs, infos)

    def step(self, action_dict: MultiAgentDict):
        obs, rew, term, trunc, infos = super().step(action_dict)
        self._t += 1
        return obs, rew, term, trunc, self._add_critic_infos(obs, infos)


class ParallelCriticAdapter(_CriticInputMixin, ParallelAdapter):
    """Parallel env + critic inputs: team members' observations of the same step."""

    def __init__(self, env: Any, critic: dict[str, Any]):
        super().__init__(env)
        self._setup_critic(critic)


class AecCriticAdapter(_CriticInputMixin, AecAdapter):
    """Turn-based env + critic inputs: members that are not emitted this step are
    observed directly (``env.observe``), so every block shows the current position."""

    def __init__(self, env: Any, critic: dict[str, Any]):
        super().__init__(env)
        self._setup_critic(critic)

    def _member_obs(self, agent: str, obs: MultiAgentDict) -> np.ndarray:
        if agent in obs:
            return _flat(obs[agent])
        if agent in self.env.agents:
            return _flat(self.env.observe(agent))
        return np.zeros(self._obs_dim[agent], np.float32)

    def critic_dims(self) -> dict[AgentID, int]:
        self.reset(seed=0)
        live = {a: self.env.observe(a) for a in self.env.agents}
        return {a: int(x.shape[0]) for a, x in self._critic_inputs(live).items()}


def with_critic_input(env: Any, api: str, critic: dict[str, Any]) -> Any:
    """The RLlib adapter for a raw PettingZoo env, with critic inputs in infos."""
    return AecCriticAdapter(env, critic) if api == "aec" else ParallelCriticAdapter(env, critic)
