"""Random openings: every episode of a turn-based game starts a few random plies in.

Self-play on a deterministic board game sees the same early positions over and over, and
a learner can win by memorising one line against an opponent that always answers the
same way. Engine matches vary the start with an opening book; this AEC wrapper does the
same with uniformly random legal plies: after the env's own reset it plays ``plies``
moves for each side (``2 * plies`` in all, so the same seat is to move as in the bare
game), then hands the position to the players. Nobody trains on the opening plies: they
happen inside ``reset``. ``plies=(lo, hi)`` draws the count per side for each episode
uniformly from ``lo..hi``: with a fixed count the players never decide in the positions
before it (with 2 a side, never on a board of fewer than 4 pieces), where an evaluation
that opens with 1 ply a side starts. Should the game end during the opening (not possible in connect
four or tic-tac-toe with <= 2 plies a side), the env resets and tries again.

Training only: evaluation plays its own openings (``benchmarks/*connect4*.py
--opening``), and the spec's ``env.random_opening`` never reaches ``marl eval``/``play``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pettingzoo.utils.wrappers import BaseWrapper

__all__ = ["RandomOpening", "legal_actions"]

_MAX_TRIES = 100


def legal_actions(env: Any, agent: str) -> np.ndarray:
    """The legal actions of ``agent`` to move: the observation's or the info's action mask,
    else every action of its (discrete) space."""
    obs = env.observe(agent)
    mask = obs.get("action_mask") if isinstance(obs, dict) else None
    if mask is None:
        mask = env.infos.get(agent, {}).get("action_mask")
    if mask is None:
        return np.arange(env.action_space(agent).n)
    return np.flatnonzero(np.asarray(mask))


class RandomOpening(BaseWrapper):
    """AEC env whose episodes start ``plies`` uniformly random legal moves per side in."""

    def __init__(self, env: Any, plies: int | tuple[int, int] | list[int]) -> None:
        super().__init__(env)
        lo, hi = (int(plies[0]), int(plies[1])) if isinstance(plies, (tuple, list)) else (
            int(plies), int(plies))
        if not 0 <= lo <= hi or hi < 1:
            raise ValueError(f"random_opening needs plies >= 1 or [min, max] with "
                             f"0 <= min <= max, max >= 1; got {plies}")
        self.plies = (lo, hi)
        self._rng = np.random.default_rng()

    def reset(self, seed: int | None = None, options: dict | None = None) -> None:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        for attempt in range(_MAX_TRIES):
            self.env.reset(seed=seed if attempt == 0 else None, options=options)
            if self._play_opening():
                return
        raise RuntimeError(f"every one of {_MAX_TRIES} random openings of {self.plies} plies "
                           f"a side ended the game: use fewer plies")

    def _play_opening(self) -> bool:
        """Plays the opening; False when the game ended during it."""
        lo, hi = self.plies
        plies = lo if lo == hi else int(self._rng.integers(lo, hi + 1))
        for _ in range(2 * plies):
            agent = self.env.agent_selection
            if self.env.terminations[agent] or self.env.truncations[agent]:
                return False
            self.env.step(int(self._rng.choice(legal_actions(self.env, agent))))
        agent = self.env.agent_selection
        return bool(self.env.agents) and not (
            self.env.terminations[agent] or self.env.truncations[agent])
