"""OpenSpiel games as PettingZoo AEC envs with action-mask observations, through Shimmy.

| Creation     | ``env(game_name="kuhn_poker", **game_params)`` (``game_params``: the        |
|              | OpenSpiel game's parameters, e.g. ``players=2`` for hanabi)                  |
|--------------|------------------------------------------------------------------------------|
| Agents       | ``player_0`` .. ``player_{n-1}`` (Shimmy's names): ``player_i`` is OpenSpiel |
|              | player ``i``; turn order is the game's                                       |
| Actions      | ``Discrete(game.num_distinct_actions())``                                    |
| Observation  | ``{"observation": Box(-inf, inf, (T,), float32), "action_mask":             |
|              | Box(0, 1, (A,), int8)}``: ``T`` is the information state tensor (perfect     |
|              | recall: kuhn 11, leduc 30) or, for games without one, the observation       |
|              | tensor (hanabi 658); the mask is ``state.legal_actions_mask(player)``        |
| Chance       | hidden: chance nodes (deals) are sampled from the env's seeded RNG          |
| Rewards      | OpenSpiel's ``state.rewards()`` after each move; an episode's returns are   |
|              | ``state.returns()``                                                          |
| Episode end  | termination at OpenSpiel's terminal state; never truncated                  |

Built on ``shimmy.OpenSpielCompatibilityV0`` (2.0.1), with four of its behaviours fixed
(each found by playing the games; ``tests/envs/test_openspiel.py`` pins them):

* it truncates once ``game_length`` (decisions *and* chance nodes) passes
  ``game.max_game_length()`` (decisions only): Kuhn poker after its first move, leduc
  after its fifth (of up to 8), hanabi 2p after ~74 of its up to 118 moves. Games here
  end at OpenSpiel's terminal state only.
* the last agent to leave a finished game is credited the final reward twice (Shimmy's
  end routine re-accumulates ``rewards``): dead agents step through PettingZoo's
  ``_was_dead_step``, which clears them.
* ``reset()`` without a seed reseeds from OS entropy, so episodes after the first seeded
  one are not reproducible; here it draws the next seed from the env's own RNG.
* spaces are rebuilt on every step, which drops the seeding of ``action_space().sample``
  (PettingZoo's ``seed_test`` fails); here they are built once.

OpenSpiel's own code (exploitability, CFR) works on the underlying game: ``env.game`` (the
``pyspiel.Game``; reachable through wrappers, or ``env.unwrapped.game``) and
``env.game_state`` (Shimmy's current ``pyspiel.State``; ``env.state()`` stays
PettingZoo's global-state method, which OpenSpiel games do not implement). A trained
policy becomes an OpenSpiel policy by feeding it ``observe(state, player)`` (the tensor)
or ``observation_of(state, player)`` (the dict this env observes), so an exploitability
evaluation sees exactly what training saw.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.utils import EzPickle
from pettingzoo.utils import OrderEnforcingWrapper
from shimmy.openspiel_compatibility import OpenSpielCompatibilityV0

__all__ = ["OpenSpielEnv", "env", "observation_of", "observe"]


def _tensor_kind(game: Any) -> str:
    game_type = game.get_type()
    if game_type.provides_information_state_tensor:
        return "information_state"
    if game_type.provides_observation_tensor:
        return "observation"
    raise ValueError(f"OpenSpiel game {game_type.short_name!r} has no information state or "
                     f"observation tensor; only games with one are supported")


def observe(state: Any, player: int, kind: str | None = None) -> np.ndarray:
    """The tensor ``player`` observes in an OpenSpiel ``state``, as float32: the
    information state tensor, else the observation tensor.

    Args:
        kind: ``information_state`` or ``observation``; None: the game's (looked up).
    """
    if (kind or _tensor_kind(state.get_game())) == "information_state":
        return np.asarray(state.information_state_tensor(player), dtype=np.float32)
    return np.asarray(state.observation_tensor(player), dtype=np.float32)


def observation_of(state: Any, player: int, kind: str | None = None) -> dict[str, np.ndarray]:
    """What the env observes for ``player`` in ``state``: ``observe`` and the legal-action
    mask (int8)."""
    return {"observation": observe(state, player, kind),
            "action_mask": np.asarray(state.legal_actions_mask(player), dtype=np.int8)}


class OpenSpielEnv(OpenSpielCompatibilityV0):
    """Shimmy's OpenSpiel AEC env with mask-dict observations and the fixes above."""

    metadata = {"render_modes": [], "name": "openspiel_v0", "is_parallelizable": False}

    def __init__(self, game_name: str, **game_params: Any):
        self._spaces_built = False
        super().__init__(game_name=game_name, config=dict(game_params) or None)
        EzPickle.__init__(self, game_name, **game_params)

    @property
    def game(self) -> Any:
        """The ``pyspiel.Game`` being played."""
        return self._env

    def _update_observation_spaces(self) -> None:
        if self._spaces_built:  # Shimmy calls this every step; the shapes never change
            return
        self._kind = _tensor_kind(self._env)
        shape = (self._env.information_state_tensor_shape()
                 if self._kind == "information_state"
                 else self._env.observation_tensor_shape())
        n = self._env.num_distinct_actions()
        self.observation_spaces = {a: spaces.Dict({
            "observation": spaces.Box(-np.inf, np.inf, tuple(shape), np.float32),
            "action_mask": spaces.Box(0, 1, (n,), np.int8),
        }) for a in self.possible_agents}

    def _update_action_spaces(self) -> None:
        if self._spaces_built:
            return
        n = self._env.num_distinct_actions()
        self.action_spaces: dict[str, spaces.Space] = {
            a: spaces.Discrete(n) for a in self.possible_agents}
        self._spaces_built = True  # observation spaces are built first (Shimmy's order)

    def _update_observations(self) -> None:
        """Observations are computed on ``observe`` (most turns observe one agent)."""

    def _update_termination_truncation(self) -> None:
        done = bool(self.game_state.is_terminal())
        self.terminations = {a: done for a in self.agents}
        self.truncations = {a: False for a in self.agents}

    def observe(self, agent: str) -> dict[str, np.ndarray]:
        return observation_of(self.game_state, self.agent_name_id_mapping[agent], self._kind)

    def reset(self, seed: int | None = None, options: dict | None = None) -> None:
        if seed is None and hasattr(self, "np_random"):
            seed = int(self.np_random.integers(2**31 - 1))  # the next episode of this stream
        super().reset(seed=seed, options=options)

    def step(self, action: Any) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        if not self.infos[agent]["action_mask"][int(action)]:
            legal = np.flatnonzero(self.infos[agent]["action_mask"]).tolist()
            raise ValueError(f"{agent}: action {action} is illegal here; legal: {legal}")
        super().step(int(action))


def env(game_name: str, render_mode: str | None = None, **game_params: Any) -> Any:
    """The OpenSpiel game ``game_name`` (with ``game_params``) as an AEC env.

    Raises:
        TypeError: for a ``render_mode``: OpenSpiel games have no frames to render.
    """
    if render_mode is not None:
        raise TypeError(f"OpenSpiel games take no render_mode (got {render_mode!r})")
    return OrderEnforcingWrapper(OpenSpielEnv(game_name, **game_params))
