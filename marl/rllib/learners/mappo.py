"""ippo/mappo on RLlib's new API stack (RLlib 2.58 ships no new-stack MAPPO).

``MappoConfig`` is ``MarlPPOConfig`` (same ``PPO`` algorithm, same training step, env
runners with actors only) whose Learner is ``MappoTorchLearner``.

``MappoTorchLearner`` is marl's PPO Learner (``learners/ppo.py``: time-limit bootstrap,
Adam eps, exact epochs per module) with the team critic's pipeline
(``marl.rllib.connectors.team_gae``) and loss (``marl.rllib.learners.losses``). Settings
come from ``config.learner_config_dict["team_critic"]``: ``vf_loss`` (huber|mse),
``huber_delta``, ``value_clip`` (float or None).

The module is ``marl.rllib.modules.actor_critic.ActorCriticModule``; the builder
(``marl.rllib.builder.configure_team_critic``) wires the three together.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import torch
from ray.rllib.algorithms.ppo.ppo import (LEARNER_RESULTS_KL_KEY,
                                          LEARNER_RESULTS_VF_EXPLAINED_VAR_KEY,
                                          LEARNER_RESULTS_VF_LOSS_UNCLIPPED_KEY)
from ray.rllib.core.columns import Columns
from ray.rllib.core.learner.learner import ENTROPY_KEY, POLICY_LOSS_KEY, VF_LOSS_KEY
from ray.rllib.utils.torch_utils import explained_variance
from ray.rllib.utils.typing import TensorType

from marl.rllib.connectors.bootstrap_step import AddBootstrapStep
from marl.rllib.connectors.team_gae import AddCriticObs
from marl.rllib.learners.losses import clipped_surrogate_loss, real_rows, row_mean, value_loss
from marl.rllib.learners.ppo import MarlPPOConfig, PPOLearner

if TYPE_CHECKING:
    from marl.rllib.modules.actor_critic import ActorCriticModule

__all__ = ["MappoConfig", "MappoTorchLearner"]


def _torch(x: TensorType) -> torch.Tensor:
    """A torch learner's tensor. RLlib annotates distribution outputs and its tensor
    variables as TensorType (numpy | torch | tf); on this learner they are torch tensors."""
    return cast(torch.Tensor, x)


class MappoConfig(MarlPPOConfig):
    """MarlPPOConfig whose Learner trains team critics (``MappoTorchLearner``)."""

    def get_default_learner_class(self) -> type:
        return MappoTorchLearner


class MappoTorchLearner(PPOLearner):
    """PPO policy loss + the team critic's normalized, optionally clipped Huber value loss."""

    def build(self) -> None:
        super().build()  # PPOLearner: bootstrap at time limits, TeamGAE
        pipeline = self._learner_connector
        if pipeline is None or not self.config.add_default_connectors_to_learner_pipeline:
            return
        pipeline.insert_after(AddBootstrapStep, AddCriticObs())

    def compute_loss_for_module(self, *, module_id: str, config: Any, batch: dict[str, Any],
                                fwd_out: dict[str, Any]) -> torch.Tensor:
        # The builder gives ippo/mappo marl's actor-critic (modules/specs.py); RLlib's
        # MultiRLModule is typed by the base RLModule.
        module = cast("ActorCriticModule", self.module[module_id].unwrapped())
        settings = self.config.learner_config_dict.get("team_critic", {})
        mean, real = row_mean(batch), real_rows(batch)  # bootstrap rows: dropped or masked

        # Policy: PPO's clipped surrogate, entropy bonus, optional KL penalty.
        dist_cls = module.get_train_action_dist_cls()
        dist = dist_cls.from_logits(fwd_out[Columns.ACTION_DIST_INPUTS])
        policy_loss = clipped_surrogate_loss(_torch(dist.logp(batch[Columns.ACTIONS])),
                                             batch[Columns.ACTION_LOGP],
                                             batch[Columns.ADVANTAGES], config.clip_param)
        entropy = _torch(dist.entropy())
        entropy_coeff = self.entropy_coeff_schedulers_per_module[module_id].get_current_value()
        if config.use_kl_loss:
            old = module.get_exploration_action_dist_cls().from_logits(
                batch[Columns.ACTION_DIST_INPUTS])
            mean_kl = mean(_torch(old.kl(dist)))
        else:
            mean_kl = torch.zeros((), device=policy_loss.device)

        # Value: the (team) critic's loss in normalized units.
        # The actor's trunk, when the critic shares it, ran once in the forward pass.
        values = module.compute_values(batch, embeddings=fwd_out.get(Columns.EMBEDDINGS))
        vf_loss = value_loss(values, batch.get(Columns.VF_PREDS), batch[Columns.VALUE_TARGETS],
                             kind=settings.get("vf_loss", "huber"),
                             delta=settings.get("huber_delta", 10.0),
                             value_clip=settings.get("value_clip", 0.2))

        total = mean(policy_loss + config.vf_loss_coeff * vf_loss - entropy_coeff * entropy)
        if config.use_kl_loss:
            total = total + _torch(self.curr_kl_coeffs_per_module[module_id]) * mean_kl

        if not self.logs_step_stats(module_id):  # the lean loop: last minibatch only
            return total
        stats = {
            POLICY_LOSS_KEY: mean(policy_loss),
            VF_LOSS_KEY: mean(vf_loss),
            LEARNER_RESULTS_VF_LOSS_UNCLIPPED_KEY: mean(
                (values - batch[Columns.VALUE_TARGETS]) ** 2),
            LEARNER_RESULTS_VF_EXPLAINED_VAR_KEY: explained_variance(
                real(batch[Columns.VALUE_TARGETS]), real(values)),
            ENTROPY_KEY: mean(entropy),
            LEARNER_RESULTS_KL_KEY: mean_kl,
        }
        if module.value_norm is not None:
            mu, sigma = module.value_norm.mean_std()
            stats["value_norm_mean"], stats["value_norm_std"] = mu.float(), sigma.float()
        self.metrics.log_dict(stats, key=module_id, window=1)
        return total
