"""One ``RLModuleSpec`` per policy of a resolved experiment, spaces given explicitly.

Spaces are those the RLlib env adapters present (``rllib_spaces``), so a module is never
built for a space that differs from what its env runner feeds it.
"""

from __future__ import annotations

import gymnasium as gym
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

from marl.errors import SpecError
from marl.experiment import Experiment
from marl.policies import PolicyPlan
from marl.rllib.env.adapters import as_float32
from marl.rllib.modules.masked_ppo import MaskedPPOModule
from marl.rllib.modules.scripted import RandomPolicyModule

__all__ = ["module_specs", "rllib_spaces"]


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


def module_specs(exp: Experiment, plan: PolicyPlan) -> dict[str, RLModuleSpec]:
    """One RLModuleSpec per policy, spaces given explicitly (no inference by mapping)."""
    model = exp.spec.policies.model
    model_config = {"fcnet_hiddens": list(model.hidden), "fcnet_activation": model.activation,
                    "head_fcnet_hiddens": []}
    specs = {}
    for policy in plan.agents_of:
        obs, act = _spaces_for(policy, plan, exp)
        if policy in plan.frozen:
            specs[policy] = RLModuleSpec(module_class=RandomPolicyModule,
                                         observation_space=obs, action_space=act)
        else:
            specs[policy] = RLModuleSpec(
                module_class=MaskedPPOModule if exp.entry.masked else None,
                observation_space=obs, action_space=act, model_config=model_config)
    return specs
