"""The two halves of the PPO/MAPPO loss, per row (plain torch; masking by the caller).

    policy:  -min(A r, A clip(r, 1 - eps, 1 + eps)),  r = exp(logp_new - logp_old)
    value:   max(L(target - v), L(target - v_clip)),  v_clip = v_old + clip(v - v_old, +-c)
             L = Huber_delta or squared error; targets and values in normalized units

``row_mean`` averages a per-row term over the rows the loss counts: every row of a
minibatch once the bootstrap rows are gone (``PPOLearner``, ``drop_bootstrap_rows``),
else the rows of its ``loss_mask``.

The value clip (Schulman et al.'s PPO2, MAPPO's ``use_clipped_value_loss``) keeps the
critic from moving far from its values at sampling time; ``value_clip=None`` disables it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from ray.rllib.core.columns import Columns

__all__ = ["clipped_surrogate_loss", "real_rows", "row_mean", "value_loss"]


def real_rows(batch: Any) -> Callable[[torch.Tensor], torch.Tensor]:
    """Selects the rows the loss counts from a per-row tensor: all of them, or those of
    the minibatch's ``loss_mask`` where it has one."""
    mask = batch.get(Columns.LOSS_MASK)
    if mask is None:
        return lambda x: x
    return lambda x: x[mask]


def row_mean(batch: Any) -> Callable[[torch.Tensor], torch.Tensor]:
    """The mean of a per-row term over the minibatch's counted rows: all of them, or
    those of its ``loss_mask`` where it has one (RLlib's ``possibly_masked_mean``)."""
    mask = batch.get(Columns.LOSS_MASK)
    if mask is None:
        return torch.mean
    count = torch.sum(mask)
    return lambda x: torch.sum(x[mask]) / count


def clipped_surrogate_loss(logp: torch.Tensor, old_logp: torch.Tensor,
                           advantages: torch.Tensor, clip: float) -> torch.Tensor:
    """Negated PPO clipped surrogate objective, per row."""
    ratio = torch.exp(logp - old_logp)
    return -torch.min(advantages * ratio, advantages * torch.clamp(ratio, 1 - clip, 1 + clip))


def value_loss(values: torch.Tensor, old_values: torch.Tensor | None, targets: torch.Tensor,
               *, kind: str = "huber", delta: float = 10.0,
               value_clip: float | None = 0.2) -> torch.Tensor:
    """Per-row value loss (pessimistic max over clipped/unclipped when clipping).

    Args:
        values: the critic's current (normalized) predictions.
        old_values: its predictions at sampling time; needed when ``value_clip`` is set.
        targets: (normalized) value targets.
        kind: ``huber`` (0.5 e^2 below ``delta``, linear above) or ``mse`` (e^2).
    """

    def elementwise(pred: torch.Tensor) -> torch.Tensor:
        if kind == "huber":
            return F.huber_loss(pred, targets, reduction="none", delta=delta)
        return (pred - targets) ** 2

    loss = elementwise(values)
    if value_clip is not None:
        if old_values is None:
            raise ValueError("value_loss: value_clip is set but old_values is None; pass the "
                             "critic's predictions at sampling time or set value_clip=None")
        clipped = old_values + torch.clamp(values - old_values, -value_clip, value_clip)
        loss = torch.max(loss, elementwise(clipped))
    return loss
