"""Named SuperSuit preprocessing stacks, selectable in the spec as ``env.preprocess``.

Each stack is one small function over a PettingZoo env (AEC or parallel), so a reader
sees the whole chain in one block (as CleanRL's ``ppo_pettingzoo_ma_atari.py`` does).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["STACKS", "apply_stack"]


def _none(env: Any) -> Any:
    return env


def _pad(env: Any) -> Any:
    """Pad observations and action spaces to the largest agent's, so agents with
    different spaces (predators and prey) can share one policy."""
    import supersuit as ss

    return ss.pad_action_space_v0(ss.pad_observations_v0(env))


def _frame_stack(env: Any) -> Any:
    """Stack the last 4 observations (gives an MLP policy short-term memory)."""
    import supersuit as ss

    return ss.frame_stack_v1(env, 4)


def _pad_frame_stack(env: Any) -> Any:
    return _frame_stack(_pad(env))


STACKS: dict[str, Callable[[Any], Any]] = {
    "none": _none,
    "pad": _pad,
    "frame_stack": _frame_stack,
    "pad_frame_stack": _pad_frame_stack,
}


def apply_stack(env: Any, name: str) -> Any:
    """Apply the named stack.

    Raises:
        KeyError: for an unknown stack name, listing the known ones.
    """
    if name not in STACKS:
        raise KeyError(f"unknown preprocess stack {name!r}; choose one of {', '.join(STACKS)}")
    return STACKS[name](env)
