"""Live console progress: one line per iteration plus a progress bar toward the stop."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

__all__ = ["ConsoleProgress", "console"]

console = Console(stderr=False, highlight=False)


class ConsoleProgress:
    """Shows iteration, env steps, steps/s and mean return per policy.

    Args:
        total: the stop target (iterations, env steps or seconds), for the bar.
        unit: what ``total`` counts.
        start: progress already made (resumed runs).
    """

    def __init__(self, total: float, unit: str, start: float = 0.0):
        self.unit = unit
        self._progress = Progress(
            TextColumn("[bold]train[/]"), BarColumn(), TextColumn("{task.completed:.0f}/{task.total:.0f} " + unit),
            TimeElapsedColumn(), console=console, transient=True,
        )
        self._task = self._progress.add_task("train", total=total, completed=start)
        self._progress.start()

    def update(self, iteration: int, metrics: dict[str, Any], done: float) -> None:
        returns = "  ".join(
            f"{k.split('/')[1]}={v:.2f}" for k, v in metrics.items()
            if k.startswith("rollout/") and k.endswith("/episode_return_mean") and k.count("/") == 2
        )
        console.print(
            f"iter {iteration:>4}  env steps {int(metrics.get('perf/env_steps_total', 0)):>9,}  "
            f"{metrics.get('perf/env_steps_per_s', 0):>6,.0f}/s  return {returns or '-'}",
            soft_wrap=True,
        )
        self._progress.update(self._task, completed=done)

    def close(self) -> None:
        self._progress.stop()
