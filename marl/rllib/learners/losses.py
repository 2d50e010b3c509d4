"""The two halves of the PPO/MAPPO loss, per row (plain torch; masking by the caller).

    policy:  -min(A r, A clip(r, 1 - eps, 1 + eps)),  r = exp(logp_new - logp_old)
    value:   max(L(target - v), L(target - v_clip)),  v_clip = v_old + clip(v - v_old, +-c)
             L = Huber_delta or squared error; targets and values in normalized units

The value clip (Schulman et al.'s PPO2, MAPPO's ``use_clipped_value_loss``) keeps the
critic from moving far from its values at sampling time; ``value_clip=None`` disables it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["clipped_surrogate_loss", "value_loss"]


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
