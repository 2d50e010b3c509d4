"""PettingZoo conformance of what training sees, and of what the registry declares.

For every registered id (``envs.registry.env_ids()``, so a new entry is covered without
editing this file):

* the spec env (``envs.factory.make_spec_env``: the raw env plus the mask dict for masked
  games) passes PettingZoo's ``api_test`` / ``parallel_api_test`` and its seed test
  (masks viewed as int8, see ``_Int8MaskView``);
* the entry's declared ``api``, ``actions``, ``observations``, ``masked`` and ``board``
  match the built env.

And every preprocessing stack or pipeline that an experiment (``experiments/*.yaml``) or a
registry preset uses passes the same tests on the env it is used with. The raw envs
(``make_env``) are tested in ``test_registry_conformance.py``, as are the named stacks on
tag.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import yaml
from pettingzoo.utils import BaseWrapper
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test, seed_test

from envs.factory import api_of, make_spec_env
from envs.registry import check_env_id, env_ids, make_env

ROOT = Path(__file__).resolve().parents[2]
CYCLES = 25


def _config(env_id: str) -> dict[str, Any]:
    """Short episodes where the env has a time limit (the tests play a few cycles)."""
    return {"max_cycles": CYCLES} if "max_cycles" in check_env_id(env_id).defaults else {}


class _Int8MaskView(BaseWrapper):
    """The spec env's mask as PettingZoo's tests sample with it.

    ``MaskedDictObs`` gives float32 masks, the dtype RLlib's masked modules and the
    samplers' float32 buffers take; gymnasium's ``Discrete.sample(mask)``, which
    ``api_test`` and ``seed_test`` call with the observed mask, asserts int8. This view
    casts the mask back and changes nothing else, so the tests check the rest of
    ``MaskedDictObs`` (its spaces, ``observe`` and ``last``).
    """

    def __init__(self, env: Any):
        super().__init__(env)
        self._spaces = {a: gym.spaces.Dict({
            "observations": env.observation_space(a)["observations"],
            "action_mask": gym.spaces.Box(0, 1, env.observation_space(a)["action_mask"].shape,
                                          np.int8)}) for a in env.possible_agents}

    def observation_space(self, agent: str) -> gym.spaces.Dict:
        return self._spaces[agent]

    def observe(self, agent: str) -> Any:
        return self._int8(self.env.observe(agent))

    def last(self, observe: bool = True) -> tuple[Any, float, bool, bool, dict]:
        obs, *rest = self.env.last(observe)
        return (self._int8(obs), *rest)

    @staticmethod
    def _int8(obs: Any) -> Any:
        if obs is None:
            return None
        assert obs["action_mask"].dtype == np.float32  # what the masked modules take
        return {**obs, "action_mask": obs["action_mask"].astype(np.int8)}


def _spec_env(env_id: str, preprocess: Any = "none", view: bool = True) -> Any:
    env = make_spec_env({"id": env_id, "config": _config(env_id), "preprocess": preprocess})
    return _Int8MaskView(env) if view and check_env_id(env_id).masked else env


def _api(env: Any, api: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()):  # "Starting API test" / "Passed API test"
        (api_test if api == "aec" else parallel_api_test)(env, num_cycles=CYCLES)


def _seed(make: Any, api: str) -> None:
    (seed_test if api == "aec" else parallel_seed_test)(make, num_cycles=CYCLES)


@pytest.mark.parametrize("env_id", env_ids())
def test_spec_env_passes_pettingzoo_api_test(env_id: str) -> None:
    _api(_spec_env(env_id), check_env_id(env_id).api)


@pytest.mark.parametrize("env_id", env_ids())
def test_spec_env_is_deterministic_under_a_seed(env_id: str) -> None:
    _seed(lambda: _spec_env(env_id), check_env_id(env_id).api)


def _obs_part(space: gym.Space) -> gym.Space:
    """The features of a mask dict (raw ``observation`` or marl's ``observations``)."""
    if isinstance(space, gym.spaces.Dict):
        return space.spaces.get("observation", space.spaces.get("observations"))
    return space


@pytest.mark.parametrize("env_id", env_ids())
def test_declared_kinds_match_the_built_env(env_id: str) -> None:
    entry = check_env_id(env_id)
    raw = make_env(env_id, _config(env_id))
    spec = _spec_env(env_id, view=False)
    try:
        agents = list(raw.possible_agents)
        assert api_of(raw) == api_of(spec) == entry.api
        kinds = {type(raw.action_space(a)) for a in agents}
        expected = gym.spaces.Box if entry.actions == "continuous" else gym.spaces.Discrete
        assert kinds == {expected}, f"declared {entry.actions}, built {kinds}"

        raw_obs = [raw.observation_space(a) for a in agents]
        masked = [isinstance(s, gym.spaces.Dict) and "action_mask" in s.spaces for s in raw_obs]
        assert set(masked) == {entry.masked}, f"declared masked={entry.masked}"
        if entry.masked:  # what the masked policy takes
            for a in agents:
                assert set(spec.observation_space(a).spaces) == {"observations", "action_mask"}

        shapes = {_obs_part(s).shape for s in raw_obs}
        if entry.observations == "board":
            assert entry.board is not None and shapes == {entry.board}, shapes
        elif entry.observations == "image":
            assert all(len(s) == 3 for s in shapes), shapes  # (H, W, C) pixels
        else:
            assert entry.board is None and all(len(s) <= 2 for s in shapes), shapes
        for a in agents:  # policies take Box features (rps's Discrete is one-hot encoded)
            assert isinstance(_obs_part(spec.observation_space(a)), gym.spaces.Box), a
    finally:
        raw.close()
        spec.close()


def _used_preprocessing() -> list[tuple[str, Any, str]]:
    """``(env id, env.preprocess, where)`` for every non-trivial stack or pipeline an
    experiment or a registry preset uses."""
    used = []
    for path in sorted((ROOT / "experiments").glob("*.yaml")):
        env = (yaml.safe_load(path.read_text()) or {}).get("env") or {}
        if env.get("id") in env_ids() and env.get("preprocess", "none") != "none":
            used.append((env["id"], env["preprocess"], path.name))
    for env_id in env_ids():
        preset_env = check_env_id(env_id).preset.get("env") or {}
        if preset_env.get("preprocess", "none") != "none":
            used.append((env_id, preset_env["preprocess"], f"{env_id} preset"))
    return used


USED = _used_preprocessing()


def test_experiments_and_presets_use_preprocessing() -> None:
    # Guards the parametrization below: league_tag pads, pistonball's preset is a pipeline.
    wheres = {where for _, _, where in USED}
    assert wheres >= {"league_tag.yaml", "cooperative/pistonball-v0 preset"}


@pytest.mark.parametrize(("env_id", "preprocess", "where"), USED, ids=[w for _, _, w in USED])
def test_used_preprocessing_passes_pettingzoo_tests(env_id: str, preprocess: Any,
                                                    where: str) -> None:
    api = check_env_id(env_id).api
    _api(_spec_env(env_id, preprocess), api)
    _seed(lambda: _spec_env(env_id, preprocess), api)
