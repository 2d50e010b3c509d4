"""Decentralized actor + learner-only critic: the RLModule of ippo and mappo.

    actor   pi(own obs) -> action logits          built everywhere (env runners, learners)
    critic  V(critic input) -> normalized value   built on learners only
    value_norm  running target statistics         built on learners only

The actor and the critic are separate MLPs: the policy loss has no path into the critic
and the value loss none into the actor. ``critic input`` is the agent's own observation
(ippo) or the batch column ``critic_obs`` (mappo: team observations or global state, see
``critic_input.py``). Env runners build this module with ``inference_only=True`` (see
``MappoConfig``), so the critic, its statistics and its input never reach them.

model_config:
    hidden, activation      actor MLP
    critic_hidden           critic MLP (default: hidden)
    critic_input            "own_obs" | "central"
    critic_obs_dim          width of ``critic_obs`` (central only)
    value_normalization     keep a ValueNorm (default True)
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import torch
from torch import nn
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.apis import InferenceOnlyAPI, ValueFunctionAPI
from ray.rllib.core.rl_module.torch import TorchRLModule
from ray.rllib.utils.torch_utils import FLOAT_MIN

from marl.rllib.env.critic_input import CRITIC_OBS
from marl.rllib.modules.value_norm import ValueNorm

__all__ = ["TeamCriticModule", "mlp"]

_ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}


def mlp(in_dim: int, hidden: list[int], out_dim: int, activation: str,
        out_gain: float) -> nn.Sequential:
    """MLP with orthogonal init (gain sqrt 2 hidden, ``out_gain`` output; CleanRL/MAPPO)."""
    layers: list[nn.Module] = []
    for width in hidden:
        layer = nn.Linear(in_dim, width)
        nn.init.orthogonal_(layer.weight, math.sqrt(2))
        nn.init.zeros_(layer.bias)
        layers += [layer, _ACTIVATIONS[activation]()]
        in_dim = width
    head = nn.Linear(in_dim, out_dim)
    nn.init.orthogonal_(head.weight, out_gain)
    nn.init.zeros_(head.bias)
    return nn.Sequential(*layers, head)


def _actor_space(space: gym.Space) -> gym.Space:
    if isinstance(space, gym.spaces.Dict) and "observations" in space.spaces:
        return space["observations"]
    return space


class TeamCriticModule(TorchRLModule, ValueFunctionAPI, InferenceOnlyAPI):
    """PPO actor-critic with separate networks and a learner-only (optionally central) critic."""

    def setup(self) -> None:
        cfg = self.model_config or {}
        hidden = list(cfg.get("hidden", [64, 64]))
        activation = cfg.get("activation", "tanh")
        obs_dim = gym.spaces.flatdim(_actor_space(self.observation_space))
        if isinstance(self.action_space, gym.spaces.Discrete):
            out_dim = int(self.action_space.n)
        elif isinstance(self.action_space, gym.spaces.Box):
            out_dim = 2 * int(math.prod(self.action_space.shape))  # mean, log_std
        else:
            raise ValueError(
                f"ippo/mappo support Discrete and Box actions, not {self.action_space}")
        self.pi = mlp(obs_dim, hidden, out_dim, activation, out_gain=0.01)
        self.central = cfg.get("critic_input", "own_obs") == "central"
        self.normalizes_values = bool(cfg.get("value_normalization", True))
        if not self.inference_only:
            critic_in = int(cfg["critic_obs_dim"]) if self.central else obs_dim
            critic_hidden = cfg.get("critic_hidden")
            self.critic = mlp(critic_in, list(hidden if critic_hidden is None else critic_hidden),
                              1, activation, out_gain=1.0)
            self.value_norm = ValueNorm() if self.normalizes_values else None

    @property
    def has_critic(self) -> bool:
        return not self.inference_only

    @staticmethod
    def _own_obs(batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor | None]:
        obs = batch[Columns.OBS]
        if isinstance(obs, dict):
            return obs["observations"].flatten(1), obs["action_mask"]
        return obs.flatten(1), None

    def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        obs, mask = self._own_obs(batch)
        logits = self.pi(obs)
        if mask is not None:  # illegal actions: log(0) clamped, never sampled, no gradient
            logits = logits + torch.clamp(torch.log(mask), min=FLOAT_MIN)
        return {Columns.ACTION_DIST_INPUTS: logits}

    def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> torch.Tensor:
        """Normalized value of each row: V(critic_obs) (mappo) or V(own obs) (ippo)."""
        x = batch[CRITIC_OBS] if self.central else self._own_obs(batch)[0]
        return self.critic(x).squeeze(-1)

    def get_non_inference_attributes(self) -> list[str]:
        return ["critic", "value_norm"] if self.normalizes_values else ["critic"]
