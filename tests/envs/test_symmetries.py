"""Connect four's left-right mirror, checked on a hand-set position and against the real
env: playing columns a in one game and 6 - a in another gives mirrored boards."""

from __future__ import annotations

import numpy as np

from envs.factory import make_spec_env
from envs.symmetries import mirror_lr

MIRROR = mirror_lr((6, 7, 2), 7)


def test_hand_checked_position() -> None:
    board = np.zeros((6, 7, 2), np.float32)
    board[5, 0, 0] = 1  # my piece, bottom left
    board[5, 1, 1] = 1  # theirs next to it
    board[4, 0, 0] = 1
    mirrored = MIRROR.observation(board.reshape(-1)).reshape(6, 7, 2)
    expected = np.zeros((6, 7, 2), np.float32)
    expected[5, 6, 0] = expected[4, 6, 0] = 1
    expected[5, 5, 1] = 1
    np.testing.assert_array_equal(mirrored, expected)
    mask = np.array([1, 1, 1, 1, 1, 1, 0], np.float32)  # column 6 full
    np.testing.assert_array_equal(MIRROR.mask(mask), [0, 1, 1, 1, 1, 1, 1])
    assert [int(MIRROR.action(a)) for a in range(7)] == [6, 5, 4, 3, 2, 1, 0]
    # twice is the identity
    np.testing.assert_array_equal(MIRROR.observation(MIRROR.observation(np.arange(84))),
                                  np.arange(84))


def test_mirrored_play_gives_mirrored_boards() -> None:
    left, right = (make_spec_env({"id": "competitive/connect_four-v0"}) for _ in range(2))
    left.reset(seed=0)
    right.reset(seed=0)
    for column in [0, 1, 1, 3, 6, 2, 0, 5]:
        for env, action in ((left, column), (right, 6 - column)):
            env.step(action)
        a = left.observe(left.agent_selection)
        b = right.observe(right.agent_selection)
        np.testing.assert_array_equal(MIRROR.observation(a["observations"]), b["observations"])
        np.testing.assert_array_equal(MIRROR.mask(a["action_mask"]), b["action_mask"])
