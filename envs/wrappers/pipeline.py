"""Declared SuperSuit pipelines: ``env.preprocess`` as a list of wrapper steps.

    env:
      preprocess:
        - color_reduction: {mode: B}          # RGB pixels -> the blue channel (H, W)
        - resize: {x_size: 84, y_size: 84}
        - frame_stack: 4                      # (84, 84, 4)
        - dtype: float32
        - normalize_obs: {}                   # [0, 1]

Each step is a one-key mapping ``{wrapper: args}``, applied in order (the first step
wraps the env innermost). ``wrapper`` is SuperSuit's name without its version suffix and
resolves to the newest ``<wrapper>_vN`` SuperSuit has (``frame_stack`` is
``frame_stack_v2``); a suffixed name (``frame_stack_v1``) pins that version. ``args`` is
a mapping of keyword arguments, ``{}`` or null for none, or any other value for the
wrapper's first argument (``frame_stack: 4`` is ``stack_size=4``, ``dtype: float32``).
``black_death`` is ``envs.wrappers.black_death``, not SuperSuit's (see there why).

``check_pipeline`` validates a pipeline without building the env: known wrapper names,
arguments bound against the wrapper's signature, cheap value checks (``mode`` in R, G, B,
full; sizes positive integers). What depends on the env's spaces (resizing a vector)
fails when the env is built, as ``PreprocessError`` naming the step. Named stacks
(``envs.wrappers.stacks``) stay as shorthands.
"""

from __future__ import annotations

import difflib
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["WRAPPERS", "PreprocessError", "Step", "apply_pipeline", "check_pipeline",
           "keeps_image"]


class PreprocessError(ValueError):
    """A preprocessing step that is malformed, or that the env's spaces do not take.

    One line: the step (counted from 1), the wrapper, what is wrong and the fix."""


Check = Callable[[Any], str | None]


def _int(low: int) -> Check:
    def check(v: Any) -> str | None:
        ok = isinstance(v, int) and not isinstance(v, bool) and v >= low
        return None if ok else f"must be an integer >= {low}, got {v!r}"
    return check


def _number(v: Any) -> str | None:
    ok = isinstance(v, int | float) and not isinstance(v, bool)
    return None if ok else f"must be a number, got {v!r}"


def _bool(v: Any) -> str | None:
    return None if isinstance(v, bool) else f"must be true or false, got {v!r}"


def _one_of(*choices: Any) -> Check:
    def check(v: Any) -> str | None:
        return None if v in choices else (f"must be one of {', '.join(map(str, choices))}, "
                                          f"got {v!r}")
    return check


def _probability(v: Any) -> str | None:
    return _number(v) or (None if 0 <= v <= 1 else f"must be in [0, 1], got {v!r}")


def _dtype(v: Any) -> str | None:
    import numpy as np

    if not isinstance(v, str):
        return f"must be a numpy dtype name such as float32, got {v!r}"
    try:
        np.dtype(v)
    except TypeError:
        return f"must be a numpy dtype name such as float32 or uint8, got {v!r}"
    return None


def _shape(v: Any) -> str | None:
    ok = (isinstance(v, list | tuple) and v
          and all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in v))
    return None if ok else f"must be a list of positive integers such as [84, 84, 1], got {v!r}"


# The wrappers a declared pipeline may use -> checks of their argument values. Lambda
# wrappers (they take functions) and vector-env constructors are left out.
WRAPPERS: dict[str, dict[str, Check]] = {
    "color_reduction": {"mode": _one_of("R", "G", "B", "full")},
    "resize": {"x_size": _int(1), "y_size": _int(1), "linear_interp": _bool},
    "frame_stack": {"stack_size": _int(1), "stack_dim": _one_of(-1, 0)},
    "frame_skip": {"num_frames": _int(1)},  # multi-agent: an integer only
    "max_observation": {"memory": _int(1)},
    "delay_observations": {"delay": _int(1)},
    "sticky_actions": {"repeat_action_probability": _probability},
    "dtype": {"dtype": _dtype},
    "normalize_obs": {"env_min": _number, "env_max": _number},
    "flatten": {},
    "reshape": {"shape": _shape},
    "clip_reward": {"lower_bound": _number, "upper_bound": _number},
    "clip_actions": {},
    "scale_actions": {"scale": _number},
    "agent_indicator": {"type_only": _bool},
    "pad_observations": {},
    "pad_action_space": {},
    "black_death": {},
}

# What a wrapper needs of the observations, said when SuperSuit asserts without a message.
_NEEDS = {
    "normalize_obs": "normalize_obs needs float observations with finite bounds: put "
                     "{dtype: float32} before it",
    "resize": "resize needs (H, W) or (H, W, C) observations",
    "color_reduction": "color_reduction needs (H, W, 3) RGB observations",
    "frame_skip": "frame_skip takes an integer number of frames",
}

# Pairs of bounds that must be ordered.
_ORDERED = {"normalize_obs": ("env_min", "env_max"), "clip_reward": ("lower_bound", "upper_bound")}


@dataclass(frozen=True)
class Step:
    """One validated step: the wrapper's name, the function it resolved to and the
    arguments bound by name (``fn`` is e.g. ``"frame_stack_v2"``)."""

    name: str
    fn: str
    kwargs: dict[str, Any]

    def wrapper(self) -> Callable[..., Any]:
        if self.name == "black_death":
            from envs.wrappers.black_death import black_death

            return black_death
        import supersuit

        return getattr(supersuit, self.fn)


def _versions(base: str) -> list[int]:
    import supersuit

    pattern = re.compile(rf"^{re.escape(base)}_v(\d+)$")
    return sorted(int(m.group(1)) for n in dir(supersuit) if (m := pattern.match(n)))


def _resolve(name: str, where: str) -> tuple[str, str]:
    """``(base name, SuperSuit function name)`` of a step's wrapper name."""
    base, version = name, None
    if (m := re.fullmatch(r"(.+)_v(\d+)", name)) and m.group(1) in WRAPPERS:
        base, version = m.group(1), int(m.group(2))
    if base not in WRAPPERS:
        close = difflib.get_close_matches(name, list(WRAPPERS), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}? " if close else ""
        raise PreprocessError(f"{where}: unknown wrapper {name!r}; {hint}known: "
                              f"{', '.join(WRAPPERS)}")
    if base == "black_death":
        if version is not None:
            raise PreprocessError(f"{where}: black_death is marl's own (no version); write "
                                  f"black_death")
        return base, "black_death"
    versions = _versions(base)
    if version is None:
        return base, f"{base}_v{versions[-1]}"
    if version not in versions:
        raise PreprocessError(f"{where}: SuperSuit has no {name}; versions: "
                              f"{', '.join(f'{base}_v{v}' for v in versions)}")
    return base, name


def _parameters(step: Step) -> list[inspect.Parameter]:
    """The wrapper's parameters after the env (SuperSuit's ``WrapperChooser`` wrappers
    take ``*args``: their AEC or parallel class gives the real signature)."""
    fn: Any = step.wrapper()
    target = getattr(fn, "aec_wrapper", None) or getattr(fn, "parallel_wrapper", None) or fn
    params = list(inspect.signature(target).parameters.values())
    return params[1:]  # the env


def _check_step(index: int, raw: Any) -> Step:
    where = f"step {index}"
    if isinstance(raw, str):
        raise PreprocessError(f"{where}: write the step as a mapping, e.g. {{{raw}: {{}}}}, "
                              f"not {raw!r}")
    if not isinstance(raw, dict) or len(raw) != 1:
        raise PreprocessError(f"{where}: each step is one mapping {{wrapper: args}}, e.g. "
                              f"{{frame_stack: 4}}; got {raw!r}")
    ((name, args),) = raw.items()
    if not isinstance(name, str):
        raise PreprocessError(f"{where}: the wrapper name must be a string, got {name!r}")
    base, fn = _resolve(name, where)
    where = f"{where} ({name})"
    step = Step(base, fn, {})
    params = _parameters(step)
    names = [p.name for p in params]
    takes = f"{base} takes {', '.join(names)}" if names else f"{base} takes no arguments"
    if args is None or args == {}:
        kwargs: dict[str, Any] = {}
    elif isinstance(args, dict):
        kwargs = dict(args)
    elif not params:
        raise PreprocessError(f"{where}: {takes}; write {{{name}: {{}}}}")
    else:  # a plain value: the first argument
        kwargs = {names[0]: args}
    for key in kwargs:
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise PreprocessError(f"{where}: unknown argument {key!r}{hint}; {takes}")
    try:
        inspect.Signature(params).bind(**kwargs)
    except TypeError as err:
        raise PreprocessError(f"{where}: {err}; {takes}") from None
    for key, value in kwargs.items():
        problem = WRAPPERS[base][key](value) if key in WRAPPERS[base] else None
        if problem:
            raise PreprocessError(f"{where}: {key} {problem}")
    if base in _ORDERED:
        low_key, high_key = _ORDERED[base]
        defaults = {p.name: p.default for p in params}
        low, high = kwargs.get(low_key, defaults[low_key]), kwargs.get(high_key, defaults[high_key])
        if not low < high:
            raise PreprocessError(f"{where}: {low_key} ({low}) must be below {high_key} ({high})")
    return Step(base, fn, kwargs)


def check_pipeline(steps: Any) -> list[Step]:
    """Validate a declared pipeline without building the env.

    Raises:
        PreprocessError: one line naming the step (from 1), the wrapper and the fix.
    """
    if not isinstance(steps, list | tuple):
        raise PreprocessError(f"a pipeline is a list of {{wrapper: args}} steps, got {steps!r}")
    return [_check_step(i, raw) for i, raw in enumerate(steps, start=1)]


def apply_pipeline(env: Any, steps: Any) -> Any:
    """Wrap ``env`` in each step of a declared pipeline, first step innermost.

    A parallel env that PettingZoo converted from an AEC env (``aec_to_parallel``: MPE,
    SISL, butterfly) gets the pipeline's leading per-observation steps (``_ON_AEC``:
    SuperSuit's observation lambdas, which it applies to the AEC env itself) on its AEC
    env, converted back once by ``LeanAecToParallel`` (SuperSuit's own conversion runs
    them twice per agent per step); the rest (``frame_stack`` and other stateful steps,
    whose AEC form updates one agent per move) wrap the parallel env as before.

    Raises:
        PreprocessError: a malformed step, or one the env's spaces do not take (SuperSuit
            asserts on them), naming the step and the space it got.
    """
    from pettingzoo.utils.conversions import aec_to_parallel_wrapper

    from envs.wrappers.lean_parallel import LeanAecToParallel

    checked = check_pipeline(steps)
    lead = 0
    while lead < len(checked) and checked[lead].name in _ON_AEC:
        lead += 1
    if lead and isinstance(env, aec_to_parallel_wrapper):
        env = LeanAecToParallel(_wrap(env.aec_env, checked[:lead], 1))
        return _wrap(env, checked[lead:], lead + 1)
    return _wrap(env, checked, 1)


# Stateless per-observation steps: SuperSuit's observation lambdas.
_ON_AEC = frozenset({"color_reduction", "resize", "dtype", "normalize_obs", "flatten",
                     "reshape"})


def _wrap(env: Any, steps: list[Step], first: int) -> Any:
    for index, step in enumerate(steps, start=first):
        kwargs = dict(step.kwargs)
        if step.name == "reshape":
            kwargs["shape"] = tuple(kwargs["shape"])  # SuperSuit wants a tuple
        agents = list(getattr(env, "possible_agents", []) or [])
        space = env.observation_space(agents[0]) if agents else None
        try:
            env = step.wrapper()(env, **kwargs)
        except (AssertionError, ValueError, TypeError) as err:
            text = str(err).strip()
            detail = text.splitlines()[0] if text else _NEEDS.get(step.name, "rejected")
            raise PreprocessError(f"step {index} ({step.name}): {detail} (observation space "
                                  f"{space}); fix or remove the step") from None
    return env


def keeps_image(steps: Any, image: bool) -> bool:
    """Whether observations are an image (2 or 3 dimensions) after the pipeline, given
    whether they are one before it: ``flatten`` makes a vector, ``reshape`` to 2 or 3
    dimensions an image; the other wrappers keep the kind (``frame_stack`` stacks
    images along channels, vectors end to end). Steps must be valid."""
    for step in check_pipeline(steps):
        if step.name == "flatten":
            image = False
        elif step.name == "reshape":
            image = len(step.kwargs["shape"]) in (2, 3)
    return image
