"""Per-agent costs for constrained training (``algorithm.constraints``).

A cost is a per-step, per-agent float the env reports as ``infos[agent]["cost_<name>"]``
in the infos returned with the agent's next observation (reset infos carry none). Some
registered envs do not report costs themselves: ``CostWrapper`` computes them after
every step from the env's own state and adds them to the infos.

| cost        | envs                     | per agent and step                                  |
|-------------|--------------------------|-----------------------------------------------------|
| collisions  | MPE (``mpe2``), e.g.     | other colliding agents it overlaps after the step   |
|             | cooperative/spread-v0    | (distance < sum of sizes: MPE's ``is_collision``);  |
|             |                          | in spread, what the reward's -1 per collision counts |
| tagging     | mixed/commons_harvest-v0 | 1 when its beam tagged another agent this step      |

A user's env (``env.entry_point``) may report any ``cost_<name>`` itself, on every step.
Nothing here imports ``marl``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from pettingzoo import ParallelEnv
from pettingzoo.utils import BaseParallelWrapper

__all__ = ["COSTS", "CostWrapper", "add_costs", "available_costs", "check_costs",
           "commons_tagging", "mpe_collisions"]

CostFn = Callable[[Any], dict[str, float]]
"""The raw (unwrapped) env after a step -> agent -> cost of that step."""


def mpe_collisions(raw: Any) -> dict[str, float]:
    """Per agent: how many other colliding agents it overlaps (MPE ``is_collision``:
    centre distance < sum of the sizes), on the positions after the step."""
    agents = list(raw.world.agents)
    out = {a.name: 0.0 for a in agents}
    colliders = [a for a in agents if a.collide]
    if len(colliders) < 2:
        return out
    pos = np.stack([a.state.p_pos for a in colliders])
    size = np.array([a.size for a in colliders])
    dist = np.sqrt(((pos[:, None, :] - pos[None, :, :]) ** 2).sum(-1))
    hit = dist < size[:, None] + size[None, :]
    np.fill_diagonal(hit, False)
    for agent, n in zip(colliders, hit.sum(1).tolist()):
        out[agent.name] = float(n)
    return out


def commons_tagging(raw: Any) -> dict[str, float]:
    """Per agent: 1 when its beam tagged another agent this step (``last_taggers``)."""
    agents = list(raw.possible_agents)
    out = dict.fromkeys(agents, 0.0)
    for i in np.asarray(raw.last_taggers).tolist():
        out[agents[int(i)]] = 1.0
    return out


COSTS: dict[str, dict[str, CostFn]] = {
    "mpe2.": {"collisions": mpe_collisions},
    "envs.commons:": {"tagging": commons_tagging},
}
"""Entry-point prefix -> the costs ``CostWrapper`` computes for those envs."""


def available_costs(entry_point: str) -> dict[str, CostFn]:
    """The computed costs of an env, by its registry entry point."""
    out: dict[str, CostFn] = {}
    for prefix, costs in COSTS.items():
        if entry_point.startswith(prefix):
            out.update(costs)
    return out


def check_costs(env_id: str, entry_point: str, names: Sequence[str], custom: bool) -> None:
    """The named costs exist for this env (a user's env may report any itself).

    Raises:
        ValueError: an unknown cost, with the env's costs.
    """
    if custom:
        return
    known = available_costs(entry_point)
    for name in names:
        if name not in known:
            listed = ", ".join(sorted(known)) if known else "none"
            raise ValueError(f"unknown cost {name!r} for {env_id}; its costs: {listed}")


class CostWrapper(BaseParallelWrapper):
    """Adds ``infos[agent]["cost_<name>"]`` for every agent that gets this step's reward.

    Args:
        env: a PettingZoo ParallelEnv (wrapped or not; costs read ``env.unwrapped``).
        costs: cost name -> function of the raw env after the step.
    """

    def __init__(self, env: ParallelEnv, costs: Mapping[str, CostFn]) -> None:
        super().__init__(env)
        self._costs = dict(costs)

    def step(self, actions: dict[Any, Any]):
        obs, rewards, terms, truncs, infos = self.env.step(actions)
        raw = self.env.unwrapped
        values = {name: fn(raw) for name, fn in self._costs.items()}
        out = dict(infos)
        for agent in rewards:
            # Fresh per-agent dicts: an env may share one info dict between agents.
            out[agent] = {**infos.get(agent, {}),
                          **{f"cost_{n}": v.get(agent, 0.0) for n, v in values.items()}}
        return obs, rewards, terms, truncs, out


def add_costs(env: Any, entry_point: str, names: Sequence[str]) -> Any:
    """``env`` with the computed ones of ``names`` added to its infos (the others the env
    reports itself); the env unchanged when none is computed.

    Raises:
        ValueError: a computed cost on a turn-based (AEC) env.
    """
    known = available_costs(entry_point)
    computed = {n: known[n] for n in names if n in known}
    if not computed:
        return env
    if not isinstance(env, ParallelEnv):
        raise ValueError(f"costs {sorted(computed)} are computed for parallel envs only")
    return CostWrapper(env, computed)
