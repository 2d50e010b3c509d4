"""Algorithms, their capability flags, and the team-critic layout (plain Python, no Ray).

    ppo    PPO with marl's actor-critic (``marl.rllib.modules.actor_critic``) and RLlib's
           value loss: each policy's critic sees what its actor sees.
    ippo   PPO with the MAPPO learner (running value normalization, Huber value loss,
           value clipping, learner-only critic) and a *local* critic on the agent's own
           observation: the like-for-like baseline for mappo.
    mappo  ippo with a *centralized* critic per team (Yu et al. 2021): the critic sees the
           env's global state or the concatenated observations of the agent's team, plus
           the agent's index in its team. Actors stay decentralized.
    coma   mappo's centralized team critic as a Q critic Q(s, u_-i, .) over the agent's own
           actions given its teammates' actions (Foerster et al. 2018): agent i's advantage
           is Q(s, u) - sum_a pi_i(a|o_i) Q(s, (u_-i, a)), trained with PPO's clipped
           surrogate (``marl.rllib.learners.coma``). Cooperative, simultaneous-move envs
           with discrete actions only (``coma_problem``).
    reinforce  textbook baseline: Monte-Carlo policy gradient -logp(a_t|s_t) (G_t - b(s_t))
           on complete episodes, one pass per batch, optional learned value baseline
           (``marl.rllib.learners.reinforce``).
    dqn    textbook baseline: RLlib's DQN (new API stack), one independent Q-network per
           policy with replay and a target network; masked Q for masked envs
           (``marl.rllib.learners.dqn``). Discrete actions, stock sampler, no league.

Teams come from the env registry (``envs.registry.team_of``); an env without teams is one
team of all its agents. A mappo policy must be played by one team only, so a critic is
never trained on another team's returns (predators never see a critic fitted to prey
returns).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from envs.registry import EnvEntry, team_of
from marl.errors import SpecError

__all__ = ["AlgorithmInfo", "ALGORITHMS", "get_algorithm", "CriticLayout", "team_members",
           "plan_critics", "coma_problem"]


@dataclass(frozen=True)
class AlgorithmInfo:
    """What an algorithm needs and offers; drives validation and which tests run.

    Attributes:
        name: the spec's ``algorithm.name``.
        team_critic: trains with the MAPPO learner (learner-only critic, value
            normalization, Huber loss); reads ``algorithm.critic``.
        centralized_critic: the critic sees more than the actor (state or team obs).
        description: one line for docs and errors.
    """

    name: str
    team_critic: bool
    centralized_critic: bool
    description: str


ALGORITHMS: dict[str, AlgorithmInfo] = {
    "ppo": AlgorithmInfo("ppo", False, False, "PPO; each critic sees its agent's own obs"),
    "ippo": AlgorithmInfo("ippo", True, False,
                          "MAPPO learner with local critics (own observation)"),
    "mappo": AlgorithmInfo("mappo", True, True,
                           "MAPPO: one centralized critic per team (state or team obs)"),
    "coma": AlgorithmInfo("coma", True, True,
                          "COMA: counterfactual per-agent baseline from a central Q critic"),
    "reinforce": AlgorithmInfo("reinforce", False, False,
                               "REINFORCE: Monte-Carlo returns, optional value baseline"),
    "dqn": AlgorithmInfo("dqn", False, False,
                         "independent DQN: replay buffer and target network per policy"),
}


def get_algorithm(name: str) -> AlgorithmInfo:
    """The registry entry for ``name``.

    Raises:
        SpecError: for an unknown name, listing the known ones.
    """
    if name not in ALGORITHMS:
        raise SpecError(f"algorithm.name: unknown algorithm {name!r}; choose one of "
                        f"{', '.join(ALGORITHMS)}")
    return ALGORITHMS[name]


@dataclass(frozen=True)
class CriticLayout:
    """What each trained policy's critic sees, resolved against the env's agents.

    Attributes:
        input: ``own_obs`` (ippo), ``team_obs`` or ``state`` (mappo).
        with_agent_id: append the one-hot index of the agent within its team.
        teams: team -> its members, in the env's ``possible_agents`` order (a
            ``team_obs`` vector holds the agent's own block, then its teammates' in
            this order).
        team_of_policy: policy -> the one team whose agents play it (mappo only).
        widths: agent -> width of its critic input (mappo; filled in by
            ``marl.experiment.resolve`` from the env's observations).
        time_limit: append t / time_limit to every critic input (``critic.time_feature``;
            the env's ``max_cycles``, set by ``marl.experiment.resolve``); None: no.
    """

    input: Literal["own_obs", "team_obs", "state"]
    with_agent_id: bool
    teams: dict[str, tuple[str, ...]]
    team_of_policy: dict[str, str]
    widths: dict[str, int] = field(default_factory=dict)
    time_limit: int | None = None

    def with_widths(self, widths: dict[str, int]) -> CriticLayout:
        return replace(self, widths=dict(widths))

    def width_of(self, agents: tuple[str, ...] | list[str], policy: str) -> int:
        """The critic input width of a policy's agents (they must agree).

        Raises:
            SpecError: agents of one policy with critic inputs of different widths.
        """
        widths = {self.widths[a] for a in agents}
        if len(widths) != 1:
            raise SpecError(f"algorithm.critic: agents of policy {policy!r} have critic "
                            f"inputs of different widths {sorted(widths)}")
        return widths.pop()

    @property
    def centralized(self) -> bool:
        return self.input != "own_obs"

    def env_config(self) -> dict[str, Any]:
        """Plain data for the env adapter that puts the critic's input into infos."""
        return {"input": self.input, "with_agent_id": self.with_agent_id,
                "teams": {team: list(members) for team, members in self.teams.items()},
                "time_limit": self.time_limit}


def coma_problem(entry: EnvEntry) -> str | None:
    """Why ``coma`` cannot train on ``entry`` (one line naming the fix), or None.

    COMA's critic conditions on the teammates' actions of the same step and sums over
    the agent's own discrete actions: it needs a cooperative env (one team's return),
    simultaneous moves (parallel api) and discrete actions.
    """
    fix = "use mappo or ippo"
    if entry.setting != "cooperative":
        return (f"algorithm.name: coma needs a cooperative env; {entry.id} is "
                f"{entry.setting}: {fix}")
    if entry.actions != "discrete":
        return (f"algorithm.name: coma needs discrete actions (its critic gives one value "
                f"per action); {entry.id} has {entry.actions} actions: {fix}")
    if entry.api != "parallel":
        return (f"algorithm.name: coma needs simultaneous moves (a parallel env); {entry.id} "
                f"is turn-based: {fix}")
    return None


def team_members(entry: EnvEntry, agents: list[str]) -> dict[str, tuple[str, ...]]:
    """Team -> members in ``agents`` order; an env without teams is one team ``team``."""
    if not entry.teams:
        return {"team": tuple(agents)}
    out: dict[str, list[str]] = {}
    for agent in agents:
        out.setdefault(team_of(entry, agent), []).append(agent)
    return {team: tuple(members) for team, members in out.items()}


def plan_critics(algorithm: Any, entry: EnvEntry, agents: list[str], plan: Any
                 ) -> CriticLayout | None:
    """The critic layout of a spec's algorithm section, or None for plain ``ppo``.

    Args:
        algorithm: the spec's ``algorithm`` section (``marl.spec.AlgorithmSpec``).
        entry: the env's registry entry (its teams).
        agents: the env's ``possible_agents``.
        plan: the resolved ``marl.policies.PolicyPlan``.

    Raises:
        SpecError: a mappo policy played by agents of more than one team.
    """
    algo = get_algorithm(algorithm.name)
    if not algo.team_critic:
        return None
    teams = team_members(entry, agents)
    team_of_agent = {a: t for t, members in teams.items() for a in members}
    critic = algorithm.critic
    team_of_policy: dict[str, str] = {}
    if algo.centralized_critic:
        for policy, played_by in plan.agents_of.items():
            if policy in plan.frozen:
                continue
            its_teams = sorted({team_of_agent[a] for a in played_by})
            if len(its_teams) > 1:
                raise SpecError(
                    f"algorithm.critic: policy {policy!r} is played by agents of teams "
                    f"{' and '.join(its_teams)}; mappo gives each team its own critic, so "
                    f"use policies.mode: groups (one policy per team) or per_agent"
                )
            team_of_policy[policy] = its_teams[0]
    return CriticLayout(
        input=critic.input if algo.centralized_critic else "own_obs",
        with_agent_id=critic.with_agent_id and algo.centralized_critic,
        teams=teams,
        team_of_policy=team_of_policy,
    )
