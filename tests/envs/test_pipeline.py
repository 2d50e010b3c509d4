"""Declared SuperSuit pipelines (``envs.wrappers.pipeline``) and black death, on real envs.

Validation builds no env; application is checked against SuperSuit's own wrappers chained
by hand, and black death against the raw knights-archers-zombies stepped in lockstep.
"""

from __future__ import annotations

import numpy as np
import pytest
import supersuit as ss
from pettingzoo.butterfly import knights_archers_zombies_v11, pistonball_v6
from pettingzoo.test import parallel_api_test

from envs.factory import make_spec_env
from envs.registry import check_env_id, make_env
from envs.wrappers.pipeline import PreprocessError, apply_pipeline, check_pipeline, keeps_image
from envs.wrappers.stacks import apply_stack, check_preprocess

PIXELS = [{"color_reduction": {"mode": "B"}}, {"resize": {"x_size": 32, "y_size": 24}},
          {"frame_stack": 2}, {"dtype": "float32"}, {"normalize_obs": {}}]
PISTONS = {"n_pistons": 4, "continuous": False, "max_cycles": 40}


def _error(steps: object) -> str:
    with pytest.raises(PreprocessError) as info:
        check_preprocess(steps)
    message = str(info.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------- validation, no env
def test_a_good_pipeline_resolves_to_the_newest_supersuit_versions() -> None:
    steps = check_pipeline(PIXELS)
    assert [(s.name, s.fn) for s in steps] == [
        ("color_reduction", "color_reduction_v0"), ("resize", "resize_v1"),
        ("frame_stack", "frame_stack_v2"), ("dtype", "dtype_v0"),
        ("normalize_obs", "normalize_obs_v0")]
    # A plain value is the first argument; {} or null is none.
    assert steps[2].kwargs == {"stack_size": 2} and steps[3].kwargs == {"dtype": "float32"}
    assert steps[4].kwargs == {}
    assert check_pipeline([{"frame_stack_v1": {"stack_size": 3}}])[0].fn == "frame_stack_v1"
    assert check_pipeline([{"black_death": None}])[0].fn == "black_death"


def test_unknown_wrapper_names_the_step_suggests_and_lists_the_known() -> None:
    message = _error([{"frame_stack": 4}, {"resise": {"x_size": 8, "y_size": 8}}])
    assert message.startswith("step 2: unknown wrapper 'resise'")
    assert "did you mean resize?" in message and "color_reduction" in message
    assert "unknown wrapper 'nope'" in _error([{"nope": {}}])
    assert "versions: frame_stack_v1, frame_stack_v2" in _error([{"frame_stack_v9": 4}])


@pytest.mark.parametrize(("steps", "needles"), [
    ([{"resize": {"xsize": 8, "y_size": 8}}],
     ["step 1 (resize)", "unknown argument 'xsize'", "did you mean x_size?", "takes x_size"]),
    ([{"resize": {"x_size": 8}}], ["step 1 (resize)", "missing a required argument: 'y_size'"]),
    ([{"flatten": 3}], ["flatten takes no arguments"]),
    ([{"color_reduction": {"mode": "Q"}}], ["mode must be one of R, G, B, full", "'Q'"]),
    ([{"resize": {"x_size": 0, "y_size": 8}}], ["x_size must be an integer >= 1"]),
    ([{"frame_stack": True}], ["stack_size must be an integer"]),
    ([{"dtype": "flot32"}], ["numpy dtype name"]),
    ([{"normalize_obs": {"env_min": 1, "env_max": 0}}], ["env_min (1) must be below env_max (0)"]),
    ([{"reshape": [4, 0]}], ["shape must be a list of positive integers"]),
    (["flatten"], ["step 1", "write the step as a mapping", "{flatten: {}}"]),
    ([{"flatten": {}, "dtype": "float32"}], ["each step is one mapping"]),
    ({"frame_stack": 4}, ["a pipeline is a list"]),
    ("zzz", ["unknown stack 'zzz'", "pad_frame_stack", "pipeline"]),
    ("pad_frame_stak", ["did you mean pad_frame_stack?"]),
])
def test_bad_steps_are_one_line_naming_the_fix(steps: object, needles: list[str]) -> None:
    message = _error(steps)
    for needle in needles:
        assert needle in message, (needle, message)


def test_named_stacks_stay_valid_shorthands() -> None:
    for name in ("none", "pad", "frame_stack", "pad_frame_stack"):
        check_preprocess(name)


def test_keeps_image_follows_flatten_and_reshape() -> None:
    assert keeps_image(PIXELS, True)
    assert not keeps_image([{"frame_stack": 4}], False)
    assert not keeps_image([{"flatten": {}}], True)
    assert keeps_image([{"reshape": [27, 5, 1]}], False)
    assert not keeps_image([{"reshape": [135]}], True)


# ---------------------------------------------------------------- applied to real envs
def test_pipeline_equals_supersuit_chained_by_hand() -> None:
    env = apply_stack(pistonball_v6.parallel_env(**PISTONS), PIXELS)
    ref = pistonball_v6.parallel_env(**PISTONS)
    ref = ss.normalize_obs_v0(ss.dtype_v0(ss.frame_stack_v2(
        ss.resize_v1(ss.color_reduction_v0(ref, "B"), 32, 24), 2), "float32"))
    space = env.observation_space("piston_0")
    assert space == ref.observation_space("piston_0")
    assert space.shape == (24, 32, 2) and space.dtype == np.float32
    obs, _ = env.reset(seed=3)
    want, _ = ref.reset(seed=3)
    for _ in range(5):
        for agent in env.possible_agents:
            np.testing.assert_array_equal(obs[agent], want[agent])
            assert space.contains(obs[agent]) and 0.0 <= obs[agent].min() <= obs[agent].max() <= 1.0
        actions = {a: 2 for a in env.agents}
        obs, *_ = env.step(actions)
        want, *_ = ref.step(actions)
    assert obs["piston_0"][..., 0].std() > 0  # real pixels, not zeros


def test_pipeline_env_passes_the_parallel_api() -> None:
    parallel_api_test(apply_stack(pistonball_v6.parallel_env(**PISTONS), PIXELS), num_cycles=20)


def test_a_step_the_space_does_not_take_names_step_and_space() -> None:
    env = knights_archers_zombies_v11.parallel_env()
    with pytest.raises(PreprocessError) as info:
        apply_pipeline(env, [{"dtype": "float32"}, {"color_reduction": {"mode": "R"}}])
    message = str(info.value)
    assert message.startswith("step 2 (color_reduction): ") and "(27, 5)" in message
    with pytest.raises(PreprocessError, match="put {dtype: float32} before it"):
        apply_pipeline(pistonball_v6.parallel_env(**PISTONS), [{"normalize_obs": {}}])


def test_factory_builds_registry_envs_with_a_declared_pipeline() -> None:
    env = make_spec_env({"id": "cooperative/pistonball-v0", "config": PISTONS,
                         "preprocess": PIXELS})
    obs, _ = env.reset(seed=0)
    assert env.possible_agents == [f"piston_{i}" for i in range(4)]
    assert {o.shape for o in obs.values()} == {(24, 32, 2)}
    obs, rew, *_ = env.step({a: 1 for a in env.agents})
    assert set(rew) == set(env.possible_agents)


# ---------------------------------------------------------------- the two butterfly entries
def test_butterfly_entries_declare_what_they_build() -> None:
    piston = check_env_id("cooperative/pistonball-v0")
    env = make_env(piston.id)
    assert len(env.possible_agents) == 20 and piston.observations == "image"
    assert env.observation_space("piston_0").shape == (457, 120, 3)
    assert env.action_space("piston_0").n == 3  # discrete (continuous=False)
    kaz = check_env_id("cooperative/knights_archers_zombies-v0")
    env = make_env(kaz.id)
    assert kaz.setting == "cooperative" and kaz.observations == "vector"
    assert env.observation_space("archer_0").shape == (27, 5)
    assert set(env.possible_agents) == {"archer_0", "archer_1", "knight_0", "knight_1"}


def _lockstep(config: dict, seed: int) -> tuple[int, dict, int]:
    """Raw KAZ and the registry's black-death KAZ, same seed and actions, until the raw
    one ends. Returns the last step, the wrapped env's last flags and dead-agent steps."""
    raw = knights_archers_zombies_v11.parallel_env(**config)
    wrapped = make_env("cooperative/knights_archers_zombies-v0", config)
    obs_raw, _ = raw.reset(seed=seed)
    obs, _ = wrapped.reset(seed=seed)
    rng = np.random.default_rng(seed)
    dead_steps, step = 0, 0
    while raw.agents:
        step += 1
        actions = {a: int(rng.integers(6)) for a in wrapped.possible_agents}
        live = list(raw.agents)
        obs_raw, rew_raw, *_ = raw.step({a: actions[a] for a in live})
        obs, rew, term, trunc, _ = wrapped.step(actions)
        assert set(obs) == set(wrapped.possible_agents)  # every agent, every step
        for agent in wrapped.possible_agents:
            if agent in obs_raw:
                np.testing.assert_array_equal(obs[agent], obs_raw[agent])
                assert rew[agent] == rew_raw[agent]
            else:  # dead: zeros, no reward
                dead_steps += 1
                assert not obs[agent].any() and rew[agent] == 0.0
        if raw.agents:
            assert not any(term.values()) and not any(trunc.values()) and wrapped.agents
    assert wrapped.agents == []
    return step, {"term": term, "trunc": trunc}, dead_steps


def test_black_death_ends_with_the_env_on_a_time_limit_as_truncated() -> None:
    step, flags, _ = _lockstep({"max_cycles": 60, "killable_knights": False,
                                   "killable_archers": False}, seed=0)
    assert step == 60  # SuperSuit's black_death_v3 ends one all-zero step later
    assert all(flags["trunc"].values()) and not any(flags["term"].values())


def test_black_death_keeps_dead_agents_and_ends_terminated() -> None:
    step, flags, dead_steps = _lockstep({"max_cycles": 900}, seed=1)
    assert dead_steps > 0 and step < 900  # agents died, then the game ended
    assert all(flags["term"].values()) and not any(flags["trunc"].values())
