"""The env a spec describes: registry env + named preprocessing stack + mask dicts."""

from __future__ import annotations

from typing import Any

from envs.registry import check_env_id, make_env
from envs.wrappers.stacks import apply_stack

__all__ = ["make_spec_env"]


def make_spec_env(env_config: dict[str, Any]) -> Any:
    """Build the PettingZoo env (AEC or parallel) for a spec's env section.

    Args:
        env_config: ``{"id": ..., "config": {...}, "preprocess": "none"}``.
    """
    entry = check_env_id(env_config["id"])
    env = apply_stack(make_env(entry.id, env_config.get("config") or {}),
                      env_config.get("preprocess", "none"))
    if entry.masked:
        from envs.wrappers.masks import MaskedDictObs

        env = MaskedDictObs(env)
    return env
