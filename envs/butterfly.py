"""PettingZoo's butterfly envs as the registry builds them (pygame, headless with
``SDL_VIDEODRIVER=dummy``).

| id                                      | agents       | observations        | actions |
|-----------------------------------------|--------------|---------------------|---------|
| cooperative/pistonball-v0               | 20 pistons   | 457x120x3 uint8     | 3       |
| cooperative/knights_archers_zombies-v0  | 2 archers,   | 27x5 float          | 6       |
|                                         | 2 knights    | (obs_method=vector) |         |

Pistonball is PettingZoo's constructor as is (its preset declares the pixel pipeline,
see ``envs.registry``). In knights-archers-zombies agents die; ``knights_archers_zombies``
wraps it in black death (``envs.wrappers.black_death``): a dead agent stays, observes
zeros and gets reward 0 until the episode ends, so every agent acts at every step.
"""

from __future__ import annotations

from typing import Any

__all__ = ["knights_archers_zombies"]


def knights_archers_zombies(**kwargs: Any) -> Any:
    """``knights_archers_zombies_v11.parallel_env(**kwargs)`` in black death."""
    from pettingzoo.butterfly import knights_archers_zombies_v11

    from envs.wrappers.black_death import black_death

    return black_death(knights_archers_zombies_v11.parallel_env(**kwargs))
