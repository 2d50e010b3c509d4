"""Fixtures of the RLlib tests: one local Ray per test module."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module")
def ray_session() -> Iterator[None]:
    """One local Ray (2 CPUs, dashboard off) for every training in a module; W&B offline
    and no display while it runs, the env vars restored afterwards."""
    import ray

    saved = {k: os.environ.get(k) for k in ("WANDB_MODE", "WANDB_SILENT", "SDL_VIDEODRIVER")}
    os.environ.update(WANDB_MODE="offline", WANDB_SILENT="true", SDL_VIDEODRIVER="dummy")
    started = not ray.is_initialized()
    if started:
        from marl.rllib.trainer import init_ray
        from marl.spec import spec_from_dict

        init_ray(spec_from_dict({"name": "t", "env": {"id": "cooperative/spread-v0"},
                                 "resources": {"num_cpus": 2}}))
    yield
    if started:
        ray.shutdown()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
