"""REINFORCE (Williams 1992), the textbook policy-gradient baseline, on marl's PPO seams.

``ReinforceConfig`` is ``MarlPPOConfig`` (same ``PPO`` algorithm and training step, the
same masked ``ActorCriticModule``, env runners with actors only) whose Learner is
``ReinforceLearner``; the builder samples complete episodes and sets one epoch of one
minibatch, so every batch is used for exactly one gradient step.

Per module, on the whole batch (rows of complete episodes, each chunk with RLlib's
appended bootstrap row, which the loss mask drops)::

    G_t   = r_t + gamma G_{t+1}          Monte-Carlo discounted return to the episode end
                                         (GAE with lambda = 1; a time limit bootstraps
                                         b(s_T) with a baseline, see connectors/time_limit)
    A_t   = G_t - b(s_t)                 b = the critic V(s_t) (``baseline: true``) or 0
    loss  = mean_t[-log pi(a_t|s_t) A_t - c_H H(pi(.|s_t))] + c_V mean_t[(V(s_t) - G_t)^2]

The value term only with a baseline. Advantages are not standardized (textbook
REINFORCE; PPO's learner standardizes). Illegal actions are masked in the module
(``mask_logits``), as for PPO. Settings ride in ``config.learner_config_dict["reinforce"]``:
``baseline`` (bool).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch
from ray.rllib.algorithms.ppo.ppo import LEARNER_RESULTS_VF_EXPLAINED_VAR_KEY
from ray.rllib.connectors.common.numpy_to_tensor import NumpyToTensor
from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.core.columns import Columns
from ray.rllib.core.learner.learner import ENTROPY_KEY, POLICY_LOSS_KEY, VF_LOSS_KEY
from ray.rllib.utils.postprocessing.value_predictions import compute_value_targets
from ray.rllib.utils.torch_utils import explained_variance

from marl.rllib.connectors.team_gae import TeamGAE, attach_columns, team_critic_module
from marl.rllib.learners.losses import real_rows, row_mean
from marl.rllib.learners.ppo import MarlPPOConfig, PPOLearner

if TYPE_CHECKING:
    from marl.rllib.modules.actor_critic import ActorCriticModule

__all__ = ["MonteCarloReturns", "ReinforceConfig", "ReinforceLearner", "reinforce_loss"]


def reinforce_loss(logp: torch.Tensor, advantages: torch.Tensor) -> torch.Tensor:
    """Per-row REINFORCE loss -log pi(a|s) (G - b); its gradient is the policy gradient."""
    return -logp * advantages


class MonteCarloReturns(ConnectorV2):
    """Columns ``value_targets`` = G_t and ``advantages`` = G_t - b(s_t), per module.

    Replaces ``TeamGAE`` in the REINFORCE learner's pipeline: RLlib's GAE targets with
    lambda = 1 are the discounted returns to the end of each episode chunk (plus
    gamma^k b(s_T) where a chunk was cut and not terminated). Not standardized.
    """

    def __init__(self, input_observation_space=None, input_action_space=None, *,
                 gamma: float, baseline: bool):
        super().__init__(input_observation_space, input_action_space)
        self.gamma = gamma
        self.baseline = baseline
        self._to_tensor: NumpyToTensor | None = None

    def __call__(self, *, rl_module: Any, episodes: list[Any], batch: dict[str, Any],
                 **kwargs: Any) -> Any:
        results: dict[str, dict[str, np.ndarray]] = {}
        device = None
        for module_id, module_batch in batch.items():
            module = team_critic_module(rl_module, module_id)
            if module is None:
                continue
            rewards = np.asarray(module_batch[Columns.REWARDS].cpu(), np.float32)
            if self.baseline:
                with torch.no_grad():
                    values_t = module.compute_values(module_batch)
                device = values_t.device
                values = values_t.cpu().numpy().astype(np.float32)
            else:
                device = module_batch[Columns.REWARDS].device
                values = np.zeros_like(rewards)
            returns = compute_value_targets(
                values=values, rewards=rewards,
                terminateds=np.asarray(module_batch[Columns.TERMINATEDS].cpu(), np.float32),
                truncateds=np.asarray(module_batch[Columns.TRUNCATEDS].cpu(), np.float32),
                gamma=self.gamma, lambda_=1.0)
            results[module_id] = {Columns.VALUE_TARGETS: returns.astype(np.float32),
                                  Columns.ADVANTAGES: (returns - values).astype(np.float32)}
        return attach_columns(self, rl_module=rl_module, episodes=episodes, batch=batch,
                              results=results, device=device)


class ReinforceConfig(MarlPPOConfig):
    """MarlPPOConfig whose Learner is ``ReinforceLearner``."""

    def get_default_learner_class(self) -> type:
        return ReinforceLearner


class ReinforceLearner(PPOLearner):
    """marl's PPO Learner (time-limit bootstrap, Adam eps, exact passes) with Monte-Carlo
    returns and the REINFORCE loss."""

    @property
    def baseline(self) -> bool:
        return bool(self.config.learner_config_dict.get("reinforce", {}).get("baseline", True))

    def build(self) -> None:
        super().build()  # PPOLearner: bootstrap at time limits, TeamGAE
        pipeline = self._learner_connector
        if pipeline is None or not self.config.add_default_connectors_to_learner_pipeline:
            return
        pipeline.insert_before(TeamGAE, MonteCarloReturns(gamma=self.config.gamma,
                                                          baseline=self.baseline))
        pipeline.remove(TeamGAE)

    def compute_loss_for_module(self, *, module_id: str, config: Any, batch: dict[str, Any],
                                fwd_out: dict[str, Any]) -> torch.Tensor:
        module = cast("ActorCriticModule", self.module[module_id].unwrapped())
        mean, real = row_mean(batch), real_rows(batch)  # bootstrap rows: dropped or masked

        dist = module.get_train_action_dist_cls().from_logits(fwd_out[Columns.ACTION_DIST_INPUTS])
        logp = cast(torch.Tensor, dist.logp(batch[Columns.ACTIONS]))
        policy_loss = mean(reinforce_loss(logp, batch[Columns.ADVANTAGES]))
        entropy = mean(cast(torch.Tensor, dist.entropy()))
        entropy_coeff = float(
            self.entropy_coeff_schedulers_per_module[module_id].get_current_value())
        total = policy_loss - entropy_coeff * entropy
        stats: dict[str, Any] = {POLICY_LOSS_KEY: policy_loss, ENTROPY_KEY: entropy}
        if self.baseline:
            values = module.compute_values(batch)
            targets = batch[Columns.VALUE_TARGETS]
            vf_loss = mean((values - targets) ** 2)
            total = total + config.vf_loss_coeff * vf_loss
            stats[VF_LOSS_KEY] = vf_loss
            stats[LEARNER_RESULTS_VF_EXPLAINED_VAR_KEY] = explained_variance(
                real(targets), real(values))
        self.metrics.log_dict(stats, key=module_id, window=1)
        return total
