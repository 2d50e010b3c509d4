"""Scripted opponents for PettingZoo ``connect_four_v3``.

Every function takes the observation dict the env gives the player to move:
``obs["observation"]`` is an ``(6, 7, 2)`` array (row 0 = top, plane 0 = the
mover's pieces, plane 1 = the opponent's) and ``obs["action_mask"]`` is a
length-7 0/1 vector of legal columns.

The search uses the classic 7x7-bit bitboard (one sentinel bit on top of each
6-cell column, so shifts never wrap between columns): bit ``7 * col + h`` is
the cell at height ``h`` (0 = bottom) of ``col``.

* ``random_action(obs, rng)``: uniform over legal columns.
* ``alphabeta_action(obs, depth, rng=None)``: depth-limited negamax with
  alpha-beta pruning and a window heuristic. Speed-ups that leave every score
  as the plain recursion has it: a transposition table, incremental evaluation,
  bitboard win/threat detection (moves that hand the opponent an immediate win
  are scored without search) and static move ordering.
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
_COLUMN = tuple(((1 << _ROWS) - 1) << (_H1 * c) for c in range(_COLS))
_CENTRE = _COLUMN[3]
_BOTTOM_ALL = sum(_BOTTOM)
_BOARD = sum(_COLUMN)  # the 42 cells, no sentinels
_COLUMNS_CENTRE_FIRST = tuple(_COLUMN[c] for c in _ORDER)

# Scores: a win outranks any heuristic value; adding the remaining depth makes
# faster wins (and slower losses) preferable.
_WIN = 1_000_000
_INF = 3 * _WIN  # beyond any score
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
# cell bit -> the windows through it (3 to 13), for the incremental evaluation.
_CELL_WINDOWS = {
    1 << (_H1 * c + h): tuple(w for w in _WINDOWS if w >> (_H1 * c + h) & 1)
    for c in range(_COLS)
    for h in range(_ROWS)
}
# Change in a window's value for the mover when it adds a piece there, by the
# window's piece counts: _GAIN_OWN[mover's] when the opponent has none (open line grows:
# 0->1 nothing, 1->2 +2, 2->3 +3, 3->4 the three stops counting), _GAIN_BLOCK[opponent's]
# when the mover had none there (the opponent's open line dies).
_GAIN_OWN = (0, _W_TWO, _W_THREE - _W_TWO, -_W_THREE)
_GAIN_BLOCK = (0, 0, _W_TWO, _W_THREE, 0)


def _is_win(bb: int) -> bool:
    """Tells whether bitboard ``bb`` holds four in a line.

    Shift 1 is vertical, 7 horizontal, 6 and 8 the two diagonals.
    """
    for s in (1, _H1, _H1 - 1, _H1 + 1):
        m = bb & (bb >> s)
        if m & (m >> (2 * s)):
            return True
    return False


def _winning_cells(p: int, mask: int) -> int:
    """Empty cells (playable or not) where one more piece of ``p`` makes four in a line.

    A cell qualifies when, along some direction, three of ``p`` fill the rest of a
    four-cell window through it. Sentinel bits are never set, so shifts cannot chain
    across columns; the result is clipped to the board's empty cells.
    """
    # Vertical (shift 1): only three below. Horizontal (7) and the diagonals (6, 8):
    # two on one side and one on the other, or three on one side.
    r = (p << 1) & (p << 2) & (p << 3)
    a = (p << 7) & (p << 14)
    r |= a & ((p << 21) | (p >> 7))
    a = (p >> 7) & (p >> 14)
    r |= a & ((p << 7) | (p >> 21))
    a = (p << 6) & (p << 12)
    r |= a & ((p << 18) | (p >> 6))
    a = (p >> 6) & (p >> 12)
    r |= a & ((p << 6) | (p >> 18))
    a = (p << 8) & (p << 16)
    r |= a & ((p << 24) | (p >> 8))
    a = (p >> 8) & (p >> 16)
    r |= a & ((p << 8) | (p >> 24))
    return r & (_BOARD ^ mask)


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


def _gain(me: int, opp: int, cell: int) -> int:
    """``_evaluate(me | cell, opp) - _evaluate(me, opp)`` for an empty ``cell``.

    Only the windows through ``cell`` (and the centre column) change.
    """
    d = _W_CENTRE if cell & _CENTRE else 0
    for w in _CELL_WINDOWS[cell]:
        theirs = opp & w
        if theirs:
            if not me & w:
                d += _GAIN_BLOCK[theirs.bit_count()]
        else:
            mine = me & w
            if mine:
                d += _GAIN_OWN[mine.bit_count()]
    return d


def _negamax(
    me: int,
    mask: int,
    ev: int,
    me_win: int,
    depth: int,
    alpha: int,
    beta: int,
    tt: dict[int, tuple],
) -> int:
    """Value of the position for the side to move (fail-soft alpha-beta).

    ``me`` = its pieces, ``mask`` = all pieces, ``ev`` = ``_evaluate(me, mask ^ me)``
    and ``me_win`` = ``_winning_cells(me, mask)`` (both kept incrementally: a move
    does not change the other side's winning cells, bar the one it fills), ``tt`` =
    transposition table of this search. Neither side may already have four in a row.

    The value is exact when it lies strictly inside ``(alpha, beta)``, else a bound on
    that side, and it is the value of the plain recursion: 0 on a full board;
    ``_WIN + depth`` if a move wins now; ``ev`` at ``depth <= 1``; else the best child,
    negated. Shortcuts that keep it: a move that leaves the opponent an immediate win
    (not blocking its threat, or playing right under its winning cell) is worth exactly
    ``-(_WIN + depth - 1)``, never more than any other move, so is not searched; and at
    ``depth == 2`` the remaining children cannot win at once, so their values are their
    static evaluations.
    """
    playable = (mask + _BOTTOM_ALL) & _BOARD  # the lowest empty cell of each column
    if not playable:
        return 0  # full board: draw
    if me_win & playable:
        return _WIN + depth  # an immediate win ends the search at this node
    if depth <= 1:
        return ev
    opp = mask ^ me
    opp_win = _winning_cells(opp, mask)
    threats = opp_win & playable
    if threats & (threats - 1):
        return -(_WIN + depth - 1)  # two threats: one block cannot stop both
    # Moves that do not hand the opponent a win next ply: the forced block if there
    # is a threat, else any move not played right under an opponent's winning cell.
    moves = (threats or playable) & ~(opp_win >> 1)
    if not moves:
        return -(_WIN + depth - 1)
    if depth == 2:
        best = -_INF
        for col in _COLUMNS_CENTRE_FIRST:
            cell = moves & col
            if cell:
                score = 0 if mask | cell == _BOARD else ev + _gain(me, opp, cell)
                if score > best:
                    best = score
                    if best >= beta:
                        break
        return best
    # Transposition table: (lower bound, upper bound, best move) per (position, depth);
    # me + mask (< 2**50) identifies the position.
    key = (depth << 50) | (me + mask)
    entry = tt.get(key)
    lo, hi, first = entry if entry is not None else (-_INF, _INF, 0)
    if lo >= beta or lo == hi:
        return lo
    if hi <= alpha:
        return hi
    alpha, beta = max(alpha, lo), min(beta, hi)
    # Order: the table's best move first; then, at depth >= 4 (at depth 3 computing every
    # child's static value up front costs more than it saves), by static value after the
    # move; then centre first (the sorts are stable).
    kids: list[tuple[int | None, int]]
    if depth >= 4:
        kids = [
            (ev + _gain(me, opp, cell), cell)
            for col in _COLUMNS_CENTRE_FIRST
            if (cell := moves & col)
        ]
        kids.sort(key=lambda k: (k[1] == first, k[0]), reverse=True)
    else:
        kids = [(None, cell) for col in _COLUMNS_CENTRE_FIRST if (cell := moves & col)]
        kids.sort(key=lambda k: k[1] == first, reverse=True)
    best, best_cell = -_INF, 0
    for static, cell in kids:
        score = ev + _gain(me, opp, cell) if static is None else static
        value = -_negamax(
            opp, mask | cell, -score, opp_win & ~cell, depth - 1, -beta, -max(alpha, best), tt
        )
        if value > best:
            best, best_cell = value, cell
            if best >= beta:
                break
    # Bounds relative to the window searched (narrowed by the old entry, so they only
    # tighten it): fail low = upper bound, fail high = lower bound, else exact.
    if best <= alpha:
        hi = best
    elif best >= beta:
        lo = best
    else:
        lo = hi = best
    tt[key] = (lo, hi, best_cell)
    return best


# Bit of each board cell in row-major (row 0 = top, then column) order, for _bitboards.
_CELL_BITS = np.array(
    [1 << (_H1 * c + _ROWS - 1 - r) for r in range(_ROWS) for c in range(_COLS)], dtype=np.int64
)


def _bitboards(obs: dict[str, Any]) -> tuple[int, int]:
    """Converts a ``connect_four_v3`` observation to ``(mover_bits, all_bits)``."""
    planes = (np.asarray(obs["observation"]) != 0).reshape(_ROWS * _COLS, 2)
    me, opp = (_CELL_BITS @ planes).tolist()  # sums of distinct bits: exact in int64
    return me, me | opp


def _legal(obs: dict[str, Any]) -> list[int]:
    legal = np.flatnonzero(np.asarray(obs["action_mask"])).tolist()
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
    when blocking is possible. A position that is not live (a side already has
    four in a row, or the mask allows only full columns) is not searched: it
    gets the first legal column from the centre out (a random legal one with
    ``rng``).

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
    legal = _legal(obs)
    me, mask = _bitboards(obs)
    opp = mask ^ me
    moves = [c for c in _ORDER if c in legal and not mask & _TOP[c]]
    if not moves or _is_win(me) or _is_win(opp):
        # Not a live position (the mask allows only full columns, or someone has
        # already won): nothing to search; trust the env's mask.
        moves = moves or [c for c in _ORDER if c in legal]
        return moves[0] if rng is None else int(rng.choice(moves))
    playable = (mask + _BOTTOM_ALL) & _BOARD
    wins = _winning_cells(me, mask) & playable
    for c in moves:  # an immediate win is taken at once (the first, centre-first)
        if wins & _COLUMN[c]:
            return c
    ev = _evaluate(me, opp)
    # Moves that hand the opponent a win next ply (not blocking its threat, or playing
    # under its winning cell) score exactly -(_WIN + depth - 1): no search (see _negamax).
    opp_win = _winning_cells(opp, mask)
    threats = opp_win & playable
    tt: dict[int, tuple] = {}
    best, best_moves = -(2 * _WIN), []
    for c in moves:
        cell = playable & _COLUMN[c]
        score = ev + _gain(me, opp, cell)  # static value after the move: depth 1's score
        if depth > 1 and ((threats and not threats & cell) or (cell << 1) & opp_win):
            score = -(_WIN + depth - 1)
        elif depth > 1:
            # Window (best - 1, inf) keeps every score >= best exact, so ties are found;
            # without rng, (best, inf) suffices because the first best move is kept.
            alpha = best - 1 if rng is not None else best
            score = -_negamax(
                opp, mask | cell, -score, opp_win & ~cell, depth - 1, -_INF, -alpha, tt
            )
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
