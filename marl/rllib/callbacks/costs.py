"""Episode costs of constrained runs, and the once-per-iteration multiplier update.

On the env runners (both samplers), at the end of every episode, per cost k: each
agent's episode cost C_i = sum_t infos[t]["cost_<k>"] (over the episode's chunks) is
logged as

    env_runners/custom/cost/<k>            mean_i C_i, averaged over the last
                                           ``metrics_num_episodes_for_smoothing``
                                           episodes (as episode_return_mean)
                                           -> rollout/cost/<k>
    env_runners/custom/<policy>/cost/<k>   the same over the policy's agents
                                           -> rollout/<policy>/cost/<k>
    env_runners/marl_costs/<policy>/...    per-iteration sums of C_i and agent-episode
                                           counts (exact, summed over env runners)

On the driver, after each iteration, J_c,k(policy) = sum C_i / count of that iteration
goes to every learner's ``update_multipliers`` (``learners/lagrangian.py``): the
multipliers the next iteration uses. An iteration without a finished episode leaves
them unchanged.
"""

from __future__ import annotations

from typing import Any

from ray.rllib.callbacks.callbacks import RLlibCallback

from marl.constraints import cost_key, mean_episode_cost

__all__ = ["CostCallback", "agent_episode_costs"]

_SUMS = "marl_costs"


def agent_episode_costs(chunks: list[Any], names: list[str]) -> dict[str, tuple[str, dict[str, float]]]:
    """Agent -> (its module, cost name -> summed cost) over an episode's chunks.

    A chunk's first info is the last of the chunk before it (or the reset's), so each
    chunk's costs are summed from its second info on.
    """
    out: dict[str, tuple[str, dict[str, float]]] = {}
    for chunk in chunks:
        for agent, sa_episode in chunk.agent_episodes.items():
            module, totals = out.setdefault(str(agent), (str(sa_episode.module_id), {}))
            for info in sa_episode.get_infos()[1:]:
                for name in names:
                    totals[name] = totals.get(name, 0.0) + float(info.get(cost_key(name), 0.0))
    for _, totals in out.values():
        for name in names:
            totals.setdefault(name, 0.0)
    return out


def _names(config: Any) -> list[str]:
    return [c["cost"] for c in config.learner_config_dict.get("constraints", [])]


class CostCallback(RLlibCallback):
    """Logs episode costs (env runners) and updates the multipliers (driver)."""

    def on_episode_end(self, *, episode: Any, prev_episode_chunks: list[Any] | None = None,
                       env_runner: Any = None, metrics_logger: Any = None,
                       **kwargs: Any) -> None:
        if metrics_logger is None or env_runner is None:
            return
        names = _names(env_runner.config)
        costs = agent_episode_costs([*(prev_episode_chunks or []), episode], names)
        if not costs:
            return
        window = getattr(env_runner.config, "metrics_num_episodes_for_smoothing", 100)
        by_module: dict[str, list[dict[str, float]]] = {}
        for module, totals in costs.values():
            by_module.setdefault(module, []).append(totals)
        for name in names:
            values = [t[name] for _, t in costs.values()]
            metrics_logger.log_value(("custom", f"cost/{name}"), sum(values) / len(values),
                                     reduce="mean", window=window)
            for module, rows in by_module.items():
                total = sum(r[name] for r in rows)
                metrics_logger.log_value(("custom", f"{module}/cost/{name}"),
                                         total / len(rows), reduce="mean", window=window)
                metrics_logger.log_value((_SUMS, module, name), total, reduce="sum")
        for module, rows in by_module.items():
            metrics_logger.log_value((_SUMS, module, "agent_episodes"), len(rows), reduce="sum")

    def on_train_result(self, *, algorithm: Any, result: dict, **kwargs: Any) -> None:
        sums = (result.get("env_runners") or {}).get(_SUMS) or {}
        names = _names(algorithm.config)
        measured = {}
        for module, stats in sums.items():
            count = float(stats.get("agent_episodes", 0) or 0)
            costs = mean_episode_cost({n: float(stats[n]) for n in names if n in stats},
                                      dict.fromkeys(names, count))
            if costs:
                measured[str(module)] = costs
        if not measured:
            return
        algorithm.learner_group.foreach_learner(
            lambda learner: learner.update_multipliers(measured))
