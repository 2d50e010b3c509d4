"""Constrained MARL, the maths (plain Python, no Ray): Lagrange multipliers and the
combined advantage of Lagrangian PPO / MAPPO-Lagrangian.

A constrained MDP asks for   max_pi J_r(pi)   subject to   J_c,k(pi) <= d_k   for every
cost k, J_c,k being the expected episode cost. Lagrangian relaxation turns it into the
saddle point  min_{lambda >= 0} max_pi  J_r - sum_k lambda_k (J_c,k - d_k),  solved by
alternating (Ray, Achiam & Amodei 2019, "Benchmarking Safe Exploration in Deep RL";
for teams Gu et al. 2023, "Safe multi-agent reinforcement learning for multi-robot
control", MAPPO-Lagrangian):

    policy:      PPO's clipped surrogate on the combined advantage
                     A = (A_r - sum_k lambda_k A_c,k) / (1 + sum_k lambda_k)
                 A_r standardized (mean 0, std 1), A_c,k centered only (mean 0), as in
                 OpenAI's safety-starter-agents, or standardized too (``advantage:
                 standardize``, OmniSafe's default); dividing by 1 + sum lambda keeps the
                 step size bounded as the multipliers grow.
    multiplier:  projected gradient ascent on the dual, once per training iteration,
                 from the measured mean episode cost J_c,k of that iteration:
                     lambda_k <- max(0, lambda_k + lr_lambda * (J_c,k - d_k))
                 It rises while the cost is over its limit and falls (to 0) below it.

``J_c`` is the mean over (episode, agent) pairs of the agent's summed episode cost:
a per-agent budget. With a shared policy the one multiplier sees all agents; a mappo
policy is one team's, so its multiplier is the team's (MAPPO-L).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["COST_PREFIX", "Constraint", "cost_key", "lagrange_update", "combine_advantages",
           "mean_episode_cost"]

COST_PREFIX = "cost_"
"""An env (or ``envs.wrappers.costs``) reports cost ``name`` of a step as the float
``infos[agent]["cost_<name>"]``."""


def cost_key(name: str) -> str:
    """The info key of cost ``name``: ``cost_<name>``."""
    return f"{COST_PREFIX}{name}"


@dataclass(frozen=True)
class Constraint:
    """One cost budget, as the spec's ``algorithm.constraints`` entry gives it.

    Attributes:
        cost: the cost's name (``infos[agent]["cost_<cost>"]``).
        limit: d, the budget on the mean per-agent episode cost.
        lambda_lr: step size of the multiplier's update.
        lambda_init: the multiplier before the first update.
        advantage: "center" (A_c minus its mean) or "standardize" (also divided by its
            std, as A_r is).
    """

    cost: str
    limit: float
    lambda_lr: float = 0.05
    lambda_init: float = 0.0
    advantage: str = "center"


def lagrange_update(lam: float, episode_cost: float, limit: float, lr: float) -> float:
    """One dual step: ``max(0, lam + lr * (episode_cost - limit))``.

    Raises:
        ValueError: a non-finite cost (a NaN would poison the multiplier for good).
    """
    if not math.isfinite(episode_cost):
        raise ValueError(f"lagrange_update: the measured episode cost is {episode_cost}")
    return max(0.0, lam + lr * (episode_cost - limit))


def combine_advantages(reward_adv: Sequence[float], cost_advs: Sequence[Sequence[float]],
                       lambdas: Sequence[float]) -> list[float]:
    """``(A_r - sum_k lambda_k A_c,k) / (1 + sum_k lambda_k)`` row by row (the reference
    version of what the learner computes on tensors; advantages already standardized
    or centered by the caller)."""
    if len(cost_advs) != len(lambdas):
        raise ValueError(f"{len(cost_advs)} cost advantages for {len(lambdas)} multipliers")
    scale = 1.0 + sum(lambdas)
    return [(a - sum(lam * c[i] for lam, c in zip(lambdas, cost_advs))) / scale
            for i, a in enumerate(reward_adv)]


def mean_episode_cost(totals: Mapping[str, float], counts: Mapping[str, float]) -> dict[str, float]:
    """Cost name -> mean per-agent episode cost, from summed agent-episode costs and the
    number of agent-episodes; names without a finished episode are left out."""
    return {name: float(total) / float(counts[name]) for name, total in totals.items()
            if counts.get(name, 0) > 0}
