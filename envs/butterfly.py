"""PettingZoo's butterfly envs as the registry builds them (pygame, headless with
``SDL_VIDEODRIVER=dummy``).

| id                                      | agents       | observations        | actions |
|-----------------------------------------|--------------|---------------------|---------|
| cooperative/pistonball-v0               | 20 pistons   | 457x120x3 uint8     | 3       |
| cooperative/knights_archers_zombies-v0  | 2 archers,   | 27x5 float          | 6       |
|                                         | 2 knights    | (obs_method=vector) |         |

``pistonball`` is PettingZoo's pistonball_v6 with the same rewards and dynamics, and the
observations PettingZoo gives with ``render_mode="rgb_array"`` whatever the render mode:
pettingzoo 1.27's pistonball draws its screen only when a render mode is set, so without
one (the default, and what every training run uses) each piston observes the frame of
its reset for the whole episode, the ball never in sight. Observed faster: PettingZoo
copies each piston's crop out of a locked pygame surface view (about 0.25 ms a piston,
twice per step through ``aec_to_parallel``); here the screen is copied once per frame
(``pygame.image.tobytes``, ~0.75 ms) and each crop is a slice of it, and the parallel env
is ``envs.wrappers.lean_parallel`` (one observe per piston per step). Its preset declares the pixel pipeline (see ``envs.registry``).

In knights-archers-zombies agents die; ``knights_archers_zombies`` wraps it in black death
(``envs.wrappers.black_death``): a dead agent stays, observes zeros and gets reward 0
until the episode ends, so every agent acts at every step.
"""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["knights_archers_zombies", "pistonball", "pistonball_aec"]


@functools.cache
def _fast_observe_class() -> type:
    """pistonball's ``raw_env`` whose ``observe`` slices one copy of the screen per
    drawn frame (the screen only changes in ``draw``/``draw_background``)."""
    import numpy as np
    import pygame
    from pettingzoo.butterfly.pistonball.pistonball import raw_env

    class FastObservePistonball(raw_env):
        _frame: Any = None

        def draw_background(self) -> None:
            self._frame = None
            super().draw_background()

        def draw(self) -> None:
            # PettingZoo's draw returns at once without a render mode, so its pistons
            # observe the frame of their reset for the whole episode (no ball, no piston
            # moving). Draw every frame: what PettingZoo's pistons see with
            # render_mode="rgb_array".
            self._frame = None
            mode: Any = vars(self)["render_mode"]
            self.render_mode = mode or "rgb_array"
            try:
                super().draw()
            finally:
                self.render_mode = mode

        def observe(self, agent: str) -> Any:
            if self._frame is None:
                w, h = self.screen.get_size()
                # (y, x, rgb): PettingZoo's crop of the (x, y) surface, rotated and
                # mirrored, is exactly this layout's slice.
                self._frame = np.frombuffer(pygame.image.tobytes(self.screen, "RGB"),
                                            np.uint8).reshape(h, w, 3)
            i = self.agent_name_mapping[agent]
            x_low = self.wall_width + self.piston_width * (i - 1)
            x_high = self.wall_width + self.piston_width * (i + 2)
            y_low = self.wall_width
            y_high = self.screen_height - self.wall_width - self.piston_body_height
            return self._frame[y_low:y_high, x_low:x_high].copy()

    return FastObservePistonball


def pistonball_aec(**kwargs: Any) -> Any:
    """``pistonball_v6.env(**kwargs)`` (the same wrappers) on the fast-observing raw env."""
    from pettingzoo.utils import wrappers

    env = _fast_observe_class()(**kwargs)
    if env.continuous:
        env = wrappers.ClipOutOfBoundsWrapper(env)
    else:
        env = wrappers.AssertOutOfBoundsWrapper(env)
    return wrappers.OrderEnforcingWrapper(env)


def pistonball(**kwargs: Any) -> Any:
    """``pistonball_v6.parallel_env(**kwargs)``, observed faster (module docstring)."""
    from envs.wrappers.lean_parallel import LeanAecToParallel

    return LeanAecToParallel(pistonball_aec(**kwargs))


def knights_archers_zombies(**kwargs: Any) -> Any:
    """``knights_archers_zombies_v11.parallel_env(**kwargs)`` in black death."""
    from pettingzoo.butterfly import knights_archers_zombies_v11

    from envs.wrappers.black_death import black_death

    return black_death(knights_archers_zombies_v11.parallel_env(**kwargs))
