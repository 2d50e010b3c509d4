"""A spec resolved once against its env: the single input of everything below it.

``resolve(spec)`` builds the spec's env once, in the driver and without Ray, and
records what every later layer needs to know about it::

    spec ─ load_spec ─> Spec ─ resolve ─> Experiment
                                           ├─ entry        registry entry (setting, api, teams)
                                           ├─ env_config   plain data env runners build from
                                           ├─ agents, observation_spaces, action_spaces
                                           ├─ teams, seats  team -> members; agent -> seat
                                           ├─ plan          which agent plays which policy
                                           ├─ critic        ippo/mappo critic layout (or None)
                                           └─ algorithm, num_envs_per_env_runner

Lower layers (``marl.rllib``, evaluation, the league runtime) take the parts they need
from an ``Experiment``; none of them looks the env id up again or builds an env to learn
its agents. Every user error found here is a ``SpecError`` or ``EnvError`` naming the
field and the fix, raised before Ray starts or a run dir exists.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from envs.factory import api_of, make_spec_env
from envs.registry import EnvEntry
from envs.wrappers.pipeline import PreprocessError
from marl.algorithms import AlgorithmInfo, CriticLayout, get_algorithm, plan_critics, team_members
from marl.errors import EnvError, SpecError
from marl.league.spec import league_seats
from marl.policies import PolicyPlan, cnn_input, plan_policies
from marl.spec import Spec, check_env_fit, env_entry, load_spec

__all__ = ["Experiment", "resolve", "load_experiment", "league_policy_plan"]


@dataclass(frozen=True)
class Experiment:
    """A validated spec and what its env turned out to be.

    Attributes:
        spec: the validated spec (frozen).
        entry: the env's registry entry.
        api: ``aec`` or ``parallel``, detected from the built env.
        env_config: what env runners build their env from (``id``, ``config``,
            ``preprocess``, ``shaping``, ``costs`` (constraints) and, for mappo,
            ``critic``); plain data.
        agents: the env's ``possible_agents``, in env order.
        observation_spaces: agent -> observation space, as the PettingZoo env gives it
            (after preprocessing and mask dicts).
        action_spaces: agent -> action space.
        teams: team -> members in env order (an env without teams is one team ``team``).
        seats: agent -> seat (two-player games) or team index (team games), env order.
        plan: the policy plan (with a league: its first learner on every seat).
        critic: the ippo/mappo critic layout; None for ``ppo``.
        algorithm: the algorithm's registry entry.
        num_envs_per_env_runner: the spec's value, else the env's registry default.
    """

    spec: Spec
    entry: EnvEntry
    api: str
    env_config: dict[str, Any]
    agents: tuple[str, ...]
    observation_spaces: dict[str, Any]
    action_spaces: dict[str, Any]
    teams: dict[str, tuple[str, ...]]
    seats: dict[str, int]
    plan: PolicyPlan
    critic: CriticLayout | None
    algorithm: AlgorithmInfo
    num_envs_per_env_runner: int

    @property
    def env_id(self) -> str:
        return self.entry.id

    @property
    def has_league(self) -> bool:
        return self.spec.league is not None

    def num_actions(self, agent: str) -> int:
        """Size of a discrete action space."""
        return int(self.action_spaces[agent].n)

    def summary(self) -> dict[str, Any]:
        """What the spec resolved to, as plain data (``marl spec validate --resolved``)."""
        out: dict[str, Any] = {
            "env": self.env_id, "api": self.api, "agents": list(self.agents),
            "spaces": {a: {"observation": str(self.observation_spaces[a]),
                           "action": str(self.action_spaces[a])} for a in self.agents},
            "teams": {t: list(m) for t, m in self.teams.items()},
            "seats": dict(self.seats),
            "policies": {p: list(a) for p, a in self.plan.agents_of.items()},
            "trainable": list(self.plan.trainable),
            "frozen": dict(self.plan.frozen),
            "algorithm": {"name": self.algorithm.name, "description": self.algorithm.description},
            "num_envs_per_env_runner": self.num_envs_per_env_runner,
        }
        if self.critic is not None:
            out["critic"] = {"input": self.critic.input, "with_agent_id": self.critic.with_agent_id,
                             "time_limit": self.critic.time_limit,
                             "team_of_policy": dict(self.critic.team_of_policy),
                             "widths": dict(self.critic.widths)}
        return out

    def play_config(self) -> dict[str, Any]:
        """The env as evaluation plays it: the spec's env without shaping or critic input
        (policies are scored on the env's own rewards)."""
        keys = ("id", "config", "preprocess", "entry_point", "defaults", "teams")
        return {k: self.env_config[k] for k in keys if k in self.env_config}


def league_policy_plan(learner_ids: list[str] | tuple[str, ...], agents: list[str]) -> PolicyPlan:
    """A plan for code that wants one policy per seat: the league's first learner everywhere."""
    first = learner_ids[0]
    return PolicyPlan(rules=(("*", first),), agents_of={first: tuple(agents)},
                      trainable=tuple(learner_ids), frozen={})


def _base_env_config(spec: Spec, entry: EnvEntry) -> dict[str, Any]:
    shaping = spec.env.shaping.model_dump(by_alias=True) if spec.env.shaping else None
    out: dict[str, Any] = {"id": entry.id, "config": dict(spec.env.config), "preprocess": spec.env.preprocess,
           "shaping": shaping}
    if spec.env.random_opening:  # training only: play_config leaves it out
        out["random_opening"] = spec.env.random_opening
    if spec.algorithm.constraints:  # per-agent costs in infos (envs.wrappers.costs)
        out["costs"] = [c.cost for c in spec.algorithm.constraints]
    if entry.custom:  # env runners never saw a registration: they build from the entry point
        out.update(entry_point=entry.entry_point, defaults=dict(entry.defaults),
                   teams=dict(entry.teams))
    return out


def _import_custom(entry: EnvEntry) -> None:
    """A user's entry point imports, or a one-line EnvError says how to make it import."""
    from envs.registry import load_entry_point

    module = entry.entry_point.split(":")[0]
    try:
        ctor = load_entry_point(entry.entry_point)
    except ImportError as err:
        raise EnvError(f"env.entry_point: cannot import {module} ({err}); run marl from the "
                       f"directory that holds it, or pip install its package") from None
    except AttributeError:
        raise EnvError(f"env.entry_point: {module} has no "
                       f"{entry.entry_point.split(':')[1]!r}; check the name after ':'") from None
    if not callable(ctor):
        raise EnvError(f"env.entry_point: {entry.entry_point} is not callable; name a function "
                       f"or class that returns a PettingZoo env")


def _detect(entry: EnvEntry, env: Any, api: str) -> EnvEntry:
    """A user's entry with what its env turned out to be (api, masks, action and
    observation kinds); a built-in entry unchanged."""
    import gymnasium as gym

    from envs.factory import has_mask_dict

    if not entry.custom:
        return entry
    agents = list(env.possible_agents)
    box = any(isinstance(env.action_space(a), gym.spaces.Box) for a in agents)
    space = env.observation_space(agents[0])
    if isinstance(space, gym.spaces.Dict):  # the mask dict (MaskedDictObs): its features
        space = space.spaces.get("observations", space)
    image = isinstance(space, gym.spaces.Box) and len(space.shape) == 3
    return replace(entry, api=api, masked=has_mask_dict(env.unwrapped),  # type: ignore[arg-type]
                   actions="continuous" if box else "discrete",
                   observations="image" if image else "vector")


def _check_custom(spec: Spec, entry: EnvEntry, env_config: dict[str, Any]) -> None:
    """A user's env passes PettingZoo's api test and fits the spec, or a one-line error."""
    from envs.conformance import conformance_error
    from envs.registry import make_entry_env

    error = conformance_error(lambda: make_entry_env(entry, env_config.get("config") or {}),
                              entry.api)
    if error:
        raise EnvError(f"env.entry_point: {entry.entry_point}: {error}; fix the env (run "
                       f"pettingzoo.test.{'api_test' if entry.api == 'aec' else 'parallel_api_test'}"
                       f" on it for details)")
    try:
        check_env_fit(spec, entry)
    except ValueError as err:
        raise SpecError(str(err)) from None


def _actor_obs_size(obs: Any) -> int:
    """Width of an observation as the critic input flattens it (mask dicts: the features)."""
    if isinstance(obs, dict):
        obs = obs["observations"]
    return int(np.asarray(obs).size)


def _critic_widths(env: Any, api: str, layout: CriticLayout, spec: Spec) -> dict[str, int]:
    """Width of each agent's critic input, from the env's first observations.

    ``team_obs``: the agent's and its teammates' observations (flattened) plus the
    one-hot index; ``state``: ``env.state()`` plus the one-hot index (see
    ``marl.rllib.env.critic_input``, which builds these vectors).
    """
    if api == "aec":
        env.reset(seed=spec.seed)
        obs = {a: env.observe(a) for a in env.agents}
    else:
        obs, _ = env.reset(seed=spec.seed)
    sizes = {a: _actor_obs_size(o) for a, o in obs.items()}
    state_size = None
    if layout.input == "state":
        try:
            state_size = int(np.asarray(env.state()).size)
        except (NotImplementedError, AttributeError):
            raise SpecError(f"algorithm.critic.input: env {spec.env.name} provides no global "
                            f"state (state()); use critic.input: team_obs") from None
    widths = {}
    for members in layout.teams.values():
        for agent in members:
            width = state_size if state_size is not None else sum(sizes.get(m, 0) for m in members)
            widths[agent] = (width + (len(members) if layout.with_agent_id else 0)
                             + (1 if layout.time_limit else 0))
    return widths


def _with_time_limit(critic: CriticLayout | None, env: Any, api: str, spec: Spec) -> CriticLayout:
    """``critic`` with the env's time limit, for ``algorithm.critic.time_feature``.

    Raises:
        SpecError: not mappo, not a parallel env, or an env without ``max_cycles``.
    """
    if critic is None or not critic.centralized:
        raise SpecError(f"algorithm.critic.time_feature: for mappo's central critic, not "
                        f"{spec.algorithm.name}'s; remove time_feature or use algorithm.name: "
                        f"mappo")
    if api != "parallel":
        raise SpecError(f"algorithm.critic.time_feature: {spec.env.name} is turn-based; the "
                        f"time feature counts parallel steps: remove time_feature")
    limit = getattr(getattr(env, "unwrapped", env), "max_cycles", None)
    if not isinstance(limit, int) or limit < 1:
        raise SpecError(f"algorithm.critic.time_feature: {spec.env.name} declares no time "
                        f"limit (max_cycles); remove time_feature")
    return replace(critic, time_limit=limit)


def resolve(spec: Spec) -> Experiment:
    """Resolve a validated spec against its env (builds the env once; no Ray).

    Raises:
        EnvError: the env constructor rejects ``env.config``.
        SpecError: policies that do not fit the env's agents or teams, a critic input
            the env cannot give, a preprocessing step its spaces do not take, or a cnn
            encoder its observations do not fit.
    """
    entry = env_entry(spec.env)  # the one registry lookup of a run
    env_config = _base_env_config(spec, entry)
    if entry.custom:
        _import_custom(entry)
    try:
        env = make_spec_env(env_config)
    except PreprocessError as err:  # a step the env's spaces do not take
        raise SpecError(f"env.preprocess: {err}") from None
    except (TypeError, ValueError) as err:  # the env constructor rejected env.config
        raise EnvError(f"env.config: {entry.id} cannot be built with "
                       f"{dict(spec.env.config)}: {err}; fix env.config") from None
    except Exception as err:
        if not entry.custom:
            raise
        raise EnvError(f"env.entry_point: {entry.entry_point}() failed: "
                       f"{type(err).__name__}: {err}; fix the env constructor") from None
    try:
        api = api_of(env)
        if entry.custom:
            entry = _detect(entry, env, api)
            _check_custom(spec, entry, env_config)
        if spec.env.random_opening and api != "aec":
            raise SpecError(f"env.random_opening: {spec.env.name} is a parallel (simultaneous-"
                            f"move) env; random openings are for turn-based games: remove it")
        agents = list(env.possible_agents)
        obs_spaces = {a: env.observation_space(a) for a in agents}
        act_spaces = {a: env.action_space(a) for a in agents}
        seats = league_seats(entry, agents)
        if spec.league is not None:
            if len(set(seats.values())) != 2:
                raise SpecError(f"league: {entry.id} needs exactly two seats or teams, "
                                f"got {sorted(set(seats.values()))}")
            from marl.league import League

            plan = league_policy_plan(League(spec.league.settings(spec.seed)).learner_ids, agents)
        else:
            plan = plan_policies(spec.policies, agents)
        if spec.policies.model.encoder == "cnn":  # an image (or board) the conv layers fit
            for policy, members in plan.agents_of.items():
                if policy not in plan.frozen:
                    cnn_input(spec.policies.model, entry, obs_spaces[members[0]], policy)
        algorithm = get_algorithm(spec.algorithm.name)
        critic = plan_critics(spec.algorithm, entry, agents, plan)
        if spec.algorithm.critic.time_feature:
            critic = _with_time_limit(critic, env, api, spec)
        if critic is not None and critic.centralized:
            critic = critic.with_widths(_critic_widths(env, api, critic, spec))
            env_config = {**env_config, "critic": critic.env_config()}
    finally:
        env.close()
    return Experiment(
        spec=spec, entry=entry, api=api, env_config=env_config, agents=tuple(agents),
        observation_spaces=obs_spaces, action_spaces=act_spaces,
        teams=team_members(entry, agents), seats=seats, plan=plan, critic=critic,
        algorithm=algorithm,
        num_envs_per_env_runner=spec.resources.num_envs_per_env_runner or entry.num_envs,
    )


def load_experiment(path: Any, overrides: list[str] | None = None) -> Experiment:
    """``load_spec`` then ``resolve``: a spec file to a resolved experiment."""
    return resolve(load_spec(path, overrides))
