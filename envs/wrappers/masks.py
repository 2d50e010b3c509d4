"""Action-mask observations in the form RLlib's masking modules take.

PettingZoo's classic games observe ``{"observation": ..., "action_mask": int8}``. The
masked policy takes ``{"observations": float32 flat, "action_mask": float32}``: the
key renamed, the board flattened (no default conv config fits connect four's 6x7x2),
the mask cast. ``last()`` reports ``_cumulative_rewards``, since ``rewards[agent]``
loses the winner's +1 once the loser is stepped.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from pettingzoo.utils import BaseWrapper

__all__ = ["MaskedDictObs", "masked_obs"]


def masked_obs(obs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Convert one PettingZoo masked observation."""
    return {
        "observations": np.asarray(obs["observation"], dtype=np.float32).ravel(),
        "action_mask": np.asarray(obs["action_mask"], dtype=np.float32),
    }


class MaskedDictObs(BaseWrapper):
    """AEC wrapper: masked observations as ``{"observations", "action_mask"}`` float32."""

    def observation_space(self, agent: str) -> gym.spaces.Dict:
        space = self.env.observation_space(agent)
        n_obs = int(np.prod(space["observation"].shape))
        return gym.spaces.Dict(
            {
                "observations": gym.spaces.Box(-np.inf, np.inf, (n_obs,), np.float32),
                "action_mask": gym.spaces.Box(0.0, 1.0, space["action_mask"].shape, np.float32),
            }
        )

    def observe(self, agent: str) -> dict[str, np.ndarray] | None:
        obs = self.env.observe(agent)
        return None if obs is None else masked_obs(obs)

    def last(self, observe: bool = True) -> tuple[Any, float, bool, bool, dict]:
        agent = self.agent_selection
        return (
            self.observe(agent) if observe else None,
            self._cumulative_rewards[agent],
            self.terminations[agent],
            self.truncations[agent],
            self.infos[agent],
        )
