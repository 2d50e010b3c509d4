"""Play a trained agent in the terminal: the board drawn as text, legal moves listed, bad
input asked again, the agent's move and its value estimate shown.

Renderers per game (``render(env, viewer) -> str`` and ``moves(env, agent) -> labels``):

    connect four    6 x 7 grid, X = first player, O = second, columns 1-7
    tic-tac-toe     3 x 3 grid, free cells numbered 1-9
    OpenSpiel       (kuhn / leduc poker) the viewer's information state (cards, pot,
                    chips, betting) and the named actions
    any masked AEC  the legal action indices (generic fallback)

``play_game`` is plain Python over a PettingZoo AEC env and two I/O callables, so it is
driven the same way by a terminal and by a test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["legal_moves", "play_game", "render"]


def _kind(env: Any) -> str:
    raw = env.unwrapped
    name = type(raw).__module__
    if "connect_four" in name:
        return "connect_four"
    if "tictactoe" in name:
        return "tictactoe"
    if hasattr(raw, "game_state"):
        return "openspiel"
    return "generic"


def _mask(env: Any, agent: str) -> np.ndarray:
    return np.asarray(env.observe(agent)["action_mask"]) > 0


def legal_moves(env: Any, agent: str) -> dict[str, int]:
    """What the player may type -> the env action, for the player to move."""
    legal = np.flatnonzero(_mask(env, agent))
    kind = _kind(env)
    if kind in ("connect_four", "tictactoe"):
        return {str(a + 1): int(a) for a in legal}
    if kind == "openspiel":
        state = env.unwrapped.game_state
        player = state.current_player()
        return {state.action_to_string(player, int(a)).lower(): int(a) for a in legal} | \
            {str(int(a)): int(a) for a in legal}
    return {str(int(a)): int(a) for a in legal}


def render(env: Any, viewer: str) -> str:
    """The game as ``viewer`` may see it (cards of others hidden)."""
    raw, kind = env.unwrapped, _kind(env)
    if kind == "connect_four":
        marks = {0: ".", 1: "X", 2: "O"}
        board = np.asarray(raw.board).reshape(6, 7)
        lines = [" ".join(marks[int(v)] for v in row) for row in board]
        return "\n".join([*lines, " ".join(str(c) for c in range(1, 8))])
    if kind == "tictactoe":
        squares = list(raw.board.squares)  # index = 3 * column + row (PettingZoo's layout)
        marks = {1: "X", 2: "O"}
        rows = []
        for r in range(3):
            cells = [marks.get(squares[3 * c + r], str(3 * c + r + 1)) for c in range(3)]
            rows.append(" | ".join(cells))
        return "\n---------\n".join(rows)
    if kind == "openspiel":
        state = raw.game_state
        player = env.possible_agents.index(viewer)
        return f"you are player {player}: {state.information_state_string(player)}"
    obs = env.observe(viewer)
    return f"observation: {np.asarray(obs['observations']).round(2).tolist()}"


def _labels(env: Any, agent: str) -> str:
    moves = legal_moves(env, agent)
    if _kind(env) == "openspiel":
        named = [k for k in moves if not k.isdigit()]
        return ", ".join(f"{k} ({moves[k]})" for k in named)
    return ", ".join(moves)


def play_game(env: Any, human: str, agent_move: Callable[[Any, str], tuple[int, float | None]],
              ask: Callable[[str], str], say: Callable[[str], None], seed: int = 0) -> float:
    """One game: ``human`` is the agent id the person plays; returns the person's return.

    Args:
        agent_move: ``(env, agent) -> (action, value estimate or None)`` for the AI.
        ask: prompt -> the line typed (EOFError ends the game).
        say: prints a line.
    """
    env.reset(seed=seed)
    total = 0.0
    for agent in env.agent_iter():
        _, reward, term, trunc, _ = env.last()
        if agent == human:
            total += float(reward)
        if term or trunc:
            env.step(None)
            continue
        if agent == human:
            say("")
            say(render(env, human))
            moves = legal_moves(env, human)
            while True:
                typed = ask(f"your move [{_labels(env, human)}; q quits]: ").strip().lower()
                if typed in ("q", "quit", "exit"):
                    raise EOFError
                if typed in moves:
                    env.step(moves[typed])
                    break
                say(f"{typed!r} is not a legal move here; legal: {_labels(env, human)}")
        else:
            action, value = agent_move(env, agent)
            shown = {v: k for k, v in legal_moves(env, agent).items() if not k.isdigit()}
            label = shown.get(action, str(action + 1) if _kind(env) in
                              ("connect_four", "tictactoe") else str(action))
            estimate = "" if value is None else f" (its value estimate {value:+.2f})"
            say(f"agent plays {label}{estimate}")
            env.step(action)
    say("")
    say(render(env, human))
    outcome = "you win" if total > 0 else "you lose" if total < 0 else "a draw"
    say(f"game over: {outcome} ({total:+g})")
    return total
