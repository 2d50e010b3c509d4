"""Learning curves of one or more runs on one figure (``marl plot``).

One row of panels per metric, two columns: against env steps and against training
wall-clock (the sum of ``perf/iter_time_s``); one line per run, with a legend.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_METRICS", "curve", "plot_curves"]

DEFAULT_METRICS = {
    "cooperative": ["rollout/episode_return_mean"],
    "competitive": ["rollout/episode_len_mean", "train/{policy}/entropy"],
    "mixed": ["rollout/social/efficiency", "rollout/episode_return_mean"],
}


def curve(rows: list[dict[str, Any]], metric: str) -> dict[str, list[float]]:
    """``env_steps``, ``wall_s`` and ``value`` of the rows that have ``metric``."""
    out: dict[str, list[float]] = {"env_steps": [], "wall_s": [], "value": []}
    wall = 0.0
    for row in rows:
        wall += float(row.get("perf/iter_time_s", 0.0))
        if metric in row and row[metric] is not None:
            out["env_steps"].append(float(row.get("perf/env_steps_total", 0.0)))
            out["wall_s"].append(wall)
            out["value"].append(float(row[metric]))
    return out


def plot_curves(series: dict[str, dict[str, dict[str, list[float]]]], path: Path) -> Path:
    """Draw ``series[metric][run label] = curve(...)`` to a PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = list(series)
    fig, axes = plt.subplots(len(metrics), 2, figsize=(11, 3.2 * len(metrics)), squeeze=False)
    for i, metric in enumerate(metrics):
        for label, c in series[metric].items():
            axes[i][0].plot([x / 1e6 for x in c["env_steps"]], c["value"], label=label)
            axes[i][1].plot([x / 60 for x in c["wall_s"]], c["value"], label=label)
        for j, xlabel in enumerate(("env steps (M)", "training wall-clock (min)")):
            axes[i][j].set_xlabel(xlabel)
            axes[i][j].set_ylabel(metric, fontsize=8)
            axes[i][j].grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
