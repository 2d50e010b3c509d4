"""The progress probe of two-sided runs without a league: the current policies against
uniform random, every ``evaluation.progress_every`` iterations.

Self-play returns sum to zero, so the training return says nothing about strength; a few
games against random do. For each seat in turn, that seat's agents play their trained
policy (the learner's current weights, sampled actions) and the other seat plays masked
uniform random; a game is scored as the league scores it (``seat_score``). Logged as
``eval/win_rate_vs_random`` (draws count half).
"""

from __future__ import annotations

from typing import Any

from marl.experiment import Experiment
from marl.league.play import scripted_policy, seat_score
from marl.play import play_episodes

__all__ = ["WinRateProbe"]


class WinRateProbe:
    """Plays ``games`` games a seat against random every ``every`` iterations."""

    def __init__(self, exp: Experiment, every: int, games: int):
        self.exp = exp
        self.every = every
        self.games = games
        self._seed = exp.spec.seed + 20_000

    @classmethod
    def for_experiment(cls, exp: Experiment) -> WinRateProbe | None:
        """The probe of a run that needs one: two seats, no league, probing on."""
        ev = exp.spec.evaluation
        if exp.has_league or ev.progress_every == 0 or len(set(exp.seats.values())) != 2:
            return None
        if exp.entry.setting != "competitive":
            return None
        return cls(exp, ev.progress_every, ev.progress_games)

    def maybe_run(self, algo: Any) -> dict[str, float]:
        if int(algo.iteration) % self.every:
            return {}
        return {"eval/win_rate_vs_random": self.win_rate(algo)}

    def win_rate(self, algo: Any) -> float:
        from marl.rllib.inference import live_module, module_policy

        exp, plan = self.exp, self.exp.plan
        specs = algo.config.rl_module_spec.rl_module_specs
        policies = {p: module_policy(live_module(algo, specs[p], p), greedy=False, seed=self._seed)
                    for p in plan.agents_of if p not in plan.frozen}
        scores = []
        for seat in (0, 1):
            mapping = {}
            for i, agent in enumerate(exp.agents):
                policy = plan.policy_of(agent)
                if exp.seats[agent] == seat and policy in policies:
                    mapping[agent] = policies[policy]
                else:
                    mapping[agent] = scripted_policy("random", exp.action_spaces[agent],
                                                     self._seed + i)
            for returns in play_episodes(exp.play_config(), mapping, self.games,
                                         seed=self._seed + 7919 * seat):
                s0 = seat_score(returns, exp.seats)
                if s0 is not None:
                    scores.append(s0 if seat == 0 else 1.0 - s0)
        self._seed += 1  # fresh games next time
        return sum(scores) / len(scores) if scores else float("nan")
