"""The masked Q-network of ``dqn``: marl's pluggable encoder, a (dueling) Q head, a target copy.

    q         Q(own obs) -> one value per action      built everywhere (env runners, learners)
    _target_q a copy of q, updated by RLlib's DQN learner every ``target_network_update_freq``
              env steps                               learners only

Masks (Dict observations ``{"observations", "action_mask"}``): an illegal action's Q is
-inf (``mask_q``), so it is never the greedy action, never drawn by epsilon-greedy
exploration (uniform over *legal* actions), and never the max of a target
(``forward_target`` masks with the next observation's mask). RLlib's DQN loss takes the
Q of the action played (always legal) and ``nan_to_num(-inf) = 0`` of a target whose
every action is illegal, which only happens at terminal observations, where the target
is not used.

``forward_inference`` returns ``ACTION_DIST_INPUTS`` = the masked Q values as well as
the greedy ``ACTIONS``: marl's evaluation (``marl.rllib.inference``) acts on them, and
argmax of them is the greedy action. Encoders and ``model_config`` as
``marl.rllib.modules.actor_critic`` (``encoder``, ``hidden``, ``activation``,
``input_norm``, ``conv``, ``board``, ``obs_scale``, ``features``), plus ``epsilon``: RLlib's schedule
``[[0, start], [steps, end]]`` (env steps), ``double_q`` and ``dueling`` (default true:
``q`` is a ``DuelingQ``, value and advantage heads on the encoder; false: one linear Q
head). Masking acts on the combined Q, so the advantages' mean also counts illegal
actions: a per-state constant, which moves no argmax and no TD error.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import torch
from ray.rllib.algorithms.dqn.default_dqn_rl_module import (QF_NEXT_PREDS, QF_PREDS,
                                                            QF_TARGET_NEXT_PREDS)
from ray.rllib.core.columns import Columns
from ray.rllib.core.learner.utils import make_target_network
from ray.rllib.core.rl_module.apis import InferenceOnlyAPI, QNetAPI, TargetNetworkAPI
from ray.rllib.core.rl_module.torch import TorchRLModule
from ray.rllib.utils.schedules.scheduler import Scheduler
from torch import nn

from marl.rllib.modules.actor_critic import _actor_space, _linear, encoder_layers

__all__ = ["DuelingQ", "QModule", "mask_q"]


def mask_q(q: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Illegal actions' Q set to -inf (no gradient flows to them)."""
    if mask is None:
        return q
    return torch.where(mask > 0, q, torch.full_like(q, float("-inf")))


def _split(obs: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
    if isinstance(obs, dict):
        return obs["observations"].flatten(1), obs["action_mask"]
    return obs.flatten(1), None


class DuelingQ(nn.Module):
    """Q(s, a) = V(s) + A(s, a) - mean_a A(s, a) on one encoder (Wang et al. 2016).

    Every replayed row moves V(s), the level shared by all actions, while only the played
    action's head learns in a plain Q-network; there, while the level still falls towards
    r / (1 - gamma) (spread: about -1 per agent step, gamma 0.99), the rarely played
    actions keep stale, higher values and become the argmax of every agent at once.
    """

    def __init__(self, layers: list[nn.Module], width: int, n: int) -> None:
        super().__init__()
        self.encoder = nn.Sequential(*layers)
        self.value = _linear(width, 1, 1.0)
        self.advantage = _linear(width, n, 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.encoder(x)
        a = self.advantage(h)
        return self.value(h) + a - a.mean(-1, keepdim=True)


class QModule(TorchRLModule, QNetAPI, TargetNetworkAPI, InferenceOnlyAPI):
    """Masked Q-network with a learner-only target copy (see the module docstring)."""

    def setup(self) -> None:
        cfg = self.model_config or {}
        assert isinstance(cfg, dict), "the Q module's model_config is a dict"
        assert isinstance(self.action_space, gym.spaces.Discrete), "dqn: Discrete actions"
        assert self.observation_space is not None, "the Q module's spec gives its spaces"
        obs_dim = gym.spaces.flatdim(_actor_space(self.observation_space))
        layers, width = encoder_layers(obs_dim, cfg, list(cfg.get("hidden", [64, 64])),
                                       cfg.get("activation", "relu"), cfg.get("encoder", "mlp"),
                                       cfg.get("input_norm", "none"))
        n = int(self.action_space.n)
        self.q: nn.Module = (DuelingQ(layers, width, n) if cfg.get("dueling", True)
                             else nn.Sequential(*layers, _linear(width, n, 1.0)))
        self.uses_double_q = bool(cfg.get("double_q", True))
        self.epsilon_schedule = Scheduler(fixed_value_or_schedule=cfg.get("epsilon", 0.05),
                                          framework="torch")

    # -- Q values ----------------------------------------------------------------------
    def compute_q_values(self, batch: dict[str, Any]) -> dict[str, Any]:
        obs, mask = _split(batch[Columns.OBS])
        return {QF_PREDS: mask_q(self.q(obs), mask)}

    def make_target_networks(self) -> None:
        self._target_q = make_target_network(self.q)

    def get_target_network_pairs(self) -> list[tuple[nn.Module, nn.Module]]:
        return [(self.q, self._target_q)]

    def forward_target(self, batch: dict[str, Any]) -> dict[str, Any]:
        obs, mask = _split(batch[Columns.OBS])
        return {QF_PREDS: mask_q(self._target_q(obs), mask)}

    def get_non_inference_attributes(self) -> list[str]:
        return ["_target_q"]

    # -- forward passes ----------------------------------------------------------------
    def _forward_inference(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        q = self.compute_q_values(batch)[QF_PREDS]
        return {Columns.ACTIONS: q.argmax(-1), Columns.ACTION_DIST_INPUTS: q}

    def _forward_exploration(self, batch: dict[str, Any], t: int = 0,
                             **kwargs: Any) -> dict[str, Any]:
        """Epsilon-greedy over legal actions: uniform among them with probability eps."""
        q = self.compute_q_values(batch)[QF_PREDS]
        greedy = q.argmax(-1)
        self.epsilon_schedule.update(t)
        epsilon = float(self.epsilon_schedule.get_current_value())
        legal = torch.isfinite(q).float()
        legal = torch.where(legal.sum(-1, keepdim=True) > 0, legal, torch.ones_like(legal))
        uniform = torch.multinomial(legal, 1).squeeze(-1)
        explore = torch.rand(q.shape[0], device=q.device) < epsilon
        return {Columns.ACTIONS: torch.where(explore, uniform, greedy)}

    def _forward_train(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if self.inference_only:
            raise RuntimeError("the Q module of an env runner (inference_only) cannot train")
        out = {QF_PREDS: self.compute_q_values(batch)[QF_PREDS]}
        next_batch = {Columns.OBS: batch[Columns.NEXT_OBS]}
        if self.uses_double_q:  # the online net picks the next action, the target values it
            out[QF_NEXT_PREDS] = self.compute_q_values(next_batch)[QF_PREDS]
        out[QF_TARGET_NEXT_PREDS] = self.forward_target(next_batch)[QF_PREDS]
        return out
