"""The env a spec describes: registry env (or a user's entry point) + reward shaping +
preprocessing + mask dicts."""

from __future__ import annotations

from typing import Any

from envs.registry import EnvEntry, check_env_id, custom_entry, make_entry_env
from envs.wrappers.stacks import apply_stack

__all__ = ["api_of", "entry_of", "has_mask_dict", "make_spec_env"]


def entry_of(env_config: dict[str, Any]) -> EnvEntry:
    """The registry entry of an env config: a built-in id, or a user's env whose
    ``entry_point`` (and ``defaults``, ``teams``) the config carries itself."""
    if env_config.get("entry_point"):
        return custom_entry(env_config["id"], env_config["entry_point"],
                            env_config.get("teams"), env_config.get("defaults"))
    return check_env_id(env_config["id"])


def has_mask_dict(env: Any) -> bool:
    """Observations are PettingZoo's ``{"observation", "action_mask"}`` dicts."""
    import gymnasium as gym

    agents = list(getattr(env, "possible_agents", []) or [])
    if not agents:
        return False
    space = env.observation_space(agents[0])
    return isinstance(space, gym.spaces.Dict) and {"observation", "action_mask"} <= set(space.spaces)


def make_spec_env(env_config: dict[str, Any]) -> Any:
    """Build the PettingZoo env (AEC or parallel) for a spec's env section.

    Args:
        env_config: ``{"id": ..., "config": {...}, "preprocess": "none"}``, optionally
            ``"shaping": {"kind": ..., ...}`` (parallel envs only; see
            ``envs.wrappers.shaping.make_shaping``), ``"costs": [name, ...]`` (the
            per-agent costs of ``algorithm.constraints``, ``envs.wrappers.costs``) and,
            for a user's env,
            ``"entry_point"``, ``"defaults"`` and ``"teams"``; ``"random_opening": N``
            or ``[min, max]`` (turn-based envs, training only): every episode starts N
            (or min..max, drawn per episode) random legal plies per side in
            (``envs.wrappers.random_opening``).
    """
    entry = entry_of(env_config)
    env = make_entry_env(entry, env_config.get("config") or {})
    # A user's env declares nothing: its observations tell whether it masks actions.
    masked = entry.masked or (entry.custom and has_mask_dict(env))
    if env_config.get("costs"):
        from envs.wrappers.costs import add_costs

        # Innermost: costs are computed from the raw env's state after each step.
        env = add_costs(env, entry.entry_point, env_config["costs"])
    if env_config.get("shaping"):
        from envs.wrappers.shaping import make_shaping

        # Innermost, on the raw env: raw_reward/raw_return are the env's own rewards.
        env = make_shaping(env, env_config["shaping"])
    if env_config.get("random_opening") and api_of(env) == "aec":
        from envs.wrappers.random_opening import RandomOpening

        # On the raw game: the opening plies are moves of the game itself.
        env = RandomOpening(env, env_config["random_opening"])
    env = apply_stack(env, env_config.get("preprocess", "none"))
    if masked:
        from envs.wrappers.masks import MaskedDictObs

        env = MaskedDictObs(env)
    return env


def api_of(env: Any) -> str:
    """``aec`` for a turn-based PettingZoo env (wrapped or not), else ``parallel``."""
    from pettingzoo import AECEnv

    return "aec" if isinstance(env, AECEnv) else "parallel"
