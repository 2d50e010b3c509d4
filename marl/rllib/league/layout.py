"""Spec ``league:`` section -> RLlib modules, ``policies_to_train`` and the mapping fn.

With a league, every player is one RLModule: learners share one PPO module spec
(the one the builder would give a policy playing every seat), ``random`` is the
masked random module and ``alphabeta_d<k>`` the scripted search. The first
``policy_mapping_fn`` is ``League.mapping(0, seats)``; the driver replaces it
after every iteration (``marl.rllib.league.runtime``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
from ray.rllib.core.rl_module.rl_module import RLModuleSpec
from ray.rllib.utils.typing import AgentID, EpisodeType, ModuleID

from marl.errors import SpecError
from marl.experiment import Experiment
from marl.league import League
from marl.league.spec import scripted_depth
from marl.policies import PolicyPlan
from marl.rllib.modules.scripted import AlphaBetaModule, RandomPolicyModule
from marl.rllib.modules.specs import module_specs, rllib_spaces

__all__ = ["LeagueLayout", "configure_league", "league_layout"]


class LeagueLayout:
    """What the driver needs to grow the league: seats and the learners' module spec."""

    def __init__(self, seats: dict[str, int], learner_spec: RLModuleSpec,
                 obs_space: Any, act_space: Any):
        self.seats = seats
        self.learner_spec = learner_spec
        self.obs_space = obs_space
        self.act_space = act_space
        self.scripted_config: dict[str, Any] = {}  # e.g. {"ties": "random", "seed": 0}

    def module_spec(self, player_id: str, role: str) -> RLModuleSpec:
        """The module spec of any league player."""
        if role == "random":
            return RLModuleSpec(module_class=RandomPolicyModule,
                                observation_space=self.obs_space, action_space=self.act_space)
        if role == "scripted":
            return RLModuleSpec(module_class=AlphaBetaModule, observation_space=self.obs_space,
                                action_space=self.act_space,
                                model_config={"depth": scripted_depth(player_id),
                                              **self.scripted_config})
        return self.learner_spec  # learners and their frozen snapshots


def league_layout(exp: Experiment, model_defaults: dict[str, Any] | None = None) -> LeagueLayout:
    """Seats and module specs of a league run.

    Args:
        model_defaults: the algorithm's own model config (``algo.config.model_config``,
            e.g. PPO's ``vf_share_layers: False``), which RLlib merges into the specs
            it builds at start; modules added later must get the same, or a snapshot
            gets another architecture than its source.

    Raises:
        SpecError: when seats differ in their spaces (one module must play every seat).
    """
    obs_spaces, act_spaces = rllib_spaces(exp)
    agents = list(exp.agents)
    first = agents[0]
    obs, act = obs_spaces[first], act_spaces[first]
    for agent in agents[1:]:
        if obs_spaces[agent] != obs or act_spaces[agent] != act:
            raise SpecError(
                f"league: every league player plays every seat, but {first} and {agent} have "
                f"different spaces; set env.preprocess: pad"
            )
    one = PolicyPlan(rules=(("*", "learner"),), agents_of={"learner": tuple(agents)},
                     trainable=("learner",), frozen={})
    learner_spec = module_specs(exp, one)["learner"]
    if model_defaults:
        own = learner_spec.model_config or {}
        assert isinstance(own, dict), "module_specs gives dict model configs"
        learner_spec.model_config = {**model_defaults, **own}
    layout = LeagueLayout(dict(exp.seats), learner_spec, obs, act)
    league = exp.spec.league
    if league is not None and league.scripted_ties == "random":
        layout.scripted_config = {"ties": "random", "seed": exp.spec.seed}
    return layout


def configure_league(config: PPOConfig, exp: Experiment) -> PPOConfig:
    """Replace the config's policies with the league's initial players."""
    spec = exp.spec
    if spec.league is None:
        raise SpecError("configure_league needs a spec with a league section")
    layout = league_layout(exp)
    league = League(spec.league.settings(spec.seed))
    specs = {p.id: layout.module_spec(p.id, p.role) for p in league.players.values()}
    # RLlib types agent ids as ``Hashable | str``; this project's agent ids are str, which
    # is what EpisodeMapping (pure Python, no RLlib types) takes.
    mapping_fn = cast(Callable[[AgentID, EpisodeType], ModuleID], league.mapping(0, layout.seats))
    return config.multi_agent(
        policies=set(specs),
        policy_mapping_fn=mapping_fn,
        policies_to_train=list(league.learner_ids),
    ).rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs=specs))
