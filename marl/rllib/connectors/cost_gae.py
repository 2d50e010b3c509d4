"""Learner connector pieces of constrained training: cost columns and cost GAE.

Learner pipeline with ``algorithm.constraints`` (``learners/lagrangian.py``)::

    ... AddBootstrapStep                (+ bootstrap step per episode chunk)
    AddCosts                        infos[t+1]["cost_<k>"] -> column cost_<k> of row t
    ... RLlib defaults, TeamGAE     reward advantages (standardized), value targets
    CostGAE                         per cost k: GAE on the cost critic, then
                                    advantages <- (A_r - sum_k lambda_k A_c,k) / (1 + sum lambda)

Cost GAE is the reward's (RLlib's ``compute_value_targets``, same gamma and lambda,
same terminated/truncated flags: time limits bootstrap V_c(s_T) as for rewards) with
the per-step cost in place of the reward. The cost critic fits targets normalized by
its own ValueNorm; its advantages are centered, not scaled (safety-starter-agents), or
standardized where the constraint says ``advantage: standardize`` (OmniSafe).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.core.columns import Columns

from marl.constraints import cost_key
from marl.rllib.connectors.team_gae import _numpy, team_critic_module

__all__ = ["AddCosts", "CostGAE", "constrained_module", "cost_gae", "cost_target_key",
           "cost_vf_preds_key"]


def cost_target_key(name: str) -> str:
    """Column of cost ``name``'s (normalized) value targets."""
    return f"cost_value_targets_{name}"


def cost_vf_preds_key(name: str) -> str:
    """Column of cost ``name``'s (normalized) values at sampling time."""
    return f"cost_vf_preds_{name}"


def constrained_module(rl_module: Any, module_id: str | None) -> Any | None:
    """The module if it has cost critics (``ConstrainedActorCriticModule``), else None."""
    module = team_critic_module(rl_module, module_id)
    return module if module is not None and getattr(module, "cost_names", None) else None


def cost_gae(values: np.ndarray, costs: np.ndarray, terminateds: np.ndarray,
             truncateds: np.ndarray, valid: np.ndarray, *, gamma: float,
             lambda_: float, standardize: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Cost value targets and centered (or standardized) cost advantages of one module's
    rows.

    Args:
        values: V_c per row in cost units (bootstrap rows included).
        costs: per-step cost per row (0 on bootstrap rows).
        terminateds, truncateds: the rows' flags as the reward GAE gets them.
        valid: the loss mask (False on bootstrap rows); centering uses these rows.
        standardize: also divide by the std over valid rows (+ 1e-8).

    Returns:
        (targets, advantages): GAE(lambda) targets, and ``targets - values`` minus its
        mean over valid rows (divided by its std when ``standardize``).
    """
    from ray.rllib.utils.postprocessing.value_predictions import compute_value_targets

    targets = compute_value_targets(values=values, rewards=costs, terminateds=terminateds,
                                    truncateds=truncateds, gamma=gamma, lambda_=lambda_)
    adv = targets - values
    if valid.any():
        adv = adv - adv[valid].mean()
        if standardize:
            adv = adv / (adv[valid].std() + 1e-8)
    return targets, adv


class AddCosts(ConnectorV2):
    """Column ``cost_<k>``: row t of an agent's chunk = the cost of its step t.

    The cost of the action taken on observation t arrives in the infos returned with
    observation t + 1, so row t reads ``infos[t + 1]``; the appended bootstrap row (the
    last) gets 0, as its reward does.
    """

    def __call__(self, *, rl_module: Any, batch: dict[str, Any], episodes: list[Any],
                 **kwargs: Any) -> Any:
        for sa_episode in self.single_agent_episode_iterator(episodes,
                                                              agents_that_stepped_only=False):
            module = constrained_module(rl_module, sa_episode.module_id)
            if module is None:
                continue
            n = len(sa_episode)  # rows, the bootstrap row included
            infos = sa_episode.get_infos(slice(1, n)) if n > 1 else []
            for name in module.cost_names:
                key = cost_key(name)
                try:
                    rows = [float(info[key]) for info in infos] + [0.0]
                except KeyError:
                    raise RuntimeError(
                        f"agent {sa_episode.agent_id!r}: no {key!r} in its infos; the env "
                        f"must report it on every step (see envs/wrappers/costs.py)") from None
                self.add_n_batch_items(batch, key, np.asarray(rows, np.float32), n, sa_episode)
        return batch


class CostGAE(ConnectorV2):
    """Cost GAE per constraint and the Lagrangian combined advantage (after TeamGAE).
    ``standardize``: the costs whose advantage is standardized (``advantage:
    standardize``); the others' are centered."""

    def __init__(self, input_observation_space=None, input_action_space=None, *,
                 gamma: float, lambda_: float, standardize: set[str] | None = None):
        super().__init__(input_observation_space, input_action_space)
        self.gamma = gamma
        self.lambda_ = lambda_
        self.standardize = set(standardize or ())

    def __call__(self, *, rl_module: Any, episodes: list[Any], batch: dict[str, Any],
                 **kwargs: Any) -> Any:
        for module_id, rows in batch.items():
            module = constrained_module(rl_module, module_id)
            if module is None:
                continue
            reward_adv = rows[Columns.ADVANTAGES]  # standardized by TeamGAE
            device = reward_adv.device
            valid = _numpy(rows[Columns.LOSS_MASK]).astype(bool)
            terminateds = _numpy(rows[Columns.TERMINATEDS])
            truncateds = _numpy(rows[Columns.TRUNCATEDS])
            with torch.no_grad():
                predictions = module.compute_cost_values(rows)
            lambdas = module.lambdas()
            penalty = torch.zeros_like(reward_adv)
            for name in module.cost_names:
                norm = module.cost_norms[name]
                with torch.no_grad():
                    values = _numpy(norm.denormalize(predictions[name]))
                targets, adv = cost_gae(values, _numpy(rows[cost_key(name)]), terminateds,
                                        truncateds, valid, gamma=self.gamma,
                                        lambda_=self.lambda_,
                                        standardize=name in self.standardize)
                norm.update(torch.as_tensor(targets[valid], device=device))
                with torch.no_grad():
                    normalized = norm.normalize(torch.as_tensor(targets, device=device))
                rows[cost_target_key(name)] = normalized.float()
                rows[cost_vf_preds_key(name)] = predictions[name].detach().float()
                penalty = penalty + lambdas[name] * torch.as_tensor(
                    adv, dtype=reward_adv.dtype, device=device)
            # A = (A_r - sum_k lambda_k A_c,k) / (1 + sum_k lambda_k)   (marl.constraints)
            rows[Columns.ADVANTAGES] = (reward_adv - penalty) / (1.0 + sum(lambdas.values()))
        return batch
