"""Action distributions of the actor-critic, one per kind of action space.

    Discrete          TorchCategorical over (masked) logits
    Box, clip         TorchDiagGaussian N(mean, exp(log_std)) over R^d
    Box, tanh         TanhGaussian: a = tanh(u), u ~ N(mean, exp(log_std)), a in (-1, 1)^d

Box actions live in RLlib's normalized action space: the env runners (stock module-to-env
pipeline and the lean sampler alike) map an action linearly from [-1, 1] to the space's
[low, high] and clip it there (``normalize_actions=True``, RLlib's
``unsquash_action``) before the env sees it. The batch keeps the distribution's own
sample, so log-probs and entropies are those of the distribution above:

* ``clip``: the Gaussian's, of the unclipped sample (CleanRL's and RLlib's default; the
  clipping is part of the env, not of the policy).
* ``tanh``: change of variables, log p(a) = log N(u) - sum_i log(1 - tanh(u_i)^2) with
  u = atanh(a) (RLlib's ``TorchSquashedGaussian``). Its entropy has no closed form; see
  ``TanhGaussian.entropy``.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import torch
from ray.rllib.core.distribution.distribution import Distribution
from ray.rllib.core.distribution.torch.torch_distribution import (
    TorchCategorical,
    TorchDeterministic,
    TorchDiagGaussian,
    TorchDistribution,
    TorchSquashedGaussian,
)
from torch import nn

__all__ = ["SQUASHES", "TanhGaussian", "action_distribution", "squash"]

SQUASHES = ("clip", "tanh")


class TanhGaussian(TorchSquashedGaussian):
    """tanh-squashed diagonal Gaussian on (-1, 1)^d, inputs ``cat(mean, log_std)``.

    RLlib's ``TorchSquashedGaussian`` (log-prob with the tanh Jacobian, log_std clamped
    to [-5, 2]) with an entropy estimate, the exact KL and a deterministic action
    tanh(mean) (RLlib's returns the pre-squash mean).
    """

    loc: torch.Tensor  # from_logits: the first half of the inputs (RLlib: float | tensor)

    def entropy(self, **kwargs: Any) -> torch.Tensor:
        """One-sample estimate of the entropy of a = tanh(u), per row.

        H[a] = H[u] + E_u[sum_i log(1 - tanh(u_i)^2)] (change of variables; the
        Gaussian entropy H[u] is exact). The expectation is estimated with one
        reparameterized draw u = mean + std * eps per row, so the estimate is unbiased
        and its gradient reaches mean and log_std (as SAC's -log pi(a) of an rsample).
        """
        u = self._dist.rsample()
        # log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u)), stable for large |u|.
        log_det = 2.0 * (math.log(2.0) - u - nn.functional.softplus(-2.0 * u))
        return self._dist.entropy().sum(-1) + log_det.sum(-1)

    def kl(self, other: Distribution, **kwargs: Any) -> torch.Tensor:
        """KL(self || other): that of the two Gaussians (KL is invariant under the
        bijection tanh)."""
        assert isinstance(other, TorchDistribution), "KL to another torch distribution"
        return torch.distributions.kl.kl_divergence(self._dist, other._dist).sum(-1)

    def to_deterministic(self) -> TorchDeterministic:
        return TorchDeterministic(loc=torch.tanh(self.loc))


def action_distribution(space: gym.Space, action_squash: str = "clip") -> type[TorchDistribution]:
    """The distribution class of an action space (``action_squash`` for Box spaces)."""
    if isinstance(space, gym.spaces.Discrete):
        return TorchCategorical
    if isinstance(space, gym.spaces.Box):
        if action_squash not in SQUASHES:
            raise ValueError(f"action_squash must be clip or tanh, not {action_squash!r}")
        return TanhGaussian if action_squash == "tanh" else TorchDiagGaussian
    raise ValueError(f"marl's actor-critic supports Discrete and Box actions, not {space}")


def squash(u: torch.Tensor, action_squash: str) -> torch.Tensor:
    """A Gaussian draw (or mean) as the distribution's action: tanh(u) or u itself."""
    return torch.tanh(u) if action_squash == "tanh" else u
