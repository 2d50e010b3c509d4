"""``env.preprocess``: a named SuperSuit stack, or a declared pipeline of wrappers.

Each named stack is one small function over a PettingZoo env (AEC or parallel), so a
reader sees the whole chain in one block (as CleanRL's ``ppo_pettingzoo_ma_atari.py``
does); they are shorthands of pipelines (``envs.wrappers.pipeline``), e.g. ``pad`` is
``[{pad_observations: {}}, {pad_action_space: {}}]`` and ``frame_stack`` is
``[{frame_stack_v1: 4}]`` (zeros before the first frame; the pipeline's newest
``frame_stack`` repeats the first frame instead).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from envs.wrappers.pipeline import PreprocessError, apply_pipeline, check_pipeline

__all__ = ["STACKS", "apply_stack", "check_preprocess"]


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


def check_preprocess(preprocess: Any) -> None:
    """Validate ``env.preprocess`` without building the env: a named stack, or a declared
    pipeline (``envs.wrappers.pipeline.check_pipeline``).

    Raises:
        PreprocessError: one line naming the stack or step and the fix.
    """
    if isinstance(preprocess, str):
        if preprocess not in STACKS:
            close = difflib.get_close_matches(preprocess, list(STACKS), n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}? " if close else ""
            raise PreprocessError(f"unknown stack {preprocess!r}; {hint}choose one of "
                                  f"{', '.join(STACKS)}, or declare a SuperSuit pipeline "
                                  f"(a list of {{wrapper: args}} steps)")
        return
    check_pipeline(preprocess)


def apply_stack(env: Any, preprocess: str | list[dict[str, Any]]) -> Any:
    """Apply ``env.preprocess``: a named stack, or a declared pipeline, first step innermost.

    Raises:
        PreprocessError: an unknown stack, a malformed step, or a step the env's spaces
            do not take.
    """
    check_preprocess(preprocess)
    if isinstance(preprocess, str):
        return STACKS[preprocess](env)
    return apply_pipeline(env, preprocess)
