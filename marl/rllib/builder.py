"""Resolved experiment -> RLlib ``PPOConfig``: the one place that turns a spec into RLlib
settings.

    build_config(exp)
      PPOConfig | MappoConfig            algorithm.name (ppo | ippo, mappo)
      .environment / .env_runners / .learners / .training   from the spec
      .multi_agent / .rl_module          one RLModuleSpec per policy of ``exp.plan``
      configure_team_critic              ippo/mappo: TeamCriticModule + MappoTorchLearner
      configure_league                   league: one module per player (rllib/league)
      .callbacks                         cluster hooks, social metrics, league
      configure_sampler                  stock or lean env runner (rllib/sampling)
"""

from __future__ import annotations

from typing import Any

from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

from marl.experiment import Experiment
from marl.rllib.callbacks.cluster import ClusterHooks
from marl.rllib.callbacks.social import social_callbacks
from marl.rllib.env.creator import register
from marl.rllib.learners.mappo import MappoConfig
from marl.rllib.mapping import AgentToPolicy
from marl.rllib.modules.specs import module_specs

__all__ = ["build_config", "config_class", "configure_team_critic", "with_resources"]


def config_class(algorithm: str) -> type[PPOConfig]:
    """``PPOConfig`` for ppo, ``MappoConfig`` for ippo/mappo."""
    from marl.algorithms import get_algorithm

    return MappoConfig if get_algorithm(algorithm).team_critic else PPOConfig


def configure_team_critic(config: PPOConfig, exp: Experiment) -> PPOConfig:
    """Turn the builder's PPO config into ippo/mappo; ``ppo`` passes through unchanged.

    Sets the team-critic module for every non-frozen policy and the learner's value-loss
    settings; the critic input rides in ``exp.env_config`` (mappo).

    Raises:
        SpecError: agents of one policy with critic inputs of different widths.
    """
    layout, plan = exp.critic, exp.plan
    if layout is None:
        return config
    if not isinstance(config, MappoConfig):
        raise TypeError("ippo/mappo need MappoConfig: build with config_class(spec.algorithm.name)")
    from marl.rllib.modules.team_critic import TeamCriticModule

    critic, model = exp.spec.algorithm.critic, exp.spec.policies.model
    specs = dict(config.rl_module_spec.rl_module_specs)
    for policy, module_spec in specs.items():
        if policy in plan.frozen:
            continue
        model_config = {
            "hidden": list(model.hidden),
            "activation": model.activation,
            "critic_hidden": list(critic.hidden or model.hidden),
            "critic_input": "central" if layout.centralized else "own_obs",
            "value_normalization": critic.value_normalization,
        }
        if layout.centralized:
            model_config["critic_obs_dim"] = layout.width_of(plan.agents_of[policy], policy)
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


def build_config(exp: Experiment, callbacks: list[type] | None = None) -> PPOConfig:
    """The RLlib config of a resolved experiment.

    Raises:
        SpecError: when policies do not fit the env's spaces.
    """
    spec, plan = exp.spec, exp.plan
    alg, res = spec.algorithm, spec.resources
    config = (
        config_class(alg.name)()  # PPOConfig, or MappoConfig for ippo/mappo
        .environment(register(), env_config=dict(exp.env_config))
        .framework("torch")
        .env_runners(
            num_env_runners=res.num_env_runners,
            num_envs_per_env_runner=exp.num_envs_per_env_runner,
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
        .rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs=module_specs(exp, plan)))
        .debugging(seed=spec.seed, log_level="ERROR")
    )
    # ippo/mappo: team-critic modules and the MAPPO learner (marl/rllib/learners/mappo.py).
    config = configure_team_critic(config, exp)
    callbacks = [ClusterHooks, *social_callbacks(exp), *(callbacks or [])]
    if exp.has_league:  # policies come from the league: marl/rllib/league/layout.py
        from marl.rllib.league.callback import LeagueCallback
        from marl.rllib.league.layout import configure_league

        config = configure_league(config, exp)
        callbacks.append(LeagueCallback)
    # Each feature (league, social metrics, ...) brings its own RLlibCallback class.
    config = config.callbacks(callbacks_class=list(callbacks))
    # Env runner class (stock or lean sampler): last, as it checks connectors and callbacks.
    from marl.rllib.sampling import runner

    return runner.configure_sampler(config, res)


def with_resources(exp: Experiment, **resources: Any) -> Experiment:
    """The experiment with some ``resources`` fields replaced (benchmarks, perf probes)."""
    from dataclasses import replace

    spec = exp.spec.model_copy(update={"resources": exp.spec.resources.model_copy(update=resources)})
    return replace(exp, spec=spec)
