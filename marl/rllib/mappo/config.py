"""Spec -> RLlib pieces for ippo/mappo: config class, modules, env critic input, learner.

``MappoConfig`` is ``PPOConfig`` (same ``PPO`` algorithm, same training step) with two
changes: its Learner is ``MappoTorchLearner``, and env runners build every module with
``inference_only=True`` so they hold actors only. (RLlib keeps a listed module spec's own
``inference_only=False`` on env runners, which would build and never sync the critic.)
"""

from __future__ import annotations

from typing import Any

from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

from marl.algorithms import CriticLayout, get_algorithm, plan_critics
from marl.errors import SpecError

__all__ = ["MappoConfig", "config_class", "configure_team_critic"]


class MappoConfig(PPOConfig):
    """PPOConfig whose Learner trains team critics and whose env runners hold actors only."""

    def get_default_learner_class(self) -> type:
        from marl.rllib.mappo.learner import MappoTorchLearner

        return MappoTorchLearner

    def get_multi_rl_module_spec(self, *args: Any, inference_only: bool = False,
                                 **kwargs: Any) -> MultiRLModuleSpec:
        spec = super().get_multi_rl_module_spec(*args, inference_only=inference_only, **kwargs)
        if inference_only:  # env runners: actors only; critics stay on the learners
            for module_spec in spec.rl_module_specs.values():
                module_spec.inference_only = True
            spec.inference_only = True
        return spec


def config_class(algorithm: str) -> type[PPOConfig]:
    """``PPOConfig`` for ppo, ``MappoConfig`` for ippo/mappo."""
    return MappoConfig if get_algorithm(algorithm).team_critic else PPOConfig


def _critic_dims(env_config: dict[str, Any], layout: CriticLayout) -> dict[str, int]:
    from marl.rllib.env_adapter import make_rllib_env

    env = make_rllib_env({**env_config, "critic": layout.env_config()})
    try:
        return env.critic_dims()
    finally:
        env.close()


def configure_team_critic(config: PPOConfig, spec: Any, plan: Any, env_config: dict[str, Any],
                          agents: list[str]) -> PPOConfig:
    """Turn the builder's PPO config into ippo/mappo; ``ppo`` passes through unchanged.

    Sets the team-critic module for every non-frozen policy, the critic input in the env
    config (mappo), and the learner's value-loss settings.

    Raises:
        SpecError: a mappo policy spanning teams, or ``critic.input: state`` on an env
            without ``state()``.
    """
    layout = plan_critics(spec, agents, plan)
    if layout is None:
        return config
    if not isinstance(config, MappoConfig):
        raise TypeError("ippo/mappo need MappoConfig: build with config_class(spec.algorithm.name)")
    critic = spec.algorithm.critic
    dims: dict[str, int] = {}
    if layout.centralized:
        env_config = {**env_config, "critic": layout.env_config()}
        config = config.environment(env_config=env_config)
        dims = _critic_dims(env_config, layout)
    specs = dict(config.rl_module_spec.rl_module_specs)
    for policy, module_spec in specs.items():
        if policy in plan.frozen:
            continue
        model_config = {
            "hidden": list(spec.policies.model.hidden),
            "activation": spec.policies.model.activation,
            "critic_hidden": list(critic.hidden or spec.policies.model.hidden),
            "critic_input": "central" if layout.centralized else "own_obs",
            "value_normalization": critic.value_normalization,
        }
        if layout.centralized:
            widths = {dims[a] for a in plan.agents_of[policy]}
            if len(widths) != 1:
                raise SpecError(f"algorithm.critic: agents of policy {policy!r} have critic "
                                f"inputs of different widths {sorted(widths)}")
            model_config["critic_obs_dim"] = widths.pop()
        from marl.rllib.mappo.module import TeamCriticModule

        specs[policy] = RLModuleSpec(module_class=TeamCriticModule,
                                     observation_space=module_spec.observation_space,
                                     action_space=module_spec.action_space,
                                     model_config=model_config)
    return (
        config.rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs=specs))
        .learners(learner_config_dict={"team_critic": {
            "vf_loss": critic.vf_loss, "huber_delta": critic.huber_delta,
            "value_clip": critic.value_clip}})
    )
