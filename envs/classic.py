"""PettingZoo classic games whose spaces need an adapter before a policy network sees them.

Rock-paper-scissors (``pettingzoo.classic.rps_v2``) observes ``Discrete(num_actions + 1)``:
the opponent's last move, ``num_actions`` before the first round. Policies here take
vectors, so ``rps`` one-hot encodes it:

| Creation     | ``rps(num_actions=3, max_cycles=15)`` (parallel)                          |
|--------------|---------------------------------------------------------------------------|
| Agents       | ``["player_0", "player_1"]``                                              |
| Actions      | ``Discrete(num_actions)``: rock, paper, scissors (, lizard, spock)        |
| Observation  | ``Box(0, 1, (num_actions + 1,), float32)``: one-hot of the opponent's     |
|              | last move; the last index is "no move yet"                                |
| Rewards      | +1 win, -1 loss, 0 tie, every round                                       |
| Episode end  | truncation after ``max_cycles`` rounds                                    |
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo.utils import BaseParallelWrapper

__all__ = ["OneHotObs", "rps"]


class OneHotObs(BaseParallelWrapper):
    """Parallel wrapper: ``Discrete(n)`` observations as float32 one-hot vectors of size n."""

    def __init__(self, env: Any):
        super().__init__(env)
        self.observation_spaces = {
            a: spaces.Box(0.0, 1.0, (int(env.observation_space(a).n),), np.float32)
            for a in env.possible_agents}

    def observation_space(self, agent: str) -> spaces.Box:
        return self.observation_spaces[agent]

    def _one_hot(self, obs: dict[str, Any]) -> dict[str, np.ndarray]:
        out = {}
        for agent, value in obs.items():
            vec = np.zeros(self.observation_spaces[agent].shape, np.float32)
            vec[int(value)] = 1.0
            out[agent] = vec
        return out

    def reset(self, seed: int | None = None, options: dict | None = None) -> Any:
        obs, infos = self.env.reset(seed=seed, options=options)
        return self._one_hot(obs), infos

    def step(self, actions: dict[str, Any]) -> Any:
        obs, rewards, terminations, truncations, infos = self.env.step(actions)
        return self._one_hot(obs), rewards, terminations, truncations, infos


def rps(**kwargs: Any) -> OneHotObs:
    """Rock-paper-scissors (``rps_v2.parallel_env(**kwargs)``) with one-hot observations."""
    from pettingzoo.classic import rps_v2

    return OneHotObs(rps_v2.parallel_env(**kwargs))
