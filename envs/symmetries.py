"""Symmetries of a game: transformations of (observation, action mask, action) that map
a position onto an equivalent one. Pure numpy index tables, usable on torch tensors.

    mirror_lr   a board (H, W, C) flipped left-right, columns' actions reversed
                (connect four: column a <-> 6 - a)

A symmetry here is declared by the env's registry entry (``EnvEntry.symmetry``); the
learner uses it to augment its batches (``algorithm.symmetry_augmentation``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Mirror", "mirror_lr"]


@dataclass(frozen=True)
class Mirror:
    """Index tables of one symmetry: ``obs[..., obs_index]``, ``mask[..., action_index]``
    and ``action_index[action]`` give the transformed observation, mask and action."""

    obs_index: np.ndarray
    action_index: np.ndarray

    def observation(self, obs):
        return obs[..., self.obs_index]

    def mask(self, mask):
        return mask[..., self.action_index]

    def action(self, action):
        return self.action_index[action]


def mirror_lr(board: tuple[int, int, int], num_actions: int) -> Mirror:
    """Left-right mirror of a flat row-major (H, W, C) board with one action per column.

    Flat index of (h, w, c) is (h * W + w) * C + c; its mirror is (h, W - 1 - w, c).
    """
    h, w, c = board
    if num_actions != w:
        raise ValueError(f"mirror_lr needs one action per column ({w}), got {num_actions}")
    grid = np.arange(h * w * c).reshape(h, w, c)
    return Mirror(obs_index=grid[:, ::-1, :].reshape(-1).copy(),
                  action_index=np.arange(w)[::-1].copy())
