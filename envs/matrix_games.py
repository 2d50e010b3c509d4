"""Iterated two-player matrix social dilemmas (PettingZoo ``ParallelEnv``).

Two players meet for ``max_cycles`` rounds of the same 2x2 game and act
simultaneously each round. Action ``0`` is the cooperative move (cooperate /
stag / swerve), action ``1`` the selfish one (defect / hare / straight).

| Creation           | ``parallel_env(game="prisoners_dilemma")``, ``env(...)`` (AEC)   |
|--------------------|------------------------------------------------------------------|
| Agents             | ``["player_0", "player_1"]``                                     |
| Actions            | ``Discrete(2)``: 0 = cooperate/stag/swerve, 1 = defect/hare/straight |
| Observation        | ``Box(0, 1, (5,), float32)``, ``(6,)`` with ``include_round=True`` |
| State              | ``Box(0, 1, (6,), float32)``                                     |
| Episode end        | truncation after ``max_cycles`` rounds (default 10); never terminates |
| Render modes       | ``"ansi"`` (text), ``"rgb_array"`` (64x64x3 uint8 payoff grid)   |

## Payoffs

Each cell is ``(reward player_0, reward player_1)``; row = player_0's action,
column = player_1's action. Every game is symmetric.

| Game                | (0, 0)   | (0, 1)   | (1, 0)   | (1, 1)   | Ordering      |
|---------------------|----------|----------|----------|----------|---------------|
| ``prisoners_dilemma`` | (3, 3) | (0, 5)   | (5, 0)   | (1, 1)   | T=5 > R=3 > P=1 > S=0 |
| ``stag_hunt``         | (4, 4) | (0, 3)   | (3, 0)   | (2, 2)   | R=4 > T=3 > P=2 > S=0 |
| ``chicken``           | (3, 3) | (1, 4)   | (4, 1)   | (0, 0)   | T=4 > R=3 > S=1 > P=0 |

* Prisoner's dilemma: Axelrod's tournament values (T=5, R=3, P=1, S=0).
* Stag hunt: the common 4/0/3/2 convention. Both (stag, stag) and
  (hare, hare) are Nash equilibria; stag is payoff-dominant, hare is
  risk-dominant because hunting hare never pays less than 2.
* Chicken: Rapoport's ordinal table (T=4, R=3, S=1, P=0, i.e. crash = 0).
  Unlike the prisoner's dilemma, giving in (S=1) beats mutual
  stubbornness (P=0), so the pure equilibria are the asymmetric ones.

## Observation

From the observing agent's own perspective, so one policy can play either seat:

| Index | Meaning                                                           |
|-------|-------------------------------------------------------------------|
| 0..3  | one-hot of (own last action, opponent's last action), ordered     |
|       | (0,0), (0,1), (1,0), (1,1); all zero in the first round           |
| 4     | 1.0 in the first round, else 0.0                                  |
| 5     | rounds played / ``max_cycles`` (only with ``include_round=True``) |

``state()`` is the same one-hot from player_0's perspective, the
first-round flag and rounds played / ``max_cycles``.

## Infos

On the final (truncating) step every agent's info holds
``"cooperation_rate"`` (fraction of rounds this agent played 0) and
``"mutual_cooperation"`` (fraction of rounds both played 0). Earlier infos
are empty dicts.

## Version history

* v0: initial release (prisoners_dilemma, stag_hunt, chicken).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.utils import EzPickle
from pettingzoo import AECEnv, ParallelEnv
from pettingzoo.utils.conversions import parallel_to_aec

__all__ = [
    "PAYOFFS",
    "IteratedMatrixGame",
    "chicken",
    "env",
    "parallel_env",
    "prisoners_dilemma",
    "stag_hunt",
]

AgentID = str

# PAYOFFS[game][a0][a1] = (reward player_0, reward player_1).
PAYOFFS: dict[str, tuple[tuple[tuple[float, float], ...], ...]] = {
    "prisoners_dilemma": (((3.0, 3.0), (0.0, 5.0)), ((5.0, 0.0), (1.0, 1.0))),
    "stag_hunt": (((4.0, 4.0), (0.0, 3.0)), ((3.0, 0.0), (2.0, 2.0))),
    "chicken": (((3.0, 3.0), (1.0, 4.0)), ((4.0, 1.0), (0.0, 0.0))),
}

_ACTION_NAMES: dict[str, tuple[str, str]] = {
    "prisoners_dilemma": ("cooperate", "defect"),
    "stag_hunt": ("stag", "hare"),
    "chicken": ("swerve", "straight"),
}

_IMAGE_SIZE = 64  # rgb_array is a 2x2 grid of 32x32 cells.


class IteratedMatrixGame(ParallelEnv, EzPickle):
    """An iterated, symmetric 2x2 matrix game between ``player_0`` and ``player_1``.

    Args:
        game: One of ``PAYOFFS`` (``"prisoners_dilemma"``, ``"stag_hunt"``,
            ``"chicken"``).
        max_cycles: Rounds per episode; the episode is truncated after it.
        include_round: Append rounds played / ``max_cycles`` to each
            observation (shape ``(6,)`` instead of ``(5,)``).
        render_mode: ``None``, ``"ansi"`` or ``"rgb_array"``.

    Raises:
        ValueError: Unknown ``game`` or ``render_mode``, or ``max_cycles < 1``.
    """

    # Instances override "name" per game; PettingZoo reads metadata on the instance.
    metadata: dict[str, Any] = {  # noqa: RUF012
        "render_modes": ["ansi", "rgb_array"],
        "name": "iterated_matrix_game_v0",
        "is_parallelizable": True,
        "render_fps": 2,
    }

    def __init__(
        self,
        game: str = "prisoners_dilemma",
        max_cycles: int = 10,
        include_round: bool = False,
        render_mode: str | None = None,
    ) -> None:
        EzPickle.__init__(
            self,
            game=game,
            max_cycles=max_cycles,
            include_round=include_round,
            render_mode=render_mode,
        )
        if game not in PAYOFFS:
            raise ValueError(f"unknown game {game!r}; choose one of {sorted(PAYOFFS)}")
        if max_cycles < 1:
            raise ValueError(f"max_cycles must be >= 1, got {max_cycles}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode {render_mode!r} not supported; use one of "
                f"{self.metadata['render_modes']} or None"
            )
        self.game = game
        self.max_cycles = max_cycles
        self.include_round = include_round
        self.render_mode = render_mode
        self.metadata = {**self.metadata, "name": f"{game}_v0"}
        self._payoff = np.asarray(PAYOFFS[game], dtype=np.float32)  # (2, 2, 2)

        self.possible_agents: list[AgentID] = ["player_0", "player_1"]
        self.agents: list[AgentID] = []
        obs_dim = 6 if include_round else 5
        self._observation_spaces = {
            a: spaces.Box(0.0, 1.0, (obs_dim,), np.float32) for a in self.possible_agents
        }
        self._action_spaces: dict[str, spaces.Discrete] = {
            a: spaces.Discrete(2) for a in self.possible_agents}
        self.state_space = spaces.Box(0.0, 1.0, (6,), np.float32)

        self._round = 0
        self._last: tuple[int, int] | None = None
        self._coop_counts = np.zeros(2, dtype=np.int64)
        self._mutual_count = 0
        self._returns = np.zeros(2, dtype=np.float64)

    def observation_space(self, agent: AgentID) -> spaces.Box:
        """Returns the (cached) observation space of ``agent``."""
        return self._observation_spaces[agent]

    def action_space(self, agent: AgentID) -> spaces.Discrete:
        """Returns the (cached) action space of ``agent``."""
        return self._action_spaces[agent]

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[AgentID, np.ndarray], dict[AgentID, dict[str, Any]]]:
        """Starts a new episode.

        Args:
            seed: Accepted for API compatibility; the game itself is deterministic.
            options: Ignored.

        Returns:
            Observations and (empty) infos for both agents.
        """
        self.agents = self.possible_agents[:]
        self._round = 0
        self._last = None
        self._coop_counts[:] = 0
        self._mutual_count = 0
        self._returns[:] = 0.0
        return self._observations(), {a: {} for a in self.agents}

    def step(
        self, actions: dict[AgentID, int]
    ) -> tuple[
        dict[AgentID, np.ndarray],
        dict[AgentID, float],
        dict[AgentID, bool],
        dict[AgentID, bool],
        dict[AgentID, dict[str, Any]],
    ]:
        """Plays one round.

        Args:
            actions: An action in ``{0, 1}`` for each live agent.

        Returns:
            ``(observations, rewards, terminations, truncations, infos)``; after
            the ``max_cycles``-th round all truncations are ``True`` and
            ``agents`` becomes empty.

        Raises:
            ValueError: An agent's action is missing or not 0/1.
        """
        if not self.agents:
            raise ValueError("step() called on a finished episode; call reset() first")
        a0, a1 = (self._check_action(actions, agent) for agent in self.possible_agents)
        r0, r1 = self._payoff[a0, a1]
        self._round += 1
        self._last = (a0, a1)
        self._coop_counts += (a0 == 0, a1 == 0)
        self._mutual_count += a0 == 0 and a1 == 0
        self._returns += (r0, r1)

        obs = self._observations()
        rewards = {"player_0": float(r0), "player_1": float(r1)}
        done = self._round >= self.max_cycles
        terminations = {a: False for a in self.agents}
        truncations = {a: done for a in self.agents}
        infos: dict[AgentID, dict[str, Any]] = {a: {} for a in self.agents}
        if done:
            mutual = self._mutual_count / self._round
            for i, agent in enumerate(self.possible_agents):
                infos[agent] = {
                    "cooperation_rate": float(self._coop_counts[i] / self._round),
                    "mutual_cooperation": float(mutual),
                }
            self.agents = []
        return obs, rewards, terminations, truncations, infos

    def state(self) -> np.ndarray:
        """Returns the global state: player_0-perspective one-hot, first flag, progress."""
        s = np.zeros(6, dtype=np.float32)
        if self._last is None:
            s[4] = 1.0
        else:
            s[2 * self._last[0] + self._last[1]] = 1.0
        s[5] = self._round / self.max_cycles
        return s

    def render(self) -> str | np.ndarray | None:
        """Renders the last round as text (``"ansi"``) or a 64x64 RGB grid (``"rgb_array"``).

        In the image, the four cells are the payoff table (row = player_0's
        action); the last joint action is bright, the others dim, and each
        cell's red/green tint is player_0's/player_1's payoff.
        """
        if self.render_mode is None:
            return None
        if self.render_mode == "ansi":
            names = _ACTION_NAMES[self.game]
            last = "-" if self._last is None else f"{names[self._last[0]]}/{names[self._last[1]]}"
            return (
                f"{self.game} round {self._round}/{self.max_cycles} last={last} "
                f"returns=({self._returns[0]:g}, {self._returns[1]:g})"
            )
        img = np.zeros((_IMAGE_SIZE, _IMAGE_SIZE, 3), dtype=np.uint8)
        top = float(self._payoff.max()) or 1.0
        half = _IMAGE_SIZE // 2
        for i in range(2):
            for j in range(2):
                bright = 1.0 if self._last == (i, j) else 0.35
                r0, r1 = self._payoff[i, j] / top
                cell = img[i * half + 1 : (i + 1) * half - 1, j * half + 1 : (j + 1) * half - 1]
                cell[...] = (255 * bright * np.array([r0, r1, 0.5])).astype(np.uint8)
        return img

    def close(self) -> None:
        """Nothing to release."""

    def _check_action(self, actions: dict[AgentID, int], agent: AgentID) -> int:
        if agent not in actions:
            raise ValueError(f"missing action for {agent}")
        action = int(actions[agent])
        if action not in (0, 1):
            raise ValueError(f"action for {agent} must be 0 or 1, got {actions[agent]!r}")
        return action

    def _observations(self) -> dict[AgentID, np.ndarray]:
        obs = {}
        for i, agent in enumerate(self.agents):
            o = np.zeros(self._observation_spaces[agent].shape, dtype=np.float32)
            if self._last is None:
                o[4] = 1.0
            else:
                own, other = self._last[i], self._last[1 - i]
                o[2 * own + other] = 1.0
            if self.include_round:
                o[5] = self._round / self.max_cycles
            obs[agent] = o
        return obs


def parallel_env(game: str = "prisoners_dilemma", **kwargs: Any) -> IteratedMatrixGame:
    """Builds an iterated matrix game as a PettingZoo ``ParallelEnv``.

    Args:
        game: Name of a payoff table in ``PAYOFFS``.
        **kwargs: Forwarded to ``IteratedMatrixGame`` (``max_cycles``,
            ``include_round``, ``render_mode``).

    Returns:
        The parallel environment.
    """
    return IteratedMatrixGame(game=game, **kwargs)


def env(game: str = "prisoners_dilemma", **kwargs: Any) -> AECEnv:
    """Builds an iterated matrix game as a PettingZoo AEC env (via ``parallel_to_aec``).

    Args:
        game: Name of a payoff table in ``PAYOFFS``.
        **kwargs: Forwarded to ``IteratedMatrixGame``.

    Returns:
        The AEC environment (order-enforcing wrapped).
    """
    return parallel_to_aec(parallel_env(game=game, **kwargs))


def prisoners_dilemma(**kwargs: Any) -> IteratedMatrixGame:
    """Iterated prisoner's dilemma (T=5, R=3, P=1, S=0) as a ``ParallelEnv``."""
    return parallel_env("prisoners_dilemma", **kwargs)


def stag_hunt(**kwargs: Any) -> IteratedMatrixGame:
    """Iterated stag hunt (4/0/3/2) as a ``ParallelEnv``."""
    return parallel_env("stag_hunt", **kwargs)


def chicken(**kwargs: Any) -> IteratedMatrixGame:
    """Iterated chicken (T=4, R=3, S=1, P=0) as a ``ParallelEnv``."""
    return parallel_env("chicken", **kwargs)
