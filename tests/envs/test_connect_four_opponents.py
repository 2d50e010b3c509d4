"""Tests for the scripted connect-four opponents in ``envs.connect_four_opponents``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pettingzoo.classic import connect_four_v3

from envs.connect_four_opponents import ScriptedPolicy, alphabeta_action, random_action


def _obs(mine: list[tuple[int, int]], theirs: list[tuple[int, int]]) -> dict[str, Any]:
    """Builds a ``connect_four_v3`` observation from (column, height-from-bottom) cells."""
    board = np.zeros((6, 7, 2), dtype=np.int8)
    for plane, cells in ((0, mine), (1, theirs)):
        for col, h in cells:
            board[5 - h, col, plane] = 1
    mask = (board[0].sum(axis=1) == 0).astype(np.int8)
    return {"observation": board, "action_mask": mask}


def _play(p0: ScriptedPolicy, p1: ScriptedPolicy, seed: int = 0) -> float:
    """Plays one game in the real env; returns player_0's reward. Checks every move is legal."""
    env = connect_four_v3.env()
    env.reset(seed=seed)
    policies = {"player_0": p0, "player_1": p1}
    for agent in env.agent_iter():
        obs, _, term, trunc, _ = env.last()
        if term or trunc:
            result = env.rewards["player_0"]
            env.close()
            return result
        action = policies[agent].act(obs)
        assert obs["action_mask"][action] == 1, f"{policies[agent]} played illegal {action}"
        env.step(action)
    raise AssertionError("game did not end")


def _wins(strong: ScriptedPolicy, weak: ScriptedPolicy, games: int) -> int:
    """Games ``strong`` wins, alternating seats (even games as player_0)."""
    wins = 0
    for g in range(games):
        if g % 2 == 0:
            wins += _play(strong, weak, seed=g) == 1
        else:
            wins += _play(weak, strong, seed=g) == -1
    return wins


@pytest.mark.parametrize("depth", [1, 2, 4])
@pytest.mark.parametrize("seed", [None, 0])
def test_takes_immediate_win_over_block(depth: int, seed: int | None) -> None:
    # Mover has three stacked in column 6; opponent three stacked in column 0.
    obs = _obs(mine=[(6, 0), (6, 1), (6, 2)], theirs=[(0, 0), (0, 1), (0, 2)])
    rng = None if seed is None else np.random.default_rng(seed)
    assert alphabeta_action(obs, depth, rng) == 6


@pytest.mark.parametrize("depth", [2, 3, 4])
@pytest.mark.parametrize("seed", [None, 0, 1])
def test_blocks_immediate_loss(depth: int, seed: int | None) -> None:
    # Opponent threatens the bottom row at column 1 (0, _, 2, 3); mover cannot win now.
    obs = _obs(mine=[(6, 0), (6, 1), (5, 0)], theirs=[(0, 0), (2, 0), (3, 0)])
    rng = None if seed is None else np.random.default_rng(seed)
    assert alphabeta_action(obs, depth, rng) == 1


def test_blocks_vertical_threat() -> None:
    obs = _obs(mine=[(6, 0), (4, 0), (2, 0)], theirs=[(0, 0), (0, 1), (0, 2)])
    assert alphabeta_action(obs, 2) == 0
    assert alphabeta_action(obs, 4) == 0


@pytest.mark.parametrize("seed", [None, 0])
def test_deeper_search_finds_double_threat(seed: int | None) -> None:
    # Bottom row: them, _, me, me, _, _, them. Column 4 makes _XXX_ (two threats at once);
    # seeing that it wins needs 3 plies, so depth 2 plays elsewhere.
    obs = _obs(mine=[(2, 0), (3, 0)], theirs=[(0, 0), (6, 0)])
    rng = None if seed is None else np.random.default_rng(seed)
    assert alphabeta_action(obs, 3, rng) == 4
    assert alphabeta_action(obs, 4, rng) == 4
    assert alphabeta_action(obs, 2, rng) != 4


def test_respects_action_mask_and_full_columns() -> None:
    # Column 3 full; mask additionally forbids column 2.
    full = [(3, h) for h in range(0, 6, 2)]
    obs = _obs(mine=full, theirs=[(3, h) for h in range(1, 6, 2)])
    assert obs["action_mask"][3] == 0
    obs["action_mask"][2] = 0
    for depth in (1, 2, 4):
        assert alphabeta_action(obs, depth) not in (2, 3)
    rng = np.random.default_rng(0)
    picks = {random_action(obs, rng) for _ in range(200)}
    assert picks == {0, 1, 4, 5, 6}
    obs["action_mask"][:] = 0
    with pytest.raises(ValueError, match="no legal move"):
        alphabeta_action(obs, 2)


def test_deterministic_tie_break_prefers_centre() -> None:
    empty = _obs([], [])
    assert alphabeta_action(empty, 1) == 3
    assert alphabeta_action(empty, 4) == 3


def test_rng_breaks_ties_randomly() -> None:
    # An opening where columns 0 and 6 (and 1 and 5, ...) are mirror images.
    empty = _obs([], [])
    empty["action_mask"][2:5] = 0
    rng = np.random.default_rng(0)
    # Single pieces score nothing, so at depth 2 every legal column ties.
    picks = {alphabeta_action(empty, 2, rng) for _ in range(40)}
    assert picks == {0, 1, 5, 6}
    assert alphabeta_action(empty, 2) == 1  # deterministic: nearest the centre, left first


def test_never_plays_illegal_move_in_full_games() -> None:
    # _play asserts each action against the mask; long random games fill columns.
    for g in range(6):
        _play(ScriptedPolicy("random", seed=g), ScriptedPolicy("alphabeta", 1 + g % 3, seed=g), g)
        _play(ScriptedPolicy("alphabeta", 1 + g % 3), ScriptedPolicy("random", seed=g + 100), g)


def test_depth2_beats_random_from_both_seats() -> None:
    strong = ScriptedPolicy("alphabeta", depth=2, seed=0)
    as_first = sum(_play(strong, ScriptedPolicy("random", seed=s), seed=s) == 1 for s in range(25))
    as_second = sum(
        _play(ScriptedPolicy("random", seed=s), strong, seed=s) == -1 for s in range(25, 50)
    )
    assert as_first + as_second >= 45, (as_first, as_second)
    assert min(as_first, as_second) >= 20, (as_first, as_second)


def test_depth4_beats_depth1() -> None:
    wins = _wins(ScriptedPolicy("alphabeta", 4, seed=1), ScriptedPolicy("alphabeta", 1, seed=2), 10)
    assert wins >= 8, wins


def test_scripted_policy_validation_and_reproducibility() -> None:
    with pytest.raises(ValueError, match="unknown kind"):
        ScriptedPolicy("minimax", depth=2)
    with pytest.raises(ValueError, match="depth"):
        ScriptedPolicy("alphabeta")
    obs = _obs([(3, 0)], [(3, 1)])
    a = [ScriptedPolicy("random", seed=7).act(obs) for _ in range(3)]
    b = [ScriptedPolicy("random", seed=8).act(obs) for _ in range(3)]
    seq_a = [p.act(obs) for p in [ScriptedPolicy("random", seed=7)] for _ in range(20)]
    seq_b = [p.act(obs) for p in [ScriptedPolicy("random", seed=7)] for _ in range(20)]
    assert a == [a[0]] * 3 and b == [b[0]] * 3  # same seed, same first move
    assert seq_a == seq_b and len(set(seq_a)) > 1
    det = ScriptedPolicy("alphabeta", depth=3)
    assert len({det.act(obs) for _ in range(5)}) == 1
