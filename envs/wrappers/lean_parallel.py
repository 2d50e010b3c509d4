"""An AEC env as a parallel env, without the work PettingZoo's converter throws away.

PettingZoo's ``aec_to_parallel`` calls ``last()`` before each agent's move and discards
what it returns: one ``observe`` per agent per step whose observation nobody reads (then
it observes every agent again for the result). With a SuperSuit pipeline on the AEC env
that wasted observe runs the whole pipeline (pistonball: a crop of the screen, colour
reduction and a resize, per piston). It also reads every agent's reward through the
wrapper chain after every move. ``LeanAecToParallel`` is the same converter with one
observe per agent per step and one reward lookup per move: the same observations,
rewards, terminations, truncations and infos, in the same order (a test steps both side
by side).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pettingzoo.utils.conversions import aec_to_parallel_wrapper

__all__ = ["LeanAecToParallel", "cycle"]


def cycle(env: Any, actions: dict[Any, Any]) -> tuple[dict, dict, dict, dict, dict]:
    """One parallel step of an AEC env, as ``aec_to_parallel_wrapper.step`` orders it
    (each live agent's move in ``agents`` order, rewards summed over the cycle, then the
    observations of the agents still in, then the dead agents' clean-up steps), less its
    discarded ``last()`` per move. The lean sampler's ``FastParallel`` runs it too."""
    rewards: defaultdict[Any, float] = defaultdict(int)
    for agent in env.agents:
        if agent != env.agent_selection:
            if env.terminations[agent] or env.truncations[agent]:
                raise AssertionError(
                    f"expected agent {agent} got termination or truncation agent "
                    f"{env.agent_selection}. Parallel environment wrapper expects all "
                    "agent death to happen only at the end of a cycle.")
            raise AssertionError(
                f"expected agent {agent} got agent {env.agent_selection}, Parallel "
                "environment wrapper expects agents to step in a cycle.")
        env.step(actions[agent])
        step_rewards = env.rewards
        for other in env.agents:
            rewards[other] += step_rewards[other]
    terminations = dict(**env.terminations)
    truncations = dict(**env.truncations)
    infos = dict(**env.infos)
    observations = {agent: env.observe(agent) for agent in env.agents}
    while env.agents and (env.terminations[env.agent_selection]
                          or env.truncations[env.agent_selection]):
        env.step(None)
    return observations, rewards, terminations, truncations, infos


class LeanAecToParallel(aec_to_parallel_wrapper):
    """``pettingzoo.utils.conversions.aec_to_parallel_wrapper`` less its discarded
    ``last()`` per move (see the module docstring). Needs an AEC env whose metadata says
    ``is_parallelizable``, as PettingZoo's does."""

    def step(self, actions: dict[Any, Any]) -> tuple[dict, dict, dict, dict, dict]:
        result = cycle(self.aec_env, actions)
        self.agents = self.aec_env.agents
        return result
