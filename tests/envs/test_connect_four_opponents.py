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


# --- A plain reference search (no pruning, no table, no bitboards) -------------------
# Written from the documented rules only, on column stacks: cols[c] lists the pieces of
# column c from the bottom, 0 = the player to move at the root, 1 = the other.

_WIN = 1_000_000
_CENTRE_FIRST = (3, 2, 4, 1, 5, 0, 6)
_LINES = [
    [(c + k * dc, h + k * dh) for k in range(4)]
    for c in range(7)
    for h in range(6)
    for dc, dh in ((1, 0), (0, 1), (1, 1), (1, -1))
    if 0 <= c + 3 * dc < 7 and 0 <= h + 3 * dh < 6
]
assert len(_LINES) == 69


def _at(cols: list[list[int]], c: int, h: int) -> int | None:
    return cols[c][h] if h < len(cols[c]) else None


def _ref_eval(cols: list[list[int]], p: int) -> int:
    """+5 per open three, +2 per open two, +3 per centre piece, minus the same for 1 - p."""
    score = 3 * (cols[3].count(p) - cols[3].count(1 - p))
    for line in _LINES:
        cells = [_at(cols, c, h) for c, h in line]
        mine, theirs = cells.count(p), cells.count(1 - p)
        if mine and not theirs:
            score += {2: 2, 3: 5}.get(mine, 0)
        elif theirs and not mine:
            score -= {2: 2, 3: 5}.get(theirs, 0)
    return score


def _ref_wins(cols: list[list[int]], p: int, c: int) -> bool:
    """Whether ``p`` dropping a piece in column ``c`` makes four in a line."""
    after = [col + [p] if i == c else col for i, col in enumerate(cols)]
    h = len(cols[c])
    return any(
        all(_at(after, cc, hh) == p for cc, hh in line) for line in _LINES if (c, h) in line
    )


def _drop(cols: list[list[int]], c: int, p: int) -> list[list[int]]:
    return [col + [p] if i == c else col for i, col in enumerate(cols)]


def _ref_value(cols: list[list[int]], p: int, depth: int) -> int:
    """Plain negamax value for ``p`` to move: full board 0, a win now ``_WIN + depth``,
    the static value at depth 1, else the best child negated."""
    moves = [c for c in range(7) if len(cols[c]) < 6]
    if not moves:
        return 0
    if any(_ref_wins(cols, p, c) for c in moves):
        return _WIN + depth
    if depth <= 1:
        return _ref_eval(cols, p)
    return max(-_ref_value(_drop(cols, c, p), 1 - p, depth - 1) for c in moves)


def _ref_scores(cols: list[list[int]], depth: int, legal: list[int]) -> dict[int, int]:
    """Root score of each legal column for player 0."""
    scores = {}
    for c in legal:
        after = _drop(cols, c, 0)
        if _ref_wins(cols, 0, c):
            scores[c] = _WIN + depth
        elif depth == 1:
            scores[c] = _ref_eval(after, 0)
        else:
            scores[c] = -_ref_value(after, 1, depth - 1)
    return scores


def _ref_action(cols: list[list[int]], depth: int, rng: np.random.Generator | None) -> int:
    """The documented choice: the first immediate win from the centre out, else a
    best-scored column (the first from the centre out, or ``rng.choice`` over them)."""
    legal = [c for c in _CENTRE_FIRST if len(cols[c]) < 6]
    for c in legal:
        if _ref_wins(cols, 0, c):
            return c
    scores = _ref_scores(cols, depth, legal)
    best = [c for c in legal if scores[c] == max(scores.values())]
    return best[0] if rng is None else int(rng.choice(best))


def _cols_obs(cols: list[list[int]]) -> dict[str, Any]:
    return _obs(
        mine=[(c, h) for c in range(7) for h, p in enumerate(cols[c]) if p == 0],
        theirs=[(c, h) for c in range(7) for h, p in enumerate(cols[c]) if p == 1],
    )


def _random_positions(n: int, seed: int, max_plies: int = 24) -> list[list[list[int]]]:
    """Live positions after random openings, relabelled so 0 is the player to move."""
    rng = np.random.default_rng(seed)
    out: list[list[list[int]]] = []
    while len(out) < n:
        cols: list[list[int]] = [[] for _ in range(7)]
        p, live = 0, True
        for _ in range(int(rng.integers(0, max_plies + 1))):
            c = int(rng.choice([c for c in range(7) if len(cols[c]) < 6]))
            if _ref_wins(cols, p, c):
                live = False
                break
            cols, p = _drop(cols, c, p), 1 - p
        if live:
            out.append([[q ^ p for q in col] for col in cols])  # mover becomes 0
    return out


# Positions with forced lines, as column stacks (0 = the player to move): two threats;
# playing under the opponent's winning cell; a double threat to make; a forced block;
# a block that loses anyway (the opponent's only playable winning cell, (6, 2), has
# another, (6, 3), right above it); then boards 4, 3, 2 and 1 moves from full.
_FULL_SOON = [  # values at depths 2-4 are heuristic or draws (0), not wins
    [[0, 0, 1, 0, 1, 1], [0, 1, 1, 0, 1, 0], [1, 1, 0, 0], [0, 1, 1, 1, 0, 1],
     [1, 0, 0, 0, 1, 1], [0, 0, 1, 0, 1, 0], [0, 0, 1, 1]],
    [[1, 0, 0, 0, 1], [1, 0, 1, 0, 1, 0], [1, 0, 1, 0], [0, 1, 0, 1, 0, 1],
     [0, 1, 1, 1, 0, 1], [1, 1, 1, 0, 1, 0], [0, 0, 0, 1, 0, 1]],
    [[0, 0, 1, 0, 1, 1], [0, 1, 1, 0, 1, 0], [1, 1, 0, 0, 0, 1], [0, 1, 1, 1, 0, 1],
     [1, 0, 0, 0, 1, 1], [0, 0, 1, 0, 1, 0], [0, 0, 1, 1]],
    [[1, 1, 0, 1, 0, 0], [1, 0, 0, 1, 0, 1], [0, 0, 1, 1, 1, 0], [1, 0, 0, 0, 1, 0],
     [0, 1, 1, 1, 0, 0], [1, 1, 0, 1, 0, 1], [1, 1, 0, 0, 1]],
]
_FORCED = [
    [[], [1, 0], [1, 0], [1], [], [], [0]],
    [[], [0, 1], [1, 1], [0, 1], [], [], [0]],
    [[1], [], [0], [0], [], [], [1]],
    [[1], [], [1], [1], [], [0], [0, 0]],
    [[], [0, 0, 1, 0], [1], [1, 0, 1], [0, 1, 1], [0, 1, 1, 0, 0], [0, 1]],
    *_FULL_SOON,
]


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_same_moves_as_plain_reference_search(depth: int) -> None:
    # The forced positions and 40 random ones (20 at depth 4): the move with rng=None,
    # and with seeded rngs (equal tie sets in equal order give equal draws), match.
    positions = _FORCED + _random_positions(40 if depth < 4 else 20, seed=depth)
    for i, cols in enumerate(positions):
        obs = _cols_obs(cols)
        assert alphabeta_action(obs, depth) == _ref_action(cols, depth, None), (i, cols)
        for seed in (0, 1):
            got = alphabeta_action(obs, depth, np.random.default_rng(seed))
            assert got == _ref_action(cols, depth, np.random.default_rng(seed)), (i, seed)


def test_search_values_and_bounds_match_plain_reference() -> None:
    # The private search on its own: exact inside the window, a true bound outside it.
    # One transposition table serves narrow windows first, then the full one, so bounds
    # stored by earlier searches are reused by later ones and must stay true.
    from envs import connect_four_opponents as c4

    rng = np.random.default_rng(0)
    for cols in _FORCED + _random_positions(16, seed=7, max_plies=30):
        me, mask = c4._bitboards(_cols_obs(cols))
        opp = mask ^ me
        ev, win = c4._evaluate(me, opp), c4._winning_cells(me, mask)
        for depth in (2, 3, 4):
            true = _ref_value(cols, 0, depth)
            tt: dict[int, tuple] = {}
            windows = [(a, a + 1) for a in true + rng.integers(-20, 20, size=4)]
            windows += [tuple(sorted(true + rng.integers(-30, 30, size=2))) for _ in range(4)]
            for lo, hi in [*windows, (-c4._INF, c4._INF)]:
                lo, hi = int(lo), int(max(hi, lo + 1))
                got = c4._negamax(me, mask, ev, win, depth, lo, hi, tt)
                if got <= lo:
                    assert true <= got, (cols, depth, lo, hi, got, true)
                elif got >= hi:
                    assert true >= got, (cols, depth, lo, hi, got, true)
                else:
                    assert got == true, (cols, depth, lo, hi, got, true)


def test_incremental_evaluation_and_threat_detection_match_direct_ones() -> None:
    from envs import connect_four_opponents as c4

    for cols in _random_positions(60, seed=11, max_plies=36):
        me, mask = c4._bitboards(_cols_obs(cols))
        opp = mask ^ me
        assert c4._evaluate(me, opp) == _ref_eval(cols, 0)
        wins = c4._winning_cells(me, mask)
        for c in range(7):
            if len(cols[c]) < 6:
                cell = 1 << (7 * c + len(cols[c]))
                assert c4._evaluate(me, opp) + c4._gain(me, opp, cell) == _ref_eval(
                    _drop(cols, c, 0), 0
                )
                assert bool(wins & cell) == _ref_wins(cols, 0, c)


def test_two_threats_make_every_move_lose_alike() -> None:
    # Opponent: bottom row 1, 2, 3 (threats at columns 0 and 4). Every move loses at
    # depth 2 (-(WIN + 1)), so the tie goes to the centre, and an rng picks among all.
    obs = _obs(mine=[(1, 1), (2, 1), (6, 0)], theirs=[(1, 0), (2, 0), (3, 0)])
    assert alphabeta_action(obs, 2) == 3
    assert alphabeta_action(obs, 4) == 3
    rng = np.random.default_rng(0)
    assert {alphabeta_action(obs, 2, rng) for _ in range(60)} == set(range(7))


def test_block_that_loses_anyway_ties_with_every_move() -> None:
    # The forced block at (6, 2) puts the opponent's next winning cell on top: every
    # move loses, all scoring -(WIN + depth - 1), so the centre, or any with an rng.
    obs = _cols_obs(_FORCED[4])
    for depth in (2, 3, 4):
        assert alphabeta_action(obs, depth) == 3
    assert {alphabeta_action(obs, 3, np.random.default_rng(s)) for s in range(60)} == set(
        range(7)
    )


def test_does_not_play_under_an_opponent_winning_cell() -> None:
    # The opponent holds columns 1-3 at height 1, so (0, 1) and (4, 1) win for it.
    # Here column 0 holds one piece: (0, 1) is playable, the block is forced.
    obs = _obs(mine=[(0, 0), (1, 0), (3, 0)], theirs=[(1, 1), (2, 1), (3, 1), (2, 0)])
    for depth in (2, 3, 4):
        assert alphabeta_action(obs, depth) == 0
    # Here columns 0 and 4 are empty: playing either puts the opponent's winning cell
    # on top, so both lose at once.
    obs = _obs(mine=[(1, 0), (3, 0), (6, 0)], theirs=[(1, 1), (2, 1), (3, 1), (2, 0)])
    for depth in (2, 3, 4):
        assert alphabeta_action(obs, depth) not in (0, 4)


def test_rng_none_is_deterministic_and_stateless() -> None:
    positions = [_cols_obs(cols) for cols in _random_positions(15, seed=3)]
    first = [alphabeta_action(obs, 4) for obs in positions]
    again = [alphabeta_action(obs, 4) for obs in reversed(positions)][::-1]
    assert first == again


def test_rng_tie_breaks_vary_and_replay_with_the_seed() -> None:
    # Mirror-symmetric positions with column 3 full: mirrored columns score alike.
    # Reference ties: {2, 4} in the first at depths 3 and 4; {1, 2, 4, 5} in the second
    # at depth 4.
    first = [[0], [], [1], [0, 1, 0, 1, 0, 1], [1], [], [0]]
    second = [[], [0], [1], [0, 1, 0, 1, 0, 1], [1], [0], []]
    for cols, depth, ties in ((first, 3, {2, 4}), (first, 4, {2, 4}), (second, 4, {1, 2, 4, 5})):
        obs = _cols_obs(cols)
        scores = _ref_scores(cols, depth, [c for c in range(7) if c != 3])
        assert {c for c, v in scores.items() if v == max(scores.values())} == ties
        picks = [alphabeta_action(obs, depth, np.random.default_rng(s)) for s in range(40)]
        assert set(picks) == ties, picks  # every tied column comes up, nothing else
        assert picks == [alphabeta_action(obs, depth, np.random.default_rng(s)) for s in range(40)]
        assert alphabeta_action(obs, depth) == min(ties, key=_CENTRE_FIRST.index)


def test_positions_not_live_get_a_legal_move_without_search() -> None:
    # Mover already has four (a finished game): first legal column from the centre out.
    won = _obs(mine=[(0, 0), (1, 0), (2, 0), (3, 0)], theirs=[(0, 1), (1, 1), (2, 1)])
    assert alphabeta_action(won, 4) == 3
    lost = _obs(mine=[(0, 1), (1, 1), (2, 1)], theirs=[(0, 0), (1, 0), (2, 0), (3, 0)])
    assert alphabeta_action(lost, 4) == 3
    assert alphabeta_action(lost, 4, np.random.default_rng(0)) in range(7)


def test_float_boards_are_read_like_int_boards() -> None:
    # RLlib hands the board over as floats; the search reads any nonzero as a piece.
    for cols in _random_positions(10, seed=5):
        obs = _cols_obs(cols)
        as_float = {"observation": obs["observation"].astype(np.float32),
                    "action_mask": obs["action_mask"]}
        assert alphabeta_action(as_float, 3) == alphabeta_action(obs, 3)
