"""The env a spec describes: registry env + reward shaping + named preprocessing stack +
mask dicts."""

from __future__ import annotations

from typing import Any

from envs.registry import check_env_id, make_env
from envs.wrappers.stacks import apply_stack

__all__ = ["api_of", "make_spec_env"]


def make_spec_env(env_config: dict[str, Any]) -> Any:
    """Build the PettingZoo env (AEC or parallel) for a spec's env section.

    Args:
        env_config: ``{"id": ..., "config": {...}, "preprocess": "none"}`` and optionally
            ``"shaping": {"kind": ..., ...}`` (parallel envs only; see
            ``envs.wrappers.shaping.make_shaping``).
    """
    entry = check_env_id(env_config["id"])
    env = make_env(entry.id, env_config.get("config") or {})
    if env_config.get("shaping"):
        from envs.wrappers.shaping import make_shaping

        # Innermost, on the raw env: raw_reward/raw_return are the env's own rewards.
        env = make_shaping(env, env_config["shaping"])
    env = apply_stack(env, env_config.get("preprocess", "none"))
    if entry.masked:
        from envs.wrappers.masks import MaskedDictObs

        env = MaskedDictObs(env)
    return env


def api_of(env: Any) -> str:
    """``aec`` for a turn-based PettingZoo env (wrapped or not), else ``parallel``."""
    from pettingzoo import AECEnv

    return "aec" if isinstance(env, AECEnv) else "parallel"
