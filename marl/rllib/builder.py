"""Spec -> RLlib ``PPOConfig``: the one place that turns our spec into RLlib settings."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

from envs.registry import check_env_id
from marl.errors import SpecError
from marl.policies import PolicyPlan, plan_policies
from marl.rllib.cluster_hooks import ClusterHooks
from marl.rllib.env_adapter import make_rllib_env, register
from marl.rllib.mapping import AgentToPolicy
from marl.rllib.mappo import config_class, configure_team_critic
from marl.rllib.modules import MaskedPPOModule, RandomPolicyModule
from marl.rllib.social_callback import social_callbacks
from marl.spec import Spec

__all__ = ["EnvInfo", "env_info", "build_config", "env_config_of"]


class EnvInfo:
    """Agents and spaces of a spec's env, read once in the driver."""

    def __init__(self, spec: Spec):
        env = make_rllib_env(env_config_of(spec))
        self.agents: list[str] = list(env.possible_agents)
        self.observation_spaces: dict[str, gym.Space] = dict(env.observation_spaces)
        self.action_spaces: dict[str, gym.Space] = dict(env.action_spaces)
        env.close()


def env_info(spec: Spec) -> EnvInfo:
    return EnvInfo(spec)


def env_config_of(spec: Spec) -> dict[str, Any]:
    shaping = spec.env.shaping.model_dump(by_alias=True) if spec.env.shaping else None
    return {"id": spec.env.id, "config": dict(spec.env.config), "preprocess": spec.env.preprocess,
            "shaping": shaping}


def _spaces_for(policy: str, plan: PolicyPlan, info: EnvInfo) -> tuple[gym.Space, gym.Space]:
    agents = plan.agents_of[policy]
    obs, act = info.observation_spaces[agents[0]], info.action_spaces[agents[0]]
    for agent in agents[1:]:
        if info.observation_spaces[agent] != obs or info.action_spaces[agent] != act:
            raise SpecError(
                f"policies: policy {policy!r} is shared by agents with different spaces "
                f"({agents[0]} vs {agent}); set env.preprocess: pad or use mode: groups"
            )
    return obs, act


def module_specs(spec: Spec, plan: PolicyPlan, info: EnvInfo) -> dict[str, RLModuleSpec]:
    """One RLModuleSpec per policy, spaces given explicitly (no inference by mapping)."""
    entry = check_env_id(spec.env.id)
    model_config = {
        "fcnet_hiddens": list(spec.policies.model.hidden),
        "fcnet_activation": spec.policies.model.activation,
        "head_fcnet_hiddens": [],
    }
    specs = {}
    for policy in plan.agents_of:
        obs, act = _spaces_for(policy, plan, info)
        if policy in plan.frozen:
            specs[policy] = RLModuleSpec(module_class=RandomPolicyModule,
                                         observation_space=obs, action_space=act)
        else:
            specs[policy] = RLModuleSpec(
                module_class=MaskedPPOModule if entry.masked else None,
                observation_space=obs, action_space=act, model_config=model_config)
    return specs


def build_config(spec: Spec, callbacks: list[type] | None = None) -> tuple[PPOConfig, PolicyPlan]:
    """The PPOConfig for ``spec`` and its resolved policy plan.

    Raises:
        SpecError: when policies do not fit the env's agents or spaces.
    """
    entry = check_env_id(spec.env.id)
    info = env_info(spec)
    plan = plan_policies(spec.policies, info.agents)
    alg, res = spec.algorithm, spec.resources
    config = (
        config_class(alg.name)()  # PPOConfig, or MappoConfig for ippo/mappo
        .environment(register(), env_config=env_config_of(spec))
        .framework("torch")
        .env_runners(
            num_env_runners=res.num_env_runners,
            num_envs_per_env_runner=res.num_envs_per_env_runner or entry.num_envs,
            num_cpus_per_env_runner=res.num_cpus_per_env_runner,
            rollout_fragment_length="auto",
            custom_resources_per_env_runner=dict(res.custom_resources_per_env_runner),
        )
        .learners(num_learners=res.num_learners, num_gpus_per_learner=res.num_gpus_per_learner,
                  custom_resources_per_learner=dict(res.custom_resources_per_learner))
        .training(
            lr=alg.lr, gamma=alg.gamma, lambda_=alg.lambda_, clip_param=alg.clip_param,
            vf_clip_param=alg.vf_clip_param, vf_loss_coeff=alg.vf_loss_coeff,
            entropy_coeff=alg.entropy_coeff, grad_clip=alg.grad_clip,
            use_kl_loss=alg.kl_coeff > 0, kl_coeff=alg.kl_coeff,
            train_batch_size_per_learner=alg.train_batch_size,
            minibatch_size=alg.minibatch_size, num_epochs=alg.num_epochs,
        )
        .multi_agent(
            policies=set(plan.agents_of),
            policy_mapping_fn=AgentToPolicy(plan.rules),
            policies_to_train=list(plan.trainable),
        )
        .rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs=module_specs(spec, plan, info)))
        .debugging(seed=spec.seed, log_level="ERROR")
    )
    # ippo/mappo: team-critic modules, critic input in infos, MAPPO learner (marl/rllib/mappo).
    config = configure_team_critic(config, spec, plan, env_config_of(spec), info.agents)
    callbacks = [ClusterHooks, *social_callbacks(spec), *(callbacks or [])]
    if spec.league is not None:  # policies come from the league: marl/rllib/league_config.py
        from marl.rllib.league_callback import LeagueCallback
        from marl.rllib.league_config import configure_league

        config, plan = configure_league(config, spec, info)
        callbacks.append(LeagueCallback)
    if callbacks:
        # Each feature (league, social metrics, ...) brings its own RLlibCallback class.
        config = config.callbacks(callbacks_class=list(callbacks))
    # Env runner class (stock or lean sampler): last, as it checks connectors and callbacks.
    from marl.rllib.lean_runner import configure_sampler

    config = configure_sampler(config, res)
    return config, plan
