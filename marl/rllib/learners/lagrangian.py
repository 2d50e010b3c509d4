"""Lagrangian PPO (ppo) and MAPPO-Lagrangian (ippo, mappo): ``algorithm.constraints``.

The learner is the algorithm's own (``PPOLearner`` or ``MappoTorchLearner``) with
``LagrangianMixin`` in front:

    build                  + AddCosts after AddBootstrapStep, CostGAE after TeamGAE
                           (``marl.rllib.connectors.cost_gae``): the batch's
                           advantages become (A_r - sum lambda A_c) / (1 + sum lambda), so
                           the algorithm's own clipped surrogate optimizes the Lagrangian
    compute_loss_for_module  the algorithm's loss + vf_loss_coeff * sum_k cost value loss
                           (MAPPO's value loss on normalized targets: Huber/MSE and value
                           clip from algorithm.critic for ippo/mappo; MSE, no clip for ppo)
    update_multipliers     lambda_k <- max(0, lambda_k + lr (J_c,k - d_k)) per module,
                           from the iteration's measured episode cost (called by
                           ``marl.rllib.callbacks.costs.CostCallback.on_train_result``)

Logged per module: ``lambda_<cost>`` (the multiplier this update used),
``cost_vf_loss_<cost>``, ``cost_vf_explained_var_<cost>``; flattened to
``train/<policy>/...`` by ``marl.rllib.metrics``. Multipliers live in the module
(``ConstrainedActorCriticModule.multipliers``), so checkpoints carry them.
"""

from __future__ import annotations

from typing import Any, cast

import torch
from ray.rllib.utils.torch_utils import explained_variance

from marl.constraints import Constraint, lagrange_update
from marl.rllib.connectors.bootstrap_step import AddBootstrapStep
from marl.rllib.connectors.cost_gae import (AddCosts, CostGAE, constrained_module,
                                            cost_target_key, cost_vf_preds_key)
from marl.rllib.connectors.team_gae import TeamGAE
from marl.rllib.learners.losses import real_rows, row_mean, value_loss
from marl.rllib.learners.mappo import MappoTorchLearner
from marl.rllib.learners.ppo import PPOLearner

__all__ = ["LagrangianMixin", "LagrangianPPOLearner", "LagrangianMappoLearner",
           "configure_constraints", "constraints_of"]


def constraints_of(config: Any) -> list[Constraint]:
    """The run's constraints, from ``learner_config_dict["constraints"]``."""
    return [Constraint(**c) for c in config.learner_config_dict.get("constraints", [])]


class LagrangianMixin:
    """Cost critics and multipliers on top of a marl PPO learner (see the module doc)."""

    def build(self) -> None:
        super().build()  # type: ignore[misc]
        learner = cast(Any, self)
        pipeline = learner._learner_connector
        if pipeline is None or not learner.config.add_default_connectors_to_learner_pipeline:
            return
        names = [type(c) for c in pipeline.connectors]
        if TeamGAE not in names:
            raise RuntimeError("algorithm.constraints need marl's TeamGAE in the learner "
                               "pipeline; this algorithm replaced it")
        pipeline.insert_after(AddBootstrapStep, AddCosts())
        standardize = {c.cost for c in constraints_of(learner.config)
                       if c.advantage == "standardize"}
        pipeline.insert_after(TeamGAE, CostGAE(gamma=learner.config.gamma,
                                               lambda_=learner.config.lambda_,
                                               standardize=standardize))

    def compute_loss_for_module(self, *, module_id: str, config: Any, batch: dict[str, Any],
                                fwd_out: dict[str, Any]) -> torch.Tensor:
        learner = cast(Any, self)
        total = super().compute_loss_for_module(  # type: ignore[misc]
            module_id=module_id, config=config, batch=batch, fwd_out=fwd_out)
        module = constrained_module(learner.module, module_id)
        if module is None:
            return total
        settings = learner.config.learner_config_dict.get("team_critic")
        mean, real = row_mean(batch), real_rows(batch)  # bootstrap rows: dropped or masked

        stats: dict[str, Any] = {}
        logs = learner.logs_step_stats(module_id)
        predictions = module.compute_cost_values(batch)
        for name, lam in module.lambdas().items():
            values, targets = predictions[name], batch[cost_target_key(name)]
            if settings:  # ippo/mappo: the reward critic's loss settings
                loss = value_loss(values, batch.get(cost_vf_preds_key(name)), targets,
                                  kind=settings.get("vf_loss", "huber"),
                                  delta=settings.get("huber_delta", 10.0),
                                  value_clip=settings.get("value_clip", 0.2))
            else:
                loss = value_loss(values, None, targets, kind="mse", value_clip=None)
            total = total + config.vf_loss_coeff * mean(loss)
            if not logs:
                continue
            stats[f"lambda_{name}"] = lam
            stats[f"cost_vf_loss_{name}"] = mean(loss)
            stats[f"cost_vf_explained_var_{name}"] = explained_variance(real(targets),
                                                                        real(values))
        if logs:
            learner.metrics.log_dict(stats, key=module_id, window=1)
        return total

    def update_multipliers(self, episode_costs: dict[str, dict[str, float]]
                           ) -> dict[str, dict[str, float]]:
        """One dual step per module and cost from the measured mean episode costs.

        Args:
            episode_costs: module id -> cost name -> J_c of this iteration (modules or
                costs without a finished episode are left as they are).

        Returns:
            module id -> cost name -> the new multiplier.
        """
        learner = cast(Any, self)
        by_cost = {c.cost: c for c in constraints_of(learner.config)}
        out: dict[str, dict[str, float]] = {}
        for module_id, costs in episode_costs.items():
            module = constrained_module(learner.module, module_id)
            if module is None:
                continue
            new = {}
            for name, lam in module.lambdas().items():
                if name in costs:
                    c = by_cost[name]
                    new[name] = lagrange_update(lam, costs[name], c.limit, c.lambda_lr)
            module.set_lambdas(new)
            out[module_id] = module.lambdas()
        return out


class LagrangianPPOLearner(LagrangianMixin, PPOLearner):
    """ppo with cost budgets: Lagrangian PPO (Ray et al. 2019)."""


class LagrangianMappoLearner(LagrangianMixin, MappoTorchLearner):
    """ippo/mappo with cost budgets: MAPPO-Lagrangian (Gu et al. 2023)."""


def configure_constraints(config: Any, exp: Any) -> Any:
    """The Lagrangian learner, the constraints in ``learner_config_dict`` and the cost
    callback, for a spec with ``algorithm.constraints`` (config unchanged without)."""
    constraints = exp.spec.algorithm.constraints
    if not constraints:
        return config
    from marl.rllib.callbacks.costs import CostCallback

    learner = LagrangianMappoLearner if exp.algorithm.team_critic else LagrangianPPOLearner
    settings = dict(config.learner_config_dict)
    settings["constraints"] = [c.model_dump() for c in constraints]
    config = config.learners(learner_class=learner).training(learner_config_dict=settings)
    classes = config.callbacks_class
    classes = list(classes) if isinstance(classes, (list, tuple)) else [classes]
    return config.callbacks(callbacks_class=[*classes, CostCallback])
