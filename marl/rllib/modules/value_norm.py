"""Running normalization of value targets (MAPPO's ``ValueNorm``, Yu et al. 2021).

Debiased exponential moving averages of the first two moments, updated per element:
a batch of n targets x moves the averages by weight w = beta**n,

    m1 <- w m1 + (1 - w) mean(x)        m2 <- w m2 + (1 - w) mean(x^2)
    d  <- w d  + (1 - w)                (debiasing term, as in Adam)
    mu = m1 / d,   sigma^2 = max(m2 / d - mu^2, min_var)

    normalize(v)   = (v - mu) / sigma
    denormalize(y) = y * sigma + mu

The critic predicts normalized values; GAE runs on denormalized ones. The moments are
torch buffers, so they are part of the module's state: checkpointed with the critic and
restored on resume, and (being learner-only) never sent to env runners.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ValueNorm"]


class ValueNorm(nn.Module):
    """Running mean/std of value targets.

    Args:
        beta: per-element EMA decay (MAPPO: 0.99999).
        min_var: floor of the variance, so near-constant targets do not blow up.
    """

    # Registered buffers (``register_buffer`` in __init__); declared here so their type is
    # Tensor rather than what ``nn.Module.__getattr__`` reports.
    m1: torch.Tensor
    m2: torch.Tensor
    debias: torch.Tensor

    def __init__(self, beta: float = 0.99999, min_var: float = 1e-2):
        super().__init__()
        self.beta = beta
        self.min_var = min_var
        self.register_buffer("m1", torch.zeros((), dtype=torch.float64))
        self.register_buffer("m2", torch.zeros((), dtype=torch.float64))
        self.register_buffer("debias", torch.zeros((), dtype=torch.float64))

    @torch.no_grad()
    def update(self, x: torch.Tensor) -> None:
        """Fold a batch of targets into the running moments.

        With several learners (DDP) the batch moments are summed over all of them first,
        so every replica keeps the same statistics.
        """
        x = x.detach().reshape(-1).to(torch.float64)
        sums = torch.stack([torch.tensor(float(x.numel()), dtype=torch.float64, device=x.device),
                            x.sum(), (x * x).sum()])
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.all_reduce(sums)
        n, s1, s2 = sums.to(self.m1.device)
        if n == 0:
            return
        w = torch.tensor(self.beta, dtype=torch.float64, device=self.m1.device) ** n
        self.m1.mul_(w).add_((1 - w) * s1 / n)
        self.m2.mul_(w).add_((1 - w) * s2 / n)
        self.debias.mul_(w).add_(1 - w)

    def mean_std(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Debiased (mu, sigma); (0, 1) before the first update."""
        if float(self.debias) == 0.0:
            one = torch.ones((), dtype=torch.float64, device=self.m1.device)
            return one * 0.0, one
        mean = self.m1 / self.debias
        var = torch.clamp(self.m2 / self.debias - mean * mean, min=self.min_var)
        return mean, torch.sqrt(var)

    def normalize(self, v: torch.Tensor) -> torch.Tensor:
        mean, std = self.mean_std()
        return ((v.to(torch.float64) - mean) / std).to(v.dtype)

    def denormalize(self, y: torch.Tensor) -> torch.Tensor:
        mean, std = self.mean_std()
        return (y.to(torch.float64) * std + mean).to(y.dtype)
