"""The league's scripted players: deterministic ties by default, random ties on request."""

from __future__ import annotations

import numpy as np
from ray.rllib.core.columns import Columns

from envs.connect_four_opponents import alphabeta_action
from marl.rllib.modules.scripted import AlphaBetaModule


def _tied_position() -> tuple[np.ndarray, np.ndarray]:
    """A reachable board on which depth-2 search has several equal-valued moves."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        board = np.zeros((6, 7, 2), dtype=np.int8)
        heights = [0] * 7
        for ply in range(int(rng.integers(2, 8))):
            col = int(rng.choice([c for c in range(7) if heights[c] < 6]))
            board[5 - heights[col], col, ply % 2] = 1
            heights[col] += 1
        if (int(board.sum()) % 2) == 1:  # the mover's pieces in plane 0
            board = board[:, :, ::-1].copy()
        mask = np.array([h < 6 for h in heights], dtype=np.int8)
        obs = {"observation": board, "action_mask": mask}
        moves = {alphabeta_action(obs, 2, np.random.default_rng(s)) for s in range(30)}
        if len(moves) > 1:
            return board, mask
    raise AssertionError("no tied position found")


def _actions(ties: str | None) -> set[int]:
    board, mask = _tied_position()
    config = {"depth": 2} if ties is None else {"depth": 2, "ties": ties, "seed": 3}
    module = AlphaBetaModule(model_config=config)
    batch = {Columns.OBS: {"observations": np.repeat(board.reshape(1, -1), 40, axis=0),
                           "action_mask": np.repeat(mask[None], 40, axis=0)}}
    return set(module._forward(batch)[Columns.ACTIONS].tolist())


def test_scripted_ties_centre_is_one_line_random_varies() -> None:
    assert len(_actions(None)) == 1
    assert len(_actions("centre")) == 1
    assert len(_actions("random")) > 1
