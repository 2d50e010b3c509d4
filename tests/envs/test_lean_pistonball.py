"""The registry's pistonball (fast observe, lean parallel conversion, a frame drawn every
step) against PettingZoo's own pistonball_v6 under the same pipeline: the observations
PettingZoo draws with ``render_mode="rgb_array"``, the same rewards, terminations and
truncations step by step, through a truncation and a reset; and why: without a render
mode PettingZoo's pistons never see the ball."""

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


def _drawn(**kwargs):
    """PettingZoo's pistonball drawing its screen every step (it draws only with a render
    mode)."""
    return pistonball_v6.parallel_env(render_mode="rgb_array", **kwargs)


def test_raw_observations_match_pettingzoo_drawn() -> None:
    assert _step_both(pistonball(**PISTONS), _drawn(**PISTONS), 30, 3) >= 2


BALL = np.array([65, 159, 221], np.uint8)  # the ball's colour (also the pistons' tops)


def _ball_pixels(obs: dict) -> int:
    """Pixels of the ball's colour above the pistons' row, summed over the pistons."""
    return sum(int(np.all(o[:-60] == BALL, axis=-1).sum()) for o in obs.values())


def test_pistons_see_the_ball_fall_where_pettingzoo_without_render_mode_does_not() -> None:
    ours, blind = pistonball(**PISTONS), pistonball_v6.parallel_env(**PISTONS)
    obs, _ = ours.reset(seed=5)
    blind_obs, _ = blind.reset(seed=5)
    seen, blind_seen, changed = [], [], 0
    for _ in range(8):
        actions = {agent: 1 for agent in ours.agents}
        new, *_ = ours.step(actions)
        new_blind, *_ = blind.step(actions)
        changed += any(not np.array_equal(new[a], obs[a]) for a in new)
        seen.append(_ball_pixels(new))
        blind_seen.append(_ball_pixels(new_blind))
        obs = new
    assert min(seen) > 500 and changed == 8  # the ball (radius 40) in sight, frames move
    assert blind_seen == [blind_seen[0]] * 8 and blind_seen[0] < min(seen)


def test_a_declared_pipeline_runs_once_per_agent_and_matches_pettingzoo() -> None:
    ours = apply_stack(pistonball(**PISTONS), PIXELS)
    ref = apply_stack(_drawn(**PISTONS), PIXELS)
    assert any(isinstance(e, LeanAecToParallel) for e in _chain(ours))
    assert _step_both(ours, ref, 30, 4) >= 2
    # The stock env through a pipeline gets the lean conversion too (under frame_stack,
    # which stays on the parallel env).
    assert any(isinstance(e, LeanAecToParallel) for e in _chain(ref))
