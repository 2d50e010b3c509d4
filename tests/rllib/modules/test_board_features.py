"""Connect four's ``threats`` planes (``policies.model.features``): a hand-checked
position, agreement with the alpha-beta player's bitboard win detection on random
positions, the module they go into, and the spec's errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from envs import connect_four_opponents as c4
from marl.rllib.modules.board_features import ThreatPlanes


def _planes(board: np.ndarray, mover: int) -> np.ndarray:
    """The 5 planes of a (6, 7) board of 0 / 1 / 2 with ``mover`` to move."""
    obs = np.stack([board == mover, board == 3 - mover], axis=2).astype(np.float32)
    return ThreatPlanes()(torch.tensor(obs).permute(2, 0, 1)[None])[0].numpy()


def _cells(plane: np.ndarray) -> set[tuple[int, int]]:
    return {(int(r), int(c)) for r, c in zip(*np.nonzero(plane))}


def test_hand_checked_position() -> None:
    # Row 0 is the top row. Player 1 to move (4 pieces each).
    board = np.zeros((6, 7), int)
    board[5, 0:3] = 1     # 1: three in the bottom row, (5, 3) completes it
    board[5, 6] = 2
    board[4, 6] = 2
    board[3, 6] = 2       # 2: three up column 6, (2, 6) completes it
    board[4, 0] = 1       # 1's anti-diagonal (4,0)... needs (3,1), (2,2): not three
    board[5, 4] = 2       # 2 at (5, 4): 1's bottom row (5,1)-(5,4) line is blocked,
                          # (5, 0)-(5, 3) is the only open one
    planes = _planes(board, mover=1)
    assert _cells(planes[2]) == {(5, 3)}          # where 1 (to move) wins
    assert _cells(planes[3]) == {(2, 6)}          # where 2 wins
    # Playable: the lowest empty cell of each column.
    assert _cells(planes[4]) == {(3, 0), (4, 1), (4, 2), (5, 3), (4, 4), (5, 5), (2, 6)}
    np.testing.assert_array_equal(planes[0], board == 1)
    np.testing.assert_array_equal(planes[1], board == 2)
    # The other side to move: mine and theirs swap.
    swapped = _planes(board, mover=2)
    assert _cells(swapped[2]) == {(2, 6)} and _cells(swapped[3]) == {(5, 3)}


def test_a_diagonal_win_cell_above_the_playable_row() -> None:
    board = np.zeros((6, 7), int)
    board[5, 0], board[4, 1], board[3, 2] = 2, 2, 2        # 2's diagonal up-right
    board[5, 1], board[5, 2], board[4, 2] = 1, 1, 1
    board[5, 3], board[4, 3] = 1, 2
    planes = _planes(board, mover=1)
    assert (2, 3) in _cells(planes[3])       # completes 2's diagonal, not yet playable
    assert (2, 3) not in _cells(planes[4]) and (3, 3) in _cells(planes[4])


def test_planes_match_the_bitboard_win_cells_on_random_positions() -> None:
    rng = np.random.default_rng(0)
    bits = c4._CELL_BITS.reshape(6, 7)
    nonzero = 0
    for _ in range(300):
        board, heights, mover = np.zeros((6, 7), int), [0] * 7, 1
        for _ in range(int(rng.integers(0, 36))):
            col = int(rng.choice([c for c in range(7) if heights[c] < 6]))
            board[5 - heights[col], col] = mover
            heights[col] += 1
            mover = 3 - mover
        obs = np.stack([board == mover, board == 3 - mover], axis=2).astype(np.int8)
        me, mask = c4._bitboards({"observation": obs})
        expected = (c4._winning_cells(me, mask), c4._winning_cells(mask ^ me, mask),
                    (mask + c4._BOTTOM_ALL) & c4._BOARD)
        planes = _planes(board, mover)
        for plane, ref in zip(planes[2:], expected):
            assert sum(int(bits[r, c]) for r, c in _cells(plane)) == ref
            nonzero += ref != 0
    assert nonzero > 300  # the positions do hold threats


def test_module_adds_the_planes_before_the_first_conv_and_no_weights() -> None:
    import gymnasium as gym
    from ray.rllib.core.columns import Columns
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    from marl.rllib.modules.actor_critic import ActorCriticModule

    def build(features: str) -> ActorCriticModule:
        space = gym.spaces.Box(0.0, 1.0, (84,), np.float32)
        return RLModuleSpec(module_class=ActorCriticModule, observation_space=space,
                            action_space=gym.spaces.Discrete(7),
                            model_config={"encoder": "cnn", "hidden": [16], "board": [6, 7, 2],
                                          "conv": [[8, 3]], "features": features,
                                          "value_normalization": False}).build()

    module, plain = build("threats"), build("none")
    assert isinstance(module.pi[1], ThreatPlanes) and isinstance(module.critic[1], ThreatPlanes)
    assert module.pi[2].in_channels == 5 and plain.pi[1].in_channels == 2
    n_params = sum(p.numel() for p in module.parameters())
    assert n_params - sum(p.numel() for p in plain.parameters()) == 2 * 3 * 8 * 9  # conv in
    assert not any("kernels" in k for k in module.state_dict())
    out = module.forward_train({Columns.OBS: torch.zeros(3, 84)})[Columns.ACTION_DIST_INPUTS]
    assert out.shape == (3, 7)


def test_spec_refuses_features_without_a_cnn_or_on_an_env_without_them() -> None:
    from marl.errors import SpecError
    from marl.experiment import resolve
    from marl.rllib.modules.specs import actor_critic_config
    from marl.spec import spec_from_dict

    with pytest.raises(SpecError, match="features: threats are board planes for the cnn"):
        spec_from_dict({"name": "x", "env": {"id": "competitive/connect_four-v0"},
                        "policies": {"model": {"encoder": "mlp", "features": "threats"}}})
    with pytest.raises(SpecError, match="not offered by competitive/tictactoe-v0"):
        resolve(spec_from_dict({"name": "x", "env": {"id": "competitive/tictactoe-v0"},
                                "policies": {"model": {"encoder": "cnn", "features": "threats"}}}))
    exp = resolve(spec_from_dict({"name": "x", "env": {"id": "competitive/connect_four-v0"},
                                  "policies": {"model": {"encoder": "cnn",
                                                         "features": "threats"}}}))
    assert actor_critic_config(exp, "shared")["features"] == "threats"
