"""League match results out of the env runners; the mapping fn into restarted ones.

Env runner side (``on_episode_end``): which module sat on which seat and who won,
logged as counters that RLlib sums over episodes and runners for one iteration:

    env_runners/league/matches/<seat0 module>|<seat1 module>|<seat0 score>   games
    env_runners/league/steps/<module>                                        env steps
    env_runners/league/rows/<module>|<opponent module>                       agent steps

``rows`` counts the agent steps a module took (the rows it trains on, if it learns)
against each opponent: both seats in self-play, its seat in another learner's match.

A seat's score compares the mean return of its agents with the other seat's:
1 higher, 0.5 equal (a draw), 0 lower. In connect four and leduc that is the
game's result; in tag (predators vs prey) the prey can at best draw.

Driver side (``on_env_runners_recreated``): a restarted env runner is built from
the config of the group's creation, so it gets the current mapping fn pushed
(the one in ``algorithm.config``; stateless, so every runner answers the same).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from ray.rllib.callbacks.callbacks import RLlibCallback

from marl.league import EpisodeMapping
from marl.league.play import seat_score

__all__ = ["LeagueCallback", "SetMapping", "episode_match", "episode_rows", "parse_match_counts",
           "parse_rows"]

_SEP = "|"


class SetMapping:
    """``foreach_env_runner`` function installing a mapping fn (picklable, no closure)."""

    def __init__(self, fn: Any):
        self.fn = fn

    def __call__(self, env_runner: Any) -> None:
        env_runner.config.multi_agent(policy_mapping_fn=self.fn)


def episode_match(episode: Any, chunks: Sequence[Any], seat_of: dict[str, int]
                  ) -> tuple[str, str, float, int] | None:
    """``(seat-0 module, seat-1 module, seat-0 score, env steps)`` of a finished episode.

    Returns are summed over all chunks of the episode (earlier chunks were already
    shipped to the learners); None if a seat had no agent in the episode.
    """
    returns: dict[str, float] = defaultdict(float)
    steps = 0
    for chunk in [*chunks, episode]:
        steps += len(chunk)
        for aid, sa_episode in chunk.agent_episodes.items():
            returns[str(aid)] += float(sa_episode.get_return())
    score = seat_score(returns, seat_of)
    if score is None:
        return None
    modules: dict[int, str] = {}  # seat -> module id
    for agent, seat in seat_of.items():
        if agent in returns:
            modules.setdefault(seat, episode.module_for(agent))
    return modules[0], modules[1], score, steps


def episode_rows(episode: Any, chunks: Sequence[Any], seat_of: dict[str, int]
                 ) -> dict[tuple[str, str], int]:
    """``(module, opponent module) -> agent steps`` of a finished two-seat episode."""
    steps: dict[str, int] = defaultdict(int)
    for chunk in [*chunks, episode]:
        for aid, sa_episode in chunk.agent_episodes.items():
            steps[str(aid)] += len(sa_episode)
    modules: dict[int, str] = {}
    for agent, seat in seat_of.items():
        if agent in steps:
            modules.setdefault(seat, episode.module_for(agent))
    if len(modules) != 2:
        return {}
    out: dict[tuple[str, str], int] = defaultdict(int)
    for agent, n in steps.items():
        if agent in seat_of and n > 0:
            out[(modules[seat_of[agent]], modules[1 - seat_of[agent]])] += n
    return dict(out)


def parse_rows(league_metrics: dict[str, Any]) -> dict[tuple[str, str], int]:
    """``env_runners/league/rows`` of a result -> ``{(module, opponent): agent steps}``."""
    out = {}
    for key, n in (league_metrics.get("rows") or {}).items():
        module, opponent = key.split(_SEP)
        if (count := _count(n)) > 0:
            out[(module, opponent)] = count
    return out


def parse_match_counts(league_metrics: dict[str, Any]) -> tuple[list[tuple[str, str, float, int]],
                                                                 dict[str, int]]:
    """``env_runners/league`` of a result -> ``[(p, q, score, games)]`` and steps per module."""
    matches = []
    for key, count in sorted((league_metrics.get("matches") or {}).items()):
        p, q, score = key.split(_SEP)
        if (n := _count(count)) > 0:
            matches.append((p, q, float(score), n))
    steps = {m: _count(n) for m, n in (league_metrics.get("steps") or {}).items()}
    return matches, {m: n for m, n in steps.items() if n > 0}


def _count(value: Any) -> int:
    """A summed counter; RLlib reports NaN for a key nobody logged this iteration."""
    value = float(value)
    return int(round(value)) if math.isfinite(value) else 0


class LeagueCallback(RLlibCallback):
    """Reports league matches from env runners; re-pushes the mapping after restarts."""

    def on_episode_end(self, *, episode: Any, env_runner: Any = None, metrics_logger: Any = None,
                       prev_episode_chunks: Sequence[Any] | None = None, **kwargs: Any) -> None:
        fn = getattr(getattr(env_runner, "config", None), "policy_mapping_fn", None)
        if not isinstance(fn, EpisodeMapping) or metrics_logger is None:
            return
        match = episode_match(episode, prev_episode_chunks or (), fn.seat_of)
        if match is None:
            return
        p, q, score, steps = match
        metrics_logger.log_value(("league", "matches", f"{p}{_SEP}{q}{_SEP}{score:g}"), 1,
                                 reduce="sum")
        for module in dict.fromkeys((p, q)):
            metrics_logger.log_value(("league", "steps", module), steps, reduce="sum")
        for (module, opponent), n in episode_rows(episode, prev_episode_chunks or (),
                                                  fn.seat_of).items():
            metrics_logger.log_value(("league", "rows", f"{module}{_SEP}{opponent}"), n,
                                     reduce="sum")

    def on_env_runners_recreated(self, *, algorithm: Any, env_runner_group: Any,
                                 env_runner_indices: list[int], is_evaluation: bool = False,
                                 **kwargs: Any) -> None:
        fn = algorithm.config.policy_mapping_fn
        if isinstance(fn, EpisodeMapping):
            env_runner_group.foreach_env_runner(
                SetMapping(fn), remote_worker_ids=env_runner_indices, local_env_runner=False)
