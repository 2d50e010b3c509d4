"""RLlib result dicts -> our flat metric keys, grouped by concern and policy.

    rollout/episode_return_mean, rollout/<policy>/episode_return_mean, rollout/<custom>
                  (constraints: rollout/cost/<cost>, rollout/<policy>/cost/<cost>)
    train/<policy>/{policy_loss, vf_loss, entropy, mean_kl_loss, vf_explained_var,
                    learning_rate, entropy_coeff, num_module_steps_trained (rows x epochs),
                    ...}
                  (constraints: lambda_<cost>, cost_vf_loss_<cost>,
                   cost_vf_explained_var_<cost>)
    perf/{env_steps_total, iteration}
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["flatten_result"]

_TRAIN_KEYS = ("policy_loss", "vf_loss", "vf_loss_unclipped", "entropy", "mean_kl_loss",
               "vf_explained_var", "total_loss", "gradients_default_optimizer_global_norm",
               "value_norm_mean", "value_norm_std",  # ippo/mappo
               "qf_loss", "qf_mean", "qf_max", "qf_min", "td_error_mean",  # dqn
               "num_module_steps_trained")
# algorithm.constraints (marl.rllib.learners.lagrangian): <prefix><cost>
_PER_COST_TRAIN_KEYS = ("lambda_", "cost_vf_loss_", "cost_vf_explained_var_")
# RLlib's name -> ours
_RENAMED = {"default_optimizer_learning_rate": "learning_rate", "curr_entropy_coeff": "entropy_coeff"}
_ROLLOUT_KEYS = ("episode_return_mean", "episode_return_min", "episode_return_max",
                 "episode_len_mean", "num_episodes")


def _num(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def flatten_result(result: dict[str, Any]) -> dict[str, float]:
    """Pick the metrics a user reads from one ``Algorithm.train()`` result."""
    out: dict[str, float] = {}
    runners = result.get("env_runners", {})
    for key in _ROLLOUT_KEYS:
        if (v := _num(runners.get(key))) is not None:
            out[f"rollout/{key}"] = v
    for mid, value in (runners.get("module_episode_returns_mean") or {}).items():
        if (v := _num(value)) is not None:
            out[f"rollout/{mid}/episode_return_mean"] = v
    for key, value in (runners.get("custom") or {}).items():
        if (v := _num(value)) is not None:
            out[f"rollout/{key}"] = v
    for mid, stats in (result.get("learners") or {}).items():
        if mid == "__all_modules__" or not isinstance(stats, dict):
            continue
        for key in _TRAIN_KEYS:
            if (v := _num(stats.get(key))) is not None:
                out[f"train/{mid}/{key}"] = v
        for key, value in stats.items():  # constraints: one key per cost
            if key.startswith(_PER_COST_TRAIN_KEYS) and (v := _num(value)) is not None:
                out[f"train/{mid}/{key}"] = v
        trained = any(f"train/{mid}/{key}" in out for key in _TRAIN_KEYS)
        for key, ours in _RENAMED.items():
            # RLlib logs the entropy coefficient of every module, frozen ones too
            if trained and (v := _num(stats.get(key))) is not None:
                out[f"train/{mid}/{ours}"] = v
    out["perf/env_steps_total"] = float(result.get("num_env_steps_sampled_lifetime", 0.0))
    out["perf/iteration"] = float(result.get("training_iteration", 0))
    if (v := _num(result.get("time_this_iter_s"))) is not None:
        out["perf/iter_time_s"] = v
    return out
