"""Fixed board features computed inside the network (``policies.model.features``).

``threats`` (connect four: a 6x7 board, plane 0 the pieces of the player to move, plane
1 the opponent's, row 0 the top row, as PettingZoo's ``connect_four_v3`` observes it)
appends three planes to the board, with no learned weights:

    mine      the empty cells where the player to move would complete four in a row
    theirs    the empty cells where the opponent would
    playable  the lowest empty cell of each column (where a piece lands)

Each 4-cell line (horizontal, vertical, both diagonals) is found by a fixed convolution
that counts each side's pieces in it; a line with three of one side's pieces and none of
the other's marks its empty cell (a transposed convolution with the same kernel spreads
the line back to its cells). These are the facts a 1-ply search reads off the board (a
win to take, a win to block, a move that lets the opponent win on the cell above); the
network gets them as input instead of having to discover them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

__all__ = ["FEATURE_PLANES", "ThreatPlanes"]

FEATURE_PLANES = {"threats": 3}
"""Planes each feature set appends to the board."""


def _line_kernels() -> torch.Tensor:
    """(4, 1, 4, 4): horizontal, vertical, diagonal and anti-diagonal 4-cell lines, each
    in the top-left corner of a 4x4 kernel (a line's window is the kernel's extent)."""
    k = torch.zeros(4, 1, 4, 4)
    k[0, 0, 0, :] = 1.0
    k[1, 0, :, 0] = 1.0
    for i in range(4):
        k[2, 0, i, i] = 1.0
        k[3, 0, i, 3 - i] = 1.0
    return k


class ThreatPlanes(nn.Module):
    """(B, 2, H, W) board -> (B, 5, H, W): the board and its ``mine``, ``theirs`` and
    ``playable`` planes (see the module docstring). No parameters: checkpoints hold
    nothing new."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("kernels", _line_kernels(), persistent=False)

    def _wins(self, own: torch.Tensor, other: torch.Tensor,
              empty: torch.Tensor) -> torch.Tensor:
        """Empty cells that complete a line of three ``own`` pieces and no ``other``."""
        kernels: torch.Tensor = self.kernels  # type: ignore[assignment]
        # Pad right and bottom by 3 so every line starting inside the board is counted;
        # lines leaving the board cover padding, which is "other" (never a win).
        h, w = own.shape[-2:]
        own_p = F.pad(own, (0, 3, 0, 3))
        other_p = F.pad(other, (0, 3, 0, 3), value=1.0)
        # Anti-diagonal lines start at the kernel's top-right corner: shift the board
        # right instead, padding the left.
        counts_own = F.conv2d(own_p, kernels[:3])
        counts_other = F.conv2d(other_p, kernels[:3])
        anti_own = F.conv2d(F.pad(own, (3, 0, 0, 3)), kernels[3:])
        anti_other = F.conv2d(F.pad(other, (3, 0, 0, 3), value=1.0), kernels[3:])
        lines = ((counts_own == 3) & (counts_other == 0)).to(own.dtype)
        anti = ((anti_own == 3) & (anti_other == 0)).to(own.dtype)
        # Spread each qualifying line back to its four cells.
        cover = F.conv_transpose2d(lines, kernels[:3])[..., :h, :w]
        cover = cover + F.conv_transpose2d(anti, kernels[3:])[..., :h, 3:3 + w]
        return ((cover > 0) & (empty > 0)).to(own.dtype)

    def forward(self, board: torch.Tensor) -> torch.Tensor:
        mine, theirs = board[:, 0:1], board[:, 1:2]
        empty = 1.0 - mine - theirs
        # A cell is playable if it is empty and the cell below it is filled (or it is
        # on the bottom row).
        filled_below = F.pad(1.0 - empty[..., 1:, :], (0, 0, 0, 1), value=1.0)
        playable = empty * filled_below
        return torch.cat([board, self._wins(mine, theirs, empty),
                          self._wins(theirs, mine, empty), playable], dim=1)
