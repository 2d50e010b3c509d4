"""A deep copy of a PettingZoo env *with its state*, for tree search.

``copy.deepcopy`` of a PettingZoo env rebuilds it from its constructor arguments
(``EzPickle``), so the copy has lost the game in progress. ``clone`` copies every
wrapper layer's and the raw env's attributes onto such a rebuilt env instead
(render surfaces excepted: a clone never renders).
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["clone"]

_SKIP = frozenset({"env", "screen", "clock", "render_mode", "_ezpickle_args", "_ezpickle_kwargs"})


def _layers(env: Any) -> list[Any]:
    out = [env]
    while hasattr(out[-1], "__dict__") and "env" in out[-1].__dict__:
        out.append(out[-1].__dict__["env"])
    return out


def clone(env: Any) -> Any:
    """An independent copy of ``env`` in the same state (stepping one leaves the other)."""
    new = copy.deepcopy(env)
    for src, dst in zip(_layers(env), _layers(new), strict=True):
        state = {k: v for k, v in src.__dict__.items() if k not in _SKIP}
        dst.__dict__.update(copy.deepcopy(state))
    return new
