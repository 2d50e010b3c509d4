"""The env creator RLlib calls on every env runner, registered as ``ENV_NAME``.

It gets the resolved experiment's ``env_config`` (plain data: id, config, preprocess,
shaping, and for mappo the critic layout) and builds the same env the driver resolved.
"""

from __future__ import annotations

from typing import Any

from ray.rllib.env.multi_agent_env import MultiAgentEnv
from ray.tune.registry import register_env

from envs.factory import api_of, make_spec_env
from marl.rllib.env.adapters import AecAdapter, ParallelAdapter

__all__ = ["ENV_NAME", "make_rllib_env", "register"]

ENV_NAME = "marl_env"


def make_rllib_env(env_config: dict[str, Any]) -> MultiAgentEnv:
    """Env creator for ``register_env``: the spec's env as an RLlib ``MultiAgentEnv``."""
    env = make_spec_env(env_config)
    api = api_of(env)
    if env_config.get("critic"):  # mappo only: critic inputs ride in infos (plain PPO pays nothing)
        from marl.rllib.env.critic_input import with_critic_input

        return with_critic_input(env, api, env_config["critic"])
    return AecAdapter(env) if api == "aec" else ParallelAdapter(env)


def register() -> str:
    """Register the creator under ``ENV_NAME`` (idempotent) and return the name."""
    register_env(ENV_NAME, make_rllib_env)
    return ENV_NAME
