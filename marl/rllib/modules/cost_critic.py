"""The actor-critic with cost critics and Lagrange multipliers (``algorithm.constraints``).

``ConstrainedActorCriticModule`` is ``ActorCriticModule`` plus, per constraint k, learner
only (never built on env runners):

    cost_critics[k]  V_c,k(critic input) -> expected discounted cost-to-go; the same
                     input and layout as the reward critic (own obs for ppo/ippo, the
                     team's critic_obs for mappo: a team cost critic, as MAPPO-L)
    cost_norms[k]    ValueNorm of its targets: the critic predicts normalized values
    multipliers      buffer ``values`` (K,), float32: lambda_k, in ``model_config["costs"]``
                     order

Being module state, the multipliers are checkpointed with the critics and restored on
resume. ``marl.rllib.learners.lagrangian`` trains the critics and updates the
multipliers; ``marl.constraints`` holds the maths.

model_config: ``ActorCriticModule``'s, plus ``costs`` (cost names) and
``lambda_init`` (initial multipliers, one per cost).
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import torch
from torch import nn

from marl.rllib.env.critic_input import CRITIC_OBS
from marl.rllib.modules.actor_critic import ActorCriticModule, _actor_space, _linear, encoder_layers
from marl.rllib.modules.value_norm import ValueNorm

__all__ = ["ConstrainedActorCriticModule", "Multipliers"]


class Multipliers(nn.Module):
    """Lagrange multipliers lambda_k >= 0 as a buffer (module state, no gradient).

    float32: RLlib's checkpoint restore casts float64 state to float32, so a float64
    buffer would come back rounded (a resume would not continue the same multiplier)."""

    values: torch.Tensor

    def __init__(self, init: list[float]):
        super().__init__()
        self.register_buffer("values", torch.tensor(init, dtype=torch.float32))


class ConstrainedActorCriticModule(ActorCriticModule):
    """``ActorCriticModule`` with one cost critic, ValueNorm and multiplier per cost."""

    def setup(self) -> None:
        super().setup()
        cfg = self.model_config or {}
        assert isinstance(cfg, dict), "the actor-critic's model_config is a dict"
        self.cost_names: list[str] = list(cfg.get("costs", []))
        if self.inference_only or not self.cost_names:
            return
        assert self.observation_space is not None, "the actor-critic's spec gives both spaces"
        hidden = list(cfg.get("critic_hidden") or cfg.get("hidden", [64, 64]))
        activation = cfg.get("activation", "tanh")
        critics = {}
        for name in self.cost_names:
            if self.central:
                layers, width = encoder_layers(int(cfg["critic_obs_dim"]), cfg, hidden, activation)
            else:
                obs_dim = gym.spaces.flatdim(_actor_space(self.observation_space))
                layers, width = encoder_layers(obs_dim, cfg, hidden, activation,
                                               cfg.get("encoder", "mlp"),
                                               cfg.get("input_norm", "none"))
            critics[name] = nn.Sequential(*layers, _linear(width, 1, 1.0))
        self.cost_critics = nn.ModuleDict(critics)
        self.cost_norms = nn.ModuleDict({name: ValueNorm() for name in self.cost_names})
        init = list(cfg.get("lambda_init") or [0.0] * len(self.cost_names))
        if len(init) != len(self.cost_names) or any(not math.isfinite(x) or x < 0 for x in init):
            raise ValueError(f"lambda_init {init} must hold one finite value >= 0 per cost "
                             f"{self.cost_names}")
        self.multipliers = Multipliers(init)

    def compute_cost_values(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Cost name -> V_c of each row, in that critic's normalized units."""
        x = batch[CRITIC_OBS] if self.central else self._own_obs(batch)[0]
        return {name: critic(x).squeeze(-1) for name, critic in self.cost_critics.items()}

    def lambdas(self) -> dict[str, float]:
        """Cost name -> current multiplier."""
        return dict(zip(self.cost_names, self.multipliers.values.tolist()))

    def set_lambdas(self, values: dict[str, float]) -> None:
        """Set multipliers by cost name (others unchanged)."""
        with torch.no_grad():
            for name, value in values.items():
                self.multipliers.values[self.cost_names.index(name)] = float(value)

    def get_non_inference_attributes(self) -> list[str]:
        extra = ["cost_critics", "cost_norms", "multipliers"] if self.cost_names else []
        return [*super().get_non_inference_attributes(), *extra]
