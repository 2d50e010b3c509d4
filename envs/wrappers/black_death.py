"""Black death: agents that die stay in the episode, observing zeros, until it ends.

Envs where agents die mid-episode (knights-archers-zombies) change their agent set; a
shared policy batched over a fixed set of agents, and the critic inputs built from
teammates' observations, want every agent present at every step. This parallel wrapper
keeps all agents until the episode ends: a dead agent observes zeros, gets reward 0 and
ignores its actions (SuperSuit's ``black_death_v3`` idea).

Written here rather than taken from SuperSuit 3.11, whose ``black_death_v3`` reports the
episode's last step as not done, ends it one all-zero step later, and then flags every
agent both terminated and truncated (a time limit would read as a terminal state).
Here the episode ends on the env's own last step with the env's own flags; an agent
that died earlier ends terminated.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from pettingzoo.utils.wrappers import BaseParallelWrapper

__all__ = ["BlackDeath", "black_death"]


class BlackDeath(BaseParallelWrapper):
    """Parallel env whose agents all stay until the episode ends (Box observations only)."""

    def __init__(self, env: Any):
        super().__init__(env)
        for agent in env.possible_agents:
            if not isinstance(env.observation_space(agent), gym.spaces.Box):
                raise ValueError(f"black_death needs Box observations; {agent} observes "
                                 f"{env.observation_space(agent)}")
        self._zeros = {a: np.zeros(env.observation_space(a).shape, env.observation_space(a).dtype)
                       for a in env.possible_agents}

    def reset(self, seed: int | None = None, options: dict | None = None):
        obs, infos = self.env.reset(seed=seed, options=options)
        self.agents = list(self.env.agents)
        return {a: obs.get(a, self._zeros[a]) for a in self.agents}, dict(infos)

    def step(self, actions: dict[str, Any]):
        live = set(self.env.agents)
        obs, rew, term, trunc, infos = self.env.step({a: act for a, act in actions.items()
                                                      if a in live})
        over = not self.env.agents
        out_obs, out_rew, out_term, out_trunc, out_infos = {}, {}, {}, {}, {}
        for agent in self.agents:
            stepped = agent in live  # alive at the start of this step
            out_obs[agent] = obs[agent] if agent in obs else self._zeros[agent]
            out_rew[agent] = rew.get(agent, 0.0) if stepped else 0.0
            out_infos[agent] = infos.get(agent, {}) if stepped else {}
            # Until the episode is over nobody is done; then each agent alive at the last
            # step carries the env's flags, and one that died earlier ends terminated.
            out_term[agent] = over and (bool(term.get(agent, True)) if stepped else True)
            out_trunc[agent] = over and stepped and bool(trunc.get(agent, False))
        if over:
            self.agents = []
        return out_obs, out_rew, out_term, out_trunc, out_infos


def black_death(env: Any) -> Any:
    """Wrap a parallel env in ``BlackDeath``.

    Raises:
        ValueError: for a turn-based (AEC) env or non-Box observations.
    """
    from pettingzoo import ParallelEnv

    if not isinstance(env, ParallelEnv):
        raise ValueError("black_death needs a parallel env (simultaneous moves); this one is "
                         "turn-based (aec)")
    return BlackDeath(env)
