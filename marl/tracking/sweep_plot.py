"""A sweep's results as one PNG (``marl sweep``): the metric against the swept params.

One param: a scatter of the metric against it (log x for a loguniform param, one slot
per value for choices). Two or more: parallel coordinates, one vertical axis per param
and the metric last, one line per trial coloured by the metric (grey: no value).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

__all__ = ["plot_sweep"]


def _axis(values: list[Any], log: bool) -> tuple[list[float], list[float], list[str]]:
    """Values -> positions in [0, 1], with tick positions and labels."""
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if not numeric:
        labels = list(dict.fromkeys(str(v) for v in values))
        slot = {lab: i / max(1, len(labels) - 1) for i, lab in enumerate(labels)}
        return [slot[str(v)] for v in values], list(slot.values()), labels
    xs = [math.log10(v) if log else float(v) for v in values]
    lo, hi = min(xs), max(xs)
    span = (hi - lo) or 1.0
    ticks = [lo, hi] if hi > lo else [lo]
    labels = [f"{(10 ** t) if log else t:.3g}" for t in ticks]
    return [(x - lo) / span for x in xs], [(t - lo) / span for t in ticks], labels


def plot_sweep(rows: list[dict[str, Any]], params: list[Any], metric: str, path: Path) -> Path:
    """Draw ``rows`` (each a trial's param values plus ``_value``, the metric) to ``path``;
    ``params`` are ``marl.sweep.Param``s (their ``path`` and ``kind``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values = [float(r["_value"]) for r in rows]
    good = [v for v in values if not math.isnan(v)]
    lo, hi = (min(good), max(good)) if good else (0.0, 1.0)
    cmap = plt.get_cmap("viridis")

    def colour(v: float) -> Any:
        return "0.7" if math.isnan(v) else cmap((v - lo) / ((hi - lo) or 1.0))

    if len(params) == 1:
        p = params[0]
        fig, ax = plt.subplots(figsize=(6, 4))
        raw: list[Any] = [r.get(p.path) for r in rows]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw)
        if numeric:
            ax.scatter([float(v) for v in raw], [0.0 if math.isnan(v) else v for v in values],
                       c=[colour(v) for v in values])
            if p.kind == "loguniform":
                ax.set_xscale("log")
        else:
            pos, ticks, labels = _axis(raw, False)
            ax.scatter(pos, values, c=[colour(v) for v in values])
            ax.set_xticks(ticks, labels)
        ax.set_xlabel(p.path)
        ax.set_ylabel(metric, fontsize=8)
        ax.grid(alpha=0.3)
    else:
        fig, ax = plt.subplots(figsize=(2.2 * (len(params) + 1) + 1, 4.5))
        columns = [_axis([r.get(p.path) for r in rows], p.kind == "loguniform") for p in params]
        columns.append(_axis([0.0 if math.isnan(v) else v for v in values], False))
        names = [p.path for p in params] + [metric]
        for i, v in enumerate(values):
            ax.plot(range(len(columns)), [c[0][i] for c in columns], color=colour(v),
                    alpha=0.8, marker="o")
        for j, (_, ticks, labels) in enumerate(columns):
            ax.axvline(j, color="0.3", lw=0.8)
            for t, lab in zip(ticks, labels):
                ax.annotate(lab, (j, t), xytext=(4, 0), textcoords="offset points", fontsize=7,
                            va="center")
        ax.set_xticks(range(len(columns)), names, fontsize=8, rotation=15)
        ax.set_yticks([])
        ax.set_xlim(-0.2, len(columns) - 0.5)
    ax.set_title(f"{len(rows)} trials: {metric}", fontsize=9)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
