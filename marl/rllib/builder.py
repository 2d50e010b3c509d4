"""Resolved experiment -> RLlib ``PPOConfig``: the one place that turns a spec into RLlib
settings.

    build_config(exp)
      MarlPPOConfig | MappoConfig        algorithm.name (ppo | ippo, mappo | reinforce): the
      | ReinforceConfig                  learner (dqn: learners/dqn.py build_dqn_config)
      .environment / .env_runners / .learners / .training   from the spec
      .multi_agent / .rl_module          one ActorCriticModule spec per policy of ``exp.plan``
                                         (rllib/modules/specs.py; mappo: central critic)
      configure_league                   league: one module per player (rllib/league)
      configure_constraints              algorithm.constraints: Lagrangian learner, cost
                                         critics, episode costs (rllib/learners/lagrangian.py)
      .callbacks                         cluster hooks, social metrics, league
      configure_sampler                  stock or lean env runner (rllib/sampling)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from ray.rllib.algorithms.algorithm_config import AlgorithmConfig
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
from ray.rllib.utils.typing import AgentID, EpisodeType, ModuleID

from marl.algorithms import get_algorithm
from marl.experiment import Experiment
from marl.rllib.callbacks.cluster import ClusterHooks
from marl.rllib.callbacks.social import social_callbacks
from marl.rllib.env.creator import register
from marl.rllib.learners.mappo import MappoConfig
from marl.rllib.learners.ppo import PROGRESS_STEPS, MarlPPOConfig
from marl.rllib.learners.reinforce import ReinforceConfig
from marl.rllib.mapping import AgentToPolicy
from marl.rllib.modules.specs import module_specs

__all__ = ["anneals_by_progress", "build_config", "config_class", "entropy_coeff",
           "learner_settings", "learning_rate", "with_resources"]


def config_class(algorithm: str) -> type[PPOConfig]:
    """``MarlPPOConfig`` for ppo, ``MappoConfig`` for ippo/mappo, ``ReinforceConfig`` for
    reinforce (dqn is not a PPO config: ``marl.rllib.learners.dqn``)."""
    if algorithm == "reinforce":
        return ReinforceConfig
    if algorithm == "coma":  # mappo's learner with COMA's advantages: learners/coma.py
        from marl.rllib.learners.coma import ComaConfig

        return ComaConfig
    return MappoConfig if get_algorithm(algorithm).team_critic else MarlPPOConfig


def learner_settings(exp: Experiment) -> dict[str, Any]:
    """``learner_config_dict`` of the run: marl's PPO fixes and, for ippo/mappo, the team
    critic's value loss (read by ``marl.rllib.learners``)."""
    alg = exp.spec.algorithm
    out: dict[str, Any] = {"marl": {"bootstrap_truncated": alg.bootstrap_truncated,
                                    "num_minibatches": alg.num_minibatches,
                                    "per_module_epochs": True,
                                    "budget_progress": anneals_by_progress(exp)}}
    if alg.symmetry_augmentation:
        board = exp.entry.board
        assert board is not None, "the registry's entries with a symmetry declare a board"
        out["marl"]["symmetry"] = {"kind": exp.entry.symmetry, "board": list(board),
                                   "num_actions": exp.num_actions(exp.agents[0])}
    if alg.name == "reinforce":
        out["reinforce"] = {"baseline": alg.reinforce.baseline}
    if exp.algorithm.team_critic:
        critic = alg.critic
        out["team_critic"] = {"vf_loss": critic.vf_loss, "huber_delta": critic.huber_delta,
                              "value_clip": critic.value_clip}
    if alg.name == "coma":  # teams and action counts: AddOthersActions (connectors/coma.py)
        assert exp.critic is not None, "coma has a team critic layout"
        out["coma"] = {"teams": {t: list(m) for t, m in exp.critic.teams.items()},
                       "num_actions": {a: exp.num_actions(a) for a in exp.agents}}
    return out


def anneals_by_progress(exp: Experiment) -> bool:
    """Whether a linear schedule runs on the budget fraction the driver sets (no
    stop.env_steps) rather than on RLlib's env-step count."""
    alg = exp.spec.algorithm
    return exp.spec.stop.env_steps is None and "linear" in (alg.lr_schedule, alg.entropy_schedule)


def _schedule(value: float, kind: str, exp: Experiment) -> float | list[list[float]]:
    """``value``, or RLlib's piecewise schedule from it to 0 over the stop budget: over
    stop.env_steps, or over ``PROGRESS_STEPS`` of the driver's budget fraction."""
    if kind != "linear":
        return value
    end = exp.spec.stop.env_steps or PROGRESS_STEPS
    return [[0, value], [int(end), 0.0]]


def learning_rate(exp: Experiment) -> float | list[list[float]]:
    """``lr``, or its linear schedule to 0 over the stop budget (``lr_schedule``)."""
    alg = exp.spec.algorithm
    assert alg.name != "dqn" or alg.lr_schedule != "linear" or exp.spec.stop.env_steps, \
        "the spec's validator: dqn anneals over stop.env_steps only"
    return _schedule(alg.lr, alg.lr_schedule, exp)


def entropy_coeff(exp: Experiment) -> float | list[list[float]]:
    """``entropy_coeff``, or its linear schedule to 0 (``entropy_schedule``)."""
    alg = exp.spec.algorithm
    return _schedule(alg.entropy_coeff, alg.entropy_schedule, exp)


def build_config(exp: Experiment, callbacks: list[type] | None = None) -> AlgorithmConfig:
    """The RLlib config of a resolved experiment.

    Raises:
        SpecError: when policies do not fit the env's spaces.
    """
    spec, plan = exp.spec, exp.plan
    alg, res = spec.algorithm, spec.resources
    if alg.name == "dqn":  # not a PPO config: replay, target network, Q modules
        from marl.rllib.learners.dqn import build_dqn_config

        return build_dqn_config(exp, learning_rate(exp), callbacks)
    # RLlib types agent ids as ``Hashable | str``; this project's agent ids are str, which
    # is what AgentToPolicy (pure Python, no RLlib types) takes.
    mapping_fn = cast(Callable[[AgentID, EpisodeType], ModuleID], AgentToPolicy(plan.rules))
    config = (
        config_class(alg.name)()  # PPOConfig, or MappoConfig for ippo/mappo
        # Box actions: policies act in [-1, 1], mapped to the bounds and clipped before
        # the env (both samplers; see marl.rllib.modules.distributions).
        # RLlib's env pre-check steps random actions from the action space, ignoring
        # action masks: a masked game that refuses illegal moves (the OpenSpiel pokers)
        # fails it. Envs are checked by PettingZoo's own api test instead (a user's env
        # before it trains, envs.conformance; every registered env in the tests).
        .environment(register(), env_config=dict(exp.env_config), normalize_actions=True,
                     clip_actions=False, disable_env_checking=True)
        .framework("torch")
        .env_runners(
            num_env_runners=res.num_env_runners,
            num_envs_per_env_runner=exp.num_envs_per_env_runner,
            # RLlib annotates int; Ray schedules fractional CPUs (the spec's default 0.5).
            num_cpus_per_env_runner=res.num_cpus_per_env_runner,  # type: ignore[arg-type]
            rollout_fragment_length="auto",
            custom_resources_per_env_runner=dict(res.custom_resources_per_env_runner),
        )
        .learners(num_learners=res.num_learners, num_gpus_per_learner=res.num_gpus_per_learner,
                  custom_resources_per_learner=dict(res.custom_resources_per_learner))
        .training(
            lr=learning_rate(exp), gamma=alg.gamma, lambda_=alg.lambda_, clip_param=alg.clip_param,
            vf_clip_param=alg.vf_clip_param, vf_loss_coeff=alg.vf_loss_coeff,
            entropy_coeff=cast(Any, entropy_coeff(exp)), grad_clip=alg.grad_clip,
            use_kl_loss=alg.kl_coeff > 0, kl_coeff=alg.kl_coeff,
            train_batch_size_per_learner=alg.train_batch_size,
            # With num_minibatches our learner cuts the batch itself; RLlib still checks
            # minibatch_size <= train batch, so never hand it the unused default above it.
            minibatch_size=(min(alg.minibatch_size, alg.train_batch_size)
                            if alg.num_minibatches else alg.minibatch_size),
            num_epochs=alg.num_epochs,
            learner_config_dict=learner_settings(exp),
        )
        .multi_agent(
            policies=set(plan.agents_of),
            policy_mapping_fn=mapping_fn,
            policies_to_train=list(plan.trainable),
        )
        .rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs=module_specs(exp, plan)))
        .debugging(seed=spec.seed, log_level="ERROR")
    )
    if alg.name == "reinforce":  # Monte-Carlo returns: whole episodes in every batch
        config = config.env_runners(batch_mode="complete_episodes")
    callbacks = [ClusterHooks, *social_callbacks(exp), *(callbacks or [])]
    if exp.has_league:  # policies come from the league: marl/rllib/league/layout.py
        from marl.rllib.league.callback import LeagueCallback
        from marl.rllib.league.layout import configure_league

        config = configure_league(config, exp)
        callbacks.append(LeagueCallback)
    # Each feature (league, social metrics, ...) brings its own RLlibCallback class.
    config = config.callbacks(callbacks_class=list(callbacks))
    if alg.constraints:  # cost critics, multipliers, cost callback: rllib/learners/lagrangian.py
        from marl.rllib.learners.lagrangian import configure_constraints

        config = configure_constraints(config, exp)
    # Env runner class (stock or lean sampler): last, as it checks connectors and callbacks.
    from marl.rllib.sampling import runner

    return runner.configure_sampler(config, res)


def with_resources(exp: Experiment, **resources: Any) -> Experiment:
    """The experiment with some ``resources`` fields replaced (benchmarks, perf probes)."""
    from dataclasses import replace

    spec = exp.spec.model_copy(update={"resources": exp.spec.resources.model_copy(update=resources)})
    return replace(exp, spec=spec)
