"""One ``RLModuleSpec`` per policy of a resolved experiment, spaces given explicitly.

Spaces are those the RLlib env adapters present (``rllib_spaces``), so a module is never
built for a space that differs from what its env runner feeds it.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

from marl.errors import SpecError
from marl.experiment import Experiment
from marl.policies import PolicyPlan, cnn_input
from marl.rllib.env.adapters import as_float32
from marl.rllib.modules.actor_critic import ActorCriticModule
from marl.rllib.modules.scripted import RandomPolicyModule

__all__ = ["actor_critic_config", "module_specs", "rllib_spaces"]


def rllib_spaces(exp: Experiment) -> tuple[dict[str, gym.Space], dict[str, gym.Space]]:
    """Observation and action spaces per agent as the RLlib env adapters present them
    (parallel envs: Box observations cast to float32, see ``marl.rllib.env.adapters``)."""
    obs = dict(exp.observation_spaces)
    if exp.api == "parallel":
        obs = {a: as_float32(s) for a, s in obs.items()}
    return obs, dict(exp.action_spaces)


def _spaces_for(policy: str, plan: PolicyPlan, exp: Experiment) -> tuple[gym.Space, gym.Space]:
    obs_spaces, act_spaces = rllib_spaces(exp)
    agents = plan.agents_of[policy]
    obs, act = obs_spaces[agents[0]], act_spaces[agents[0]]
    for agent in agents[1:]:
        if obs_spaces[agent] != obs or act_spaces[agent] != act:
            raise SpecError(
                f"policies: policy {policy!r} is shared by agents with different spaces "
                f"({agents[0]} vs {agent}); set env.preprocess: pad or use mode: groups"
            )
    return obs, act


def actor_critic_config(exp: Experiment, policy: str,
                        agents: tuple[str, ...] | None = None) -> dict[str, Any]:
    """``model_config`` of the ActorCriticModule that plays ``policy``.

    Args:
        agents: the agents playing ``policy`` (default: ``exp.plan``'s; a league's one
            ``learner`` template plays every seat).
    """
    agents = agents if agents is not None else exp.plan.agents_of[policy]
    model, algorithm = exp.spec.policies.model, exp.spec.algorithm
    config: dict[str, Any] = {
        "encoder": model.encoder, "hidden": list(model.hidden), "activation": model.activation,
        "input_norm": model.input_norm, "critic_input": "own_obs",
        "action_squash": model.action_squash,
        # ppo's critic fits raw returns (RLlib's value loss); ippo/mappo use a ValueNorm.
        "value_normalization": exp.algorithm.team_critic and algorithm.critic.value_normalization,
        "critic_hidden": list(algorithm.critic.hidden or model.hidden),
        "share_encoder": model.share_encoder,
    }
    if model.encoder == "cnn":
        agent = agents[0]
        cnn = cnn_input(model, exp.entry, exp.observation_spaces[agent], policy)
        config.update(board=list(cnn.board), conv=[list(c) for c in cnn.conv])
        if cnn.features != "none":
            config["features"] = cnn.features
        if cnn.scale != 1.0:
            config["obs_scale"] = cnn.scale
    layout = exp.critic
    if layout is not None and layout.centralized and policy in layout.team_of_policy:
        if model.share_encoder:
            raise SpecError("policies.model.share_encoder: mappo's critic sees the team's "
                            "observations, not the actor's; remove share_encoder or use "
                            "algorithm.name: ippo")
        config["critic_input"] = "central"
        config["critic_obs_dim"] = layout.width_of(agents, policy)
    return config


def module_specs(exp: Experiment, plan: PolicyPlan) -> dict[str, RLModuleSpec]:
    """One RLModuleSpec per policy, spaces given explicitly (no inference by mapping)."""
    specs = {}
    for policy in plan.agents_of:
        obs, act = _spaces_for(policy, plan, exp)
        if policy in plan.frozen:
            specs[policy] = RLModuleSpec(module_class=RandomPolicyModule,
                                         observation_space=obs, action_space=act)
        elif exp.algorithm.name == "coma":  # COMA's Q critic (modules/coma_critic.py)
            from marl.rllib.modules.coma_critic import ComaModule, coma_model_config

            specs[policy] = RLModuleSpec(module_class=ComaModule, observation_space=obs,
                                         action_space=act, model_config=coma_model_config(
                                             exp, policy, actor_critic_config(
                                                 exp, policy, plan.agents_of[policy])))
        else:
            module_class = ActorCriticModule
            model_config = actor_critic_config(exp, policy, plan.agents_of[policy])
            constraints = exp.spec.algorithm.constraints
            if constraints:  # cost critics + multipliers (learners/lagrangian.py)
                from marl.rllib.modules.cost_critic import ConstrainedActorCriticModule

                module_class = ConstrainedActorCriticModule
                model_config.update(costs=[c.cost for c in constraints],
                                    lambda_init=[c.lambda_init for c in constraints])
            specs[policy] = RLModuleSpec(module_class=module_class, observation_space=obs,
                                         action_space=act, model_config=model_config)
    return specs
