"""Play policies against each other and against random; a table of returns and results.

Plain Python over PettingZoo envs: a policy is any ``act(list_of_obs) -> actions``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from envs.factory import make_spec_env
from envs.registry import EnvEntry, check_env_id, team_of

__all__ = ["evaluate_run", "EvalRow", "play_episodes", "teams_of", "pairings", "evaluate", "wilson_interval"]

Policy = Callable[[Sequence[Any]], np.ndarray]


@dataclass
class EvalRow:
    """Results of one pairing over N episodes."""

    pairing: str
    episodes: int
    team_returns: dict[str, float]
    wins: int | None = None
    draws: int | None = None
    losses: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def wilson_interval(successes: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a binomial rate (95 % by default)."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def play_episodes(env_config: dict[str, Any], agent_policy: dict[str, Policy], episodes: int,
                  seed: int = 0) -> list[dict[str, float]]:
    """Play ``episodes`` episodes; returns each episode's per-agent return."""
    entry = check_env_id(env_config["id"])
    env = make_spec_env(env_config)
    results = []
    for ep in range(episodes):
        totals = {a: 0.0 for a in env.possible_agents}
        if entry.api == "aec":
            env.reset(seed=seed + ep)
            for agent in env.agent_iter():
                obs, reward, term, trunc, _ = env.last()
                totals[agent] += float(reward)
                action = None if term or trunc else int(agent_policy[agent]([obs])[0])
                env.step(action)
        else:
            obs, _ = env.reset(seed=seed + ep)
            while env.agents:
                actions = {}
                by_policy: dict[int, list[str]] = {}
                for agent in env.agents:
                    by_policy.setdefault(id(agent_policy[agent]), []).append(agent)
                for agents in by_policy.values():  # one batched forward per policy
                    acts = agent_policy[agents[0]]([np.asarray(obs[a], np.float32) for a in agents])
                    actions.update({a: int(x) for a, x in zip(agents, acts)})
                obs, rewards, _, _, _ = env.step(actions)
                for agent, r in rewards.items():
                    totals[agent] += float(r)
        results.append(totals)
    env.close()
    return results


def teams_of(entry: EnvEntry, agents: Sequence[str]) -> dict[str, list[str]]:
    """Team -> agents: the registry's teams; one team for cooperative envs; else per agent."""
    teams: dict[str, list[str]] = {}
    for agent in agents:
        team = "team" if entry.setting == "cooperative" and not entry.teams else team_of(entry, agent)
        teams.setdefault(team, []).append(agent)
    return teams


def pairings(entry: EnvEntry, agents: Sequence[str], trained: dict[str, Policy],
             random: dict[str, Policy]) -> dict[str, dict[str, Policy]]:
    """Named agent->policy assignments: as trained, all random, each team vs random."""
    teams = teams_of(entry, agents)
    out = {"trained": dict(trained), "random": dict(random)}
    if len(teams) >= 2:
        for team, members in teams.items():
            out[f"{team} trained vs random"] = {
                a: trained[a] if a in members else random[a] for a in agents}
    return out


def evaluate(env_config: dict[str, Any], assignments: dict[str, dict[str, Policy]],
             episodes: int, seed: int = 0) -> list[EvalRow]:
    """Play each assignment; win/draw/loss for two-sided turn-based zero-sum games."""
    entry = check_env_id(env_config["id"])
    rows = []
    for name, agent_policy in assignments.items():
        agents = list(agent_policy)
        teams = teams_of(entry, agents)
        results = play_episodes(env_config, agent_policy, episodes, seed)
        team_returns = {t: float(np.mean([sum(r[a] for a in m) for r in results]))
                        for t, m in teams.items()}
        row = EvalRow(name, episodes, team_returns)
        if entry.zero_sum and entry.api == "aec" and len(teams) == 2:
            focal = next((t for t in teams if name.startswith(f"{t} ")), next(iter(teams)))
            other = next(t for t in teams if t != focal)
            diffs = [sum(r[a] for a in teams[focal]) - sum(r[a] for a in teams[other])
                     for r in results]
            row.wins = sum(d > 0 for d in diffs)
            row.draws = sum(d == 0 for d in diffs)
            row.losses = sum(d < 0 for d in diffs)
            lo, hi = wilson_interval(row.wins + 0.5 * row.draws, episodes)
            row.extra = {"focal": focal, "score_ci_low": lo, "score_ci_high": hi}
        rows.append(row)
    return rows


def evaluate_run(run_dir: Any, episodes: int | None = None, greedy: bool = False,
                 checkpoint: Any = None) -> list[EvalRow]:
    """Evaluate a run's latest (or a given) checkpoint: every pairing, N episodes each.

    Raises:
        RunError: if the run has no checkpoint.
    """
    from pathlib import Path

    from marl.errors import RunError
    from marl.policies import plan_policies
    from marl.run import latest_checkpoint, open_run_dir

    run_dir = Path(run_dir)
    spec, _ = open_run_dir(run_dir)
    if checkpoint is None:
        found = latest_checkpoint(run_dir)
        if found is None:
            raise RunError(f"{run_dir} has no checkpoint yet; train first or wait for one")
        checkpoint = found[0]
    from marl.rllib.inference import load_policies, random_policy  # imports ray: after checks
    env_config = {"id": spec.env.id, "config": dict(spec.env.config),
                  "preprocess": spec.env.preprocess}
    entry = check_env_id(spec.env.id)
    env = make_spec_env(env_config)
    agents = list(env.possible_agents)
    n_actions = {a: int(env.action_space(a).n) for a in agents}
    env.close()
    if spec.league is not None:  # the league's first learner on every seat
        from marl.league_spec import league_policy_plan

        plan = league_policy_plan(spec.league, spec.seed, agents)
    else:
        plan = plan_policies(spec.policies, agents)
    by_policy = load_policies(Path(checkpoint), plan, {p: n_actions[m[0]] for p, m in
                                                       plan.agents_of.items()}, greedy, spec.seed)
    trained = {a: by_policy[plan.policy_of(a)] for a in agents}
    # One stream per seat: with a shared seed, both random seats would replay the same draws.
    rand = {a: random_policy(n_actions[a], spec.seed + 1 + i) for i, a in enumerate(agents)}
    return evaluate(env_config, pairings(entry, agents, trained, rand),
                    episodes or spec.evaluation.episodes, seed=spec.seed + 10_000)
