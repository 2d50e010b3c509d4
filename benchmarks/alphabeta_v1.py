"""Frozen copy of ``envs/connect_four_opponents.py`` before the speed-up (at commit db521fb).

The code is the original, verbatim, so ``benchmarks/alphabeta_speed.py`` can time and
cross-check the current search against it whatever later commits do to the package
module; nothing in ``marl`` or ``envs`` imports it. The original module docstring:

    Every function takes the observation dict the env gives the player to move:
    ``obs["observation"]`` is an ``(6, 7, 2)`` array (row 0 = top, plane 0 = the
    mover's pieces, plane 1 = the opponent's) and ``obs["action_mask"]`` is a
    length-7 0/1 vector of legal columns.

    The search uses the classic 7x7-bit bitboard (one sentinel bit on top of each
    6-cell column, so shifts never wrap between columns): bit ``7 * col + h`` is
    the cell at height ``h`` (0 = bottom) of ``col``.

    * ``random_action(obs, rng)``: uniform over legal columns.
    * ``alphabeta_action(obs, depth, rng=None)``: depth-limited negamax with
      alpha-beta pruning, centre-first move ordering and a window heuristic.
    * ``ScriptedPolicy(kind, depth, seed).act(obs)``: either of the above.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["ScriptedPolicy", "alphabeta_action", "random_action"]

_ROWS, _COLS = 6, 7
_H1 = _ROWS + 1  # bits per column, incl. the sentinel
_ORDER = (3, 2, 4, 1, 5, 0, 6)  # centre first: better pruning, deterministic ties
_BOTTOM = tuple(1 << (_H1 * c) for c in range(_COLS))
_TOP = tuple(1 << (_H1 * c + _ROWS - 1) for c in range(_COLS))
_CENTRE = ((1 << _ROWS) - 1) << (_H1 * 3)

# Scores: a win outranks any heuristic value; adding the remaining depth makes
# faster wins (and slower losses) preferable.
_WIN = 1_000_000
_W_THREE, _W_TWO, _W_CENTRE = 5, 2, 3


def _windows() -> tuple[int, ...]:
    """All 69 four-cell lines on the board, as bitmasks."""
    out = []
    for c in range(_COLS):
        for h in range(_ROWS):
            for dc, dh in ((1, 0), (0, 1), (1, 1), (1, -1)):
                cells = [(c + k * dc, h + k * dh) for k in range(4)]
                if all(0 <= cc < _COLS and 0 <= hh < _ROWS for cc, hh in cells):
                    out.append(sum(1 << (_H1 * cc + hh) for cc, hh in cells))
    return tuple(out)


_WINDOWS = _windows()


def _is_win(bb: int) -> bool:
    """Tells whether bitboard ``bb`` holds four in a line.

    Shift 1 is vertical, 7 horizontal, 6 and 8 the two diagonals.
    """
    for s in (1, _H1, _H1 - 1, _H1 + 1):
        m = bb & (bb >> s)
        if m & (m >> (2 * s)):
            return True
    return False


def _evaluate(me: int, opp: int) -> int:
    """Heuristic value for the side owning ``me`` (antisymmetric: eval(a, b) = -eval(b, a)).

    Open lines only: a window counts for a player if the other has no piece in it.
    """
    score = _W_CENTRE * ((me & _CENTRE).bit_count() - (opp & _CENTRE).bit_count())
    for w in _WINDOWS:
        mine, theirs = me & w, opp & w
        if mine and not theirs:
            n = mine.bit_count()
            score += _W_THREE if n == 3 else _W_TWO if n == 2 else 0
        elif theirs and not mine:
            n = theirs.bit_count()
            score -= _W_THREE if n == 3 else _W_TWO if n == 2 else 0
    return score


def _negamax(me: int, mask: int, depth: int, alpha: int, beta: int) -> int:
    """Value of the position for the side to move (``me`` = its pieces, ``mask`` = all)."""
    moves = [c for c in _ORDER if not mask & _TOP[c]]
    if not moves:
        return 0  # full board: draw
    for c in moves:  # an immediate win ends the search at this node
        if _is_win(me | ((mask + _BOTTOM[c]) & ~mask)):
            return _WIN + depth
    if depth <= 1:
        return _evaluate(me, mask ^ me)
    for c in moves:
        new_mask = mask | (mask + _BOTTOM[c])
        # After the move the opponent is to move; its pieces are mask ^ me.
        score = -_negamax(mask ^ me, new_mask, depth - 1, -beta, -alpha)
        if score > alpha:
            alpha = score
            if alpha >= beta:
                break
    return alpha


def _bitboards(obs: dict[str, Any]) -> tuple[int, int]:
    """Converts a ``connect_four_v3`` observation to ``(mover_bits, all_bits)``."""
    board = np.asarray(obs["observation"])
    me = mask = 0
    for r, c in zip(*np.nonzero(board[:, :, 0] | board[:, :, 1]), strict=True):
        bit = 1 << (_H1 * int(c) + (_ROWS - 1 - int(r)))
        mask |= bit
        if board[r, c, 0]:
            me |= bit
    return me, mask


def _legal(obs: dict[str, Any]) -> list[int]:
    legal = [int(c) for c in np.flatnonzero(np.asarray(obs["action_mask"]))]
    if not legal:
        raise ValueError("no legal move: action_mask is all zero (not this player's turn?)")
    return legal


def random_action(obs: dict[str, Any], rng: np.random.Generator) -> int:
    """Picks a legal column uniformly at random.

    Args:
        obs: A ``connect_four_v3`` observation dict with an ``"action_mask"``.
        rng: Source of randomness.

    Returns:
        A column in ``0..6`` whose mask entry is 1.

    Raises:
        ValueError: The action mask has no legal move.
    """
    return int(rng.choice(_legal(obs)))


def alphabeta_action(
    obs: dict[str, Any], depth: int, rng: np.random.Generator | None = None
) -> int:
    """Picks a column by depth-limited negamax alpha-beta search.

    Leaves are scored by ``_evaluate``: +-5 per open three, +-2 per open two
    (four-cell windows free of the other colour), +-3 per centre-column piece;
    a found win scores ``1_000_000 + remaining depth``. An immediate win is
    always taken and, at ``depth >= 2``, an immediate loss is always blocked
    when blocking is possible.

    Args:
        obs: A ``connect_four_v3`` observation dict for the player to move.
        depth: Plies searched, counting this move (``>= 1``).
        rng: If given, ties between equally scored columns are broken at
            random; otherwise the column nearest the centre wins.

    Returns:
        A legal column in ``0..6``.

    Raises:
        ValueError: ``depth < 1`` or the action mask has no legal move.
    """
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    legal = set(_legal(obs))
    me, mask = _bitboards(obs)
    moves = [c for c in _ORDER if c in legal and not mask & _TOP[c]]
    if not moves:  # mask and board disagree; trust the env's mask
        moves = [c for c in _ORDER if c in legal]
    for c in moves:
        if _is_win(me | ((mask + _BOTTOM[c]) & ~mask)):
            return c
    best, best_moves = -(2 * _WIN), []
    for c in moves:
        new_mask = mask | (mask + _BOTTOM[c])
        if depth == 1:
            score = _evaluate(me | (new_mask ^ mask), mask ^ me)
        else:
            # Window (best - 1, inf) keeps every score >= best exact, so ties are found;
            # without rng, (best, inf) suffices because the first best move is kept.
            alpha = best - 1 if rng is not None else best
            score = -_negamax(mask ^ me, new_mask, depth - 1, -(3 * _WIN), -alpha)
        if score > best:
            best, best_moves = score, [c]
        elif score == best:
            best_moves.append(c)
    if rng is None:
        return best_moves[0]
    return int(rng.choice(best_moves))


class ScriptedPolicy:
    """A fixed connect-four opponent.

    Args:
        kind: ``"random"`` (uniform legal moves) or ``"alphabeta"`` (search).
        depth: Search depth for ``"alphabeta"`` (``>= 1``); ignored for ``"random"``.
        seed: For ``"random"``, seeds the move choice (``None`` = fresh entropy).
            For ``"alphabeta"``, ``None`` means deterministic centre-first
            tie-breaks and an int seeds random tie-breaks.

    Raises:
        ValueError: Unknown ``kind``, or ``"alphabeta"`` with ``depth < 1``.
    """

    KINDS = ("random", "alphabeta")

    def __init__(self, kind: str, depth: int = 0, seed: int | None = None) -> None:
        if kind not in self.KINDS:
            raise ValueError(f"unknown kind {kind!r}; choose one of {self.KINDS}")
        if kind == "alphabeta" and depth < 1:
            raise ValueError(f"kind='alphabeta' needs depth >= 1, got {depth}")
        self.kind = kind
        self.depth = depth
        self.seed = seed
        self._rng = np.random.default_rng(seed)

    def act(self, obs: dict[str, Any]) -> int:
        """Returns a legal column for the ``connect_four_v3`` observation ``obs``."""
        if self.kind == "random":
            return random_action(obs, self._rng)
        return alphabeta_action(obs, self.depth, self._rng if self.seed is not None else None)

    def __repr__(self) -> str:
        return f"ScriptedPolicy(kind={self.kind!r}, depth={self.depth}, seed={self.seed})"
