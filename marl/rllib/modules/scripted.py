"""Frozen opponents as RLModules (never trained, no weights): masked uniform random (or
uniform in a Box's bounds) and connect four's alpha-beta search."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.rl_module import RLModule

from envs.connect_four_opponents import alphabeta_action

__all__ = ["AlphaBetaModule", "RandomPolicyModule"]

_C4_BOARD = (6, 7, 2)


class AlphaBetaModule(RLModule):
    """Connect four's depth-limited alpha-beta search (``model_config={"depth": k}``).

    Takes the masked observation ``{"observations": 84 floats, "action_mask": 7}``,
    restores the ``(6, 7, 2)`` board and searches each row; ties go to the centre, or
    with ``model_config["ties"] == "random"`` to a random one of the equal-valued moves
    (``model_config["seed"]`` seeds it), so a learner cannot beat it by one fixed line.
    """

    _rng: np.random.Generator | None = None

    def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        obs = batch[Columns.OBS]
        boards = np.asarray(obs["observations"]).reshape(-1, *_C4_BOARD).astype(np.int8)
        masks = np.asarray(obs["action_mask"])
        cfg = self.model_config or {}
        assert isinstance(cfg, dict), "RLModuleSpec.build gives a dict model_config"
        depth = int(cfg.get("depth", 1))
        rng = None
        if cfg.get("ties") == "random":
            if self._rng is None:
                self._rng = np.random.default_rng([int(cfg.get("seed", 0)), depth])
            rng = self._rng
        actions = [alphabeta_action({"observation": b, "action_mask": m}, depth, rng)
                   for b, m in zip(boards, masks, strict=True)]
        return {Columns.ACTIONS: np.asarray(actions, dtype=np.int64)}

    def _forward_train(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        raise NotImplementedError("a scripted opponent is frozen and never trained")

    def compile(self, *args: Any, **kwargs: Any) -> None:  # TorchRLModule API compatibility
        pass

    def get_state(self, *args: Any, **kwargs: Any) -> dict:
        return {}

    def set_state(self, state: dict) -> None:
        pass


def _uniform_box(space: gym.spaces.Box, obs: Any) -> np.ndarray:
    """One uniform action per row, in RLlib's normalized units where the env runner
    maps [-1, 1] to the bounds (``normalize_actions``: bounded spaces), else drawn by
    the space itself (normal on unbounded dimensions)."""
    first = obs if not isinstance(obs, dict) else next(iter(obs.values()))
    rows = len(first)
    if np.all(space.bounded_below) and np.all(space.bounded_above):
        return np.random.uniform(-1.0, 1.0, (rows, *space.shape)).astype(space.dtype)
    return np.stack([space.sample() for _ in range(rows)])


class RandomPolicyModule(RLModule):
    """Uniform random over legal actions (respects ``action_mask`` when present); for Box
    actions uniform in the space's bounds.

    RLlib's own ``RandomRLModule`` ignores masks: as a connect-four opponent it plays
    illegal moves and loses by forfeit. Never trained.
    """

    def _forward(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        obs = batch[Columns.OBS]
        space = self.action_space
        if isinstance(space, gym.spaces.Box):
            return {Columns.ACTIONS: _uniform_box(space, obs)}
        assert isinstance(space, gym.spaces.Discrete), "random actions: Discrete or Box spaces"
        n = int(space.n)
        if isinstance(obs, dict) and "action_mask" in obs:
            mask = np.asarray(obs["action_mask"], dtype=np.float64)
            rows = mask.shape[0]
        else:
            first = obs if not isinstance(obs, dict) else next(iter(obs.values()))
            rows = len(first)
            mask = np.ones((rows, n))
        # Gumbel-max over the legal set: one vectorized draw per row.
        noise = np.random.gumbel(size=(rows, n))
        actions = np.argmax(np.where(mask > 0, noise, -np.inf), axis=1)
        return {Columns.ACTIONS: actions}

    def _forward_train(self, *args, **kwargs):
        raise NotImplementedError("the random policy is frozen and never trained")

    def compile(self, *args, **kwargs):  # TorchRLModule API compatibility
        pass

    def get_state(self, *args, **kwargs) -> dict:
        return {}

    def set_state(self, state: dict) -> None:
        pass
