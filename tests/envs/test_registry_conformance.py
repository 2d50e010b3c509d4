"""PettingZoo conformance for every registered env id, and the named SuperSuit stacks.

Ids come from ``envs.registry.env_ids()``, so a new registry line is tested without
editing this file. ``parallel_api_test`` rejects conversion wrappers, so parallel envs are
tested raw (``make_env``) and, separately, through ``parallel_to_aec`` with ``api_test``.
"""

from __future__ import annotations

import numpy as np
import pytest
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test, seed_test
from pettingzoo.utils.conversions import parallel_to_aec

from envs.registry import check_env_id, env_ids, make_env
from envs.wrappers.pipeline import PreprocessError
from envs.wrappers.stacks import STACKS, apply_stack

CYCLES = 50


def _short(env_id: str) -> dict:
    """Constructor overrides that keep long episodes short (the registry's own kwargs)."""
    return {"max_cycles": CYCLES} if "max_cycles" in check_env_id(env_id).defaults else {}


def _ids(api: str) -> list[str]:
    return [i for i in env_ids() if check_env_id(i).api == api]


def test_registry_has_aec_and_parallel_ids() -> None:
    # Guards the parametrization below: an empty list would silently test nothing.
    assert _ids("aec") and _ids("parallel")


@pytest.mark.parametrize("env_id", _ids("aec"))
def test_aec_api(env_id: str) -> None:
    api_test(make_env(env_id, _short(env_id)), num_cycles=CYCLES)


@pytest.mark.parametrize("env_id", _ids("aec"))
def test_aec_seed(env_id: str) -> None:
    seed_test(lambda: make_env(env_id, _short(env_id)), num_cycles=CYCLES)


@pytest.mark.parametrize("env_id", _ids("parallel"))
def test_parallel_api_raw(env_id: str) -> None:
    parallel_api_test(make_env(env_id, _short(env_id)), num_cycles=CYCLES)


@pytest.mark.parametrize("env_id", _ids("parallel"))
def test_parallel_as_aec_api(env_id: str) -> None:
    api_test(parallel_to_aec(make_env(env_id, _short(env_id))), num_cycles=CYCLES)


@pytest.mark.parametrize("env_id", _ids("parallel"))
def test_parallel_seed(env_id: str) -> None:
    parallel_seed_test(lambda: make_env(env_id, _short(env_id)), num_cycles=CYCLES)


@pytest.mark.parametrize("env_id", env_ids())
def test_possible_agents_and_spaces_are_declared(env_id: str) -> None:
    env = make_env(env_id, _short(env_id))
    env.reset(seed=0)
    assert env.possible_agents, f"{env_id} declares no possible_agents"
    for agent in env.possible_agents:
        assert env.observation_space(agent) is not None
        assert env.action_space(agent) is not None
    env.close()


# ---------------------------------------------------------------- SuperSuit stacks on tag
TAG = "competitive/tag-v0"


def test_tag_spaces_differ_unpadded() -> None:
    # The premise of the pad stack: predators and prey observe different sizes.
    env = make_env(TAG, {"max_cycles": CYCLES})
    sizes = {env.observation_space(a).shape for a in env.possible_agents}
    assert len(sizes) == 2


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_stack_on_tag_passes_parallel_api(stack: str) -> None:
    parallel_api_test(apply_stack(make_env(TAG, {"max_cycles": CYCLES}), stack), num_cycles=CYCLES)


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_stack_on_tag_passes_aec_api(stack: str) -> None:
    env = apply_stack(make_env(TAG, {"max_cycles": CYCLES}), stack)
    api_test(parallel_to_aec(env), num_cycles=CYCLES)


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_stack_on_tag_is_seeded(stack: str) -> None:
    parallel_seed_test(lambda: apply_stack(make_env(TAG, {"max_cycles": CYCLES}), stack),
                       num_cycles=CYCLES)


@pytest.mark.parametrize("stack", ["pad", "pad_frame_stack"])
def test_pad_makes_all_spaces_equal(stack: str) -> None:
    raw = make_env(TAG, {"max_cycles": CYCLES})
    widest = max(raw.observation_space(a).shape[0] for a in raw.possible_agents)
    env = apply_stack(make_env(TAG, {"max_cycles": CYCLES}), stack)
    agents = env.possible_agents
    obs_spaces = [env.observation_space(a) for a in agents]
    act_spaces = [env.action_space(a) for a in agents]
    assert all(s == obs_spaces[0] for s in obs_spaces), obs_spaces
    assert all(s == act_spaces[0] for s in act_spaces), act_spaces
    frames = 4 if "frame_stack" in stack else 1
    assert int(np.prod(obs_spaces[0].shape)) == widest * frames
    obs, _ = env.reset(seed=0)
    for agent in agents:
        assert obs[agent].shape == obs_spaces[0].shape
        assert env.observation_space(agent).contains(obs[agent])


def test_frame_stack_keeps_each_agents_size_times_four() -> None:
    raw = make_env(TAG, {"max_cycles": CYCLES})
    env = apply_stack(make_env(TAG, {"max_cycles": CYCLES}), "frame_stack")
    for agent in raw.possible_agents:
        assert int(np.prod(env.observation_space(agent).shape)) == 4 * int(
            np.prod(raw.observation_space(agent).shape))


def test_unknown_stack_names_the_choices() -> None:
    with pytest.raises(PreprocessError, match="pad_frame_stack"):
        apply_stack(make_env(TAG), "zzz")


@pytest.mark.parametrize("env_id", env_ids())
def test_api_is_detected_from_the_built_env(env_id: str) -> None:
    """``api_of`` (used below the registry: evaluation, env adapters) agrees with the
    registry's declared api, through preprocessing stacks and mask wrappers too."""
    from envs.factory import api_of, make_spec_env

    env = make_spec_env({"id": env_id, "preprocess": "pad" if env_id.endswith("tag-v0") else "none"})
    try:
        assert api_of(env) == check_env_id(env_id).api
    finally:
        env.close()
