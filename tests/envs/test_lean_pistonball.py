"""The registry's pistonball (fast observe, lean parallel conversion) against
PettingZoo's own pistonball_v6 under the same pipeline: the same observations, rewards,
terminations and truncations step by step, through a truncation and a reset."""

from __future__ import annotations

import numpy as np
from pettingzoo.butterfly import pistonball_v6

from envs.butterfly import pistonball
from envs.wrappers.lean_parallel import LeanAecToParallel
from envs.wrappers.stacks import apply_stack

PISTONS = {"n_pistons": 5, "continuous": False, "max_cycles": 12}
PIXELS = [{"color_reduction": {"mode": "B"}}, {"resize": {"x_size": 32, "y_size": 32}},
          {"frame_stack": 2}]


def _chain(env) -> list:
    """The env and every env it wraps (``env`` of SuperSuit's wrappers, ``aec_env`` of
    the converters)."""
    out = [env]
    while (inner := getattr(out[-1], "env", None) or getattr(out[-1], "aec_env", None)):
        out.append(inner)
    return out


def _same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key]))


def _step_both(ours, ref, steps: int, seed: int) -> int:
    rng = np.random.default_rng(seed)
    obs, _ = ours.reset(seed=seed)
    ref_obs, _ = ref.reset(seed=seed)
    _same(obs, ref_obs)
    resets = 0
    for _ in range(steps):
        actions = {agent: int(rng.integers(3)) for agent in ref.agents}
        got, want = ours.step(actions), ref.step(actions)
        for part_got, part_want in zip(got[:4], want[:4], strict=True):
            _same(part_got, part_want)
        assert ours.agents == ref.agents
        if not ref.agents:
            resets += 1
            obs, _ = ours.reset(seed=seed + resets)
            ref_obs, _ = ref.reset(seed=seed + resets)
            _same(obs, ref_obs)
    return resets


def test_raw_observations_match_pettingzoo() -> None:
    assert _step_both(pistonball(**PISTONS), pistonball_v6.parallel_env(**PISTONS), 30, 3) >= 2


def test_a_declared_pipeline_runs_once_per_agent_and_matches_pettingzoo() -> None:
    ours = apply_stack(pistonball(**PISTONS), PIXELS)
    ref = apply_stack(pistonball_v6.parallel_env(**PISTONS), PIXELS)
    assert any(isinstance(e, LeanAecToParallel) for e in _chain(ours))
    assert _step_both(ours, ref, 30, 4) >= 2
    # The stock env through a pipeline gets the lean conversion too (under frame_stack,
    # which stays on the parallel env).
    assert any(isinstance(e, LeanAecToParallel) for e in _chain(ref))
