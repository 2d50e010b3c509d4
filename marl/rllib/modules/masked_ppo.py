"""RLlib's default PPO actor-critic with action masks: ppo's module in marl 0.1, kept so
its checkpoints load and evaluate (new runs use ``actor_critic.ActorCriticModule``)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
from ray.rllib.algorithms.ppo.torch.default_ppo_torch_rl_module import DefaultPPOTorchRLModule
from ray.rllib.core.columns import Columns

from marl.rllib.modules.actor_critic import mask_logits

__all__ = ["MaskedPPOModule"]


class MaskedPPOModule(DefaultPPOTorchRLModule):
    """PPO actor-critic over ``{"observations", "action_mask"}`` observations.

    The networks see ``observations`` only; illegal actions get ``log(0)`` clamped to
    FLOAT_MIN added to their logits, so they are never sampled and carry no gradient.
    """

    def __init__(self, *, observation_space: gym.Space | None = None, **kwargs: Any):
        self.observation_space_with_mask = observation_space
        inner = observation_space["observations"] if isinstance(observation_space, gym.spaces.Dict) else observation_space
        super().__init__(observation_space=inner, **kwargs)

    def setup(self) -> None:
        super().setup()
        self.observation_space = self.observation_space_with_mask

    @staticmethod
    def _split(batch: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        obs = batch[Columns.OBS]
        if not isinstance(obs, dict):
            return None, batch
        return obs["action_mask"], {**batch, Columns.OBS: obs["observations"]}

    @staticmethod
    def _mask(out: dict[str, Any], mask: Any) -> dict[str, Any]:
        out[Columns.ACTION_DIST_INPUTS] = mask_logits(out[Columns.ACTION_DIST_INPUTS], mask)
        return out

    def _forward_inference(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        mask, batch = self._split(batch)
        return self._mask(super()._forward_inference(batch, **kwargs), mask)

    def _forward_exploration(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        mask, batch = self._split(batch)
        return self._mask(super()._forward_exploration(batch, **kwargs), mask)

    def _forward_train(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        mask, batch = self._split(batch)
        return self._mask(super()._forward_train(batch, **kwargs), mask)

    def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> Any:
        _, batch = self._split(batch)
        return super().compute_values(batch, embeddings)
