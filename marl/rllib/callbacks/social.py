"""Social-dilemma metrics per episode, from the env's own (raw, unshaped) rewards.

At the end of every episode an env runner reads the final step's infos and logs,
under ``env_runners/custom/social/<name>`` (flattened to ``rollout/social/<name>``):

| key                                   | source                                                  |
|---------------------------------------|---------------------------------------------------------|
| efficiency, equality, sustainability, | the env's ``infos[agent]["social"]`` (commons harvest;  |
| peace, apples_left, ...               | computed inside the env, so never shaped)               |
| raw_return                            | sum over agents of the raw episode return: the shaping  |
|                                       | wrappers' ``raw_return``, else RLlib's episode return   |
| efficiency, equality (other envs)     | from the raw per-agent returns, when the env reports    |
|                                       | no ``social`` dict (e.g. the matrix games)              |
| cooperation_rate, mutual_cooperation  | the matrix games' final infos (mean over agents)        |

Each key is a mean over the last ``metrics_num_episodes_for_smoothing`` episodes, the
same window RLlib uses for ``episode_return_mean``, so shaped and selfish runs compare
like for like.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ray.rllib.callbacks.callbacks import RLlibCallback

from envs import social_metrics
from marl.experiment import Experiment

__all__ = ["SocialMetricsCallback", "social_callbacks", "episode_social_metrics"]

PREFIX = ("custom",)  # env_runners/custom/<key> -> rollout/<key> (marl.rllib.metrics)
_MATRIX_KEYS = ("cooperation_rate", "mutual_cooperation")


def social_callbacks(exp: Experiment) -> list[type]:
    """The callback classes a run needs: social metrics for mixed-motive or shaped envs."""
    if exp.entry.setting == "mixed" or exp.spec.env.shaping is not None:
        return [SocialMetricsCallback]
    return []


def episode_social_metrics(
    final_infos: dict[str, dict[str, Any]],
    agent_returns: dict[str, float],
    episode_length: int,
) -> dict[str, float]:
    """Social metrics of one finished episode.

    Args:
        final_infos: agent -> info dict of the episode's last env step.
        agent_returns: agent -> episode return as RLlib saw it (shaped, if shaping is on);
            used only when the infos carry no ``raw_return``.
        episode_length: env steps in the episode (T).

    Returns:
        ``social/<name>`` -> value.
    """
    out: dict[str, float] = {}
    social = next((i["social"] for i in final_infos.values() if "social" in i), None)
    if social is not None:
        out.update({f"social/{k}": float(v) for k, v in social.items()})
    # Raw returns: the shaping wrappers' running sum, else the (unshaped) env return.
    raw = {a: float(i["raw_return"]) for a, i in final_infos.items() if "raw_return" in i}
    if not raw:
        raw = {a: float(r) for a, r in agent_returns.items()}
    if raw:
        out["social/raw_return"] = float(sum(raw.values()))
        if social is None and episode_length > 0:
            values = list(raw.values())
            out["social/efficiency"] = social_metrics.efficiency(values, episode_length)
            if min(values) >= 0:  # Gini is undefined for negative returns
                out["social/equality"] = social_metrics.equality(values)
    for key in _MATRIX_KEYS:
        values = [float(i[key]) for i in final_infos.values() if key in i]
        if values:
            out[f"social/{key}"] = float(np.mean(values))
    return out


def _agent_returns(episode: Any, chunks: list[Any]) -> dict[str, float]:
    """Per-agent return over the episode and its earlier chunks (as RLlib sums them)."""
    totals: dict[str, float] = {}
    for ep in [*chunks, episode]:
        for agent, sa_episode in ep.agent_episodes.items():
            totals[str(agent)] = totals.get(str(agent), 0.0) + float(sa_episode.get_return())
    return totals


class SocialMetricsCallback(RLlibCallback):
    """Logs ``episode_social_metrics`` of every finished episode on the env runners."""

    def on_episode_end(
        self,
        *,
        episode: Any,
        prev_episode_chunks: list[Any] | None = None,
        env_runner: Any = None,
        metrics_logger: Any = None,
        **kwargs: Any,
    ) -> None:
        if metrics_logger is None:
            return
        chunks = prev_episode_chunks or []
        # The last env step's infos of every agent that stepped then (all agents in a
        # parallel env). RLlib stores the env's own final infos, before any autoreset.
        final_infos = episode.get_infos(-1)
        length = len(episode) + sum(len(c) for c in chunks)
        metrics = episode_social_metrics(final_infos, _agent_returns(episode, chunks), length)
        window = getattr(getattr(env_runner, "config", None),
                         "metrics_num_episodes_for_smoothing", 100)
        for key, value in metrics.items():
            metrics_logger.log_value((*PREFIX, key), value, reduce="mean", window=window)
