"""Metric sinks: a local JSONL file, TensorBoard event files and Weights & Biases.

Each sink takes ``log(metrics, step)`` with flat ``group/policy/name`` keys and
``close()``. W&B runs offline by default and never blocks on the network; the API key
is read by wandb from the environment and never written by us.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["JsonlSink", "TensorBoardSink", "WandbSink", "resolve_wandb_mode", "truncate_jsonl"]


class JsonlSink:
    """``<run>/metrics.jsonl``: one JSON object per iteration, flushed each line."""

    def __init__(self, path: Path):
        self.path = path
        self._fh = path.open("a", encoding="utf-8")

    def log(self, metrics: dict[str, Any], step: int) -> None:
        self._fh.write(json.dumps({"iteration": step, **metrics}, default=float) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


def truncate_jsonl(path: Path, last_iteration: int) -> None:
    """Drop lines logged after ``last_iteration`` (they are re-run on resume); atomic."""
    if not path.exists():
        return
    keep = [line for line in path.read_text().splitlines()
            if line.strip() and json.loads(line).get("iteration", 0) <= last_iteration]
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(line + "\n" for line in keep))
    os.replace(tmp, path)


class TensorBoardSink:
    """``<run>/tb``: scalars for TensorBoard."""

    def __init__(self, log_dir: Path):
        from tensorboardX import SummaryWriter

        self._writer = SummaryWriter(str(log_dir))

    def log(self, metrics: dict[str, Any], step: int) -> None:
        for key, value in metrics.items():
            if isinstance(value, (int, float)):
                self._writer.add_scalar(key, value, step)
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()


def resolve_wandb_mode(spec_mode: str) -> tuple[str, str | None]:
    """The W&B mode to use and a notice for the user, if any.

    ``disabled`` wins from the spec or ``WANDB_MODE``; ``online`` (from either) needs
    ``WANDB_API_KEY`` and falls back to ``offline`` without one.
    """
    env_mode = os.environ.get("WANDB_MODE", "").lower()
    if "disabled" in (spec_mode, env_mode):
        return "disabled", None
    if "online" in (spec_mode, env_mode):
        if os.environ.get("WANDB_API_KEY"):
            return "online", None
        return "offline", "W&B: no WANDB_API_KEY in the environment, logging offline instead"
    return "offline", None


class WandbSink:
    """A W&B run in ``<run>/wandb``; offline runs upload later with ``wandb sync``."""

    def __init__(self, run_dir: Path, run_id: str, project: str, entity: str | None,
                 mode: str, config: dict[str, Any], resume: bool, group: str | None = None):
        import wandb

        self._wandb = wandb
        # wandb forks a service process; keep it quiet and off the network when offline.
        os.environ.setdefault("WANDB_SILENT", "true")
        self.run = wandb.init(
            project=project,
            entity=entity,
            name=run_id,
            group=group,
            id=run_id.replace(".", "-"),
            resume="allow" if resume else None,
            dir=str(run_dir),
            mode=mode,  # type: ignore[arg-type]  # resolve_wandb_mode: offline|online|disabled
            config=config,
            settings=wandb.Settings(silent=True, init_timeout=30, x_disable_stats=True),
            reinit="create_new",
        )
        self.run.define_metric("perf/iteration")
        self.run.define_metric("*", step_metric="perf/iteration")
        self._lost = False

    def _guard(self, fn: Any, *args: Any) -> None:
        """W&B's service process can die under us (``marl stop`` on a cluster signals the
        driver's children too): warn once and go on, so the run still checkpoints."""
        if self._lost:
            return
        try:
            fn(*args)
        except (ConnectionError, OSError) as err:
            self._lost = True
            from marl.tracking.console import console

            console.print(f"[yellow]W&B stopped logging ({type(err).__name__}: its service "
                          f"process is gone); training and checkpoints go on[/]")

    def log(self, metrics: dict[str, Any], step: int) -> None:
        self._guard(self.run.log, {**metrics, "perf/iteration": step})

    def log_table(self, key: str, columns: list[str | int], rows: list[list[Any]]) -> None:
        self._guard(self.run.log, {key: self._wandb.Table(columns=columns, data=rows)})

    def log_image(self, key: str, path: Path) -> None:
        self._guard(self.run.log, {key: self._wandb.Image(str(path))})

    @property
    def run_path(self) -> Path:
        return Path(self.run.dir).parent

    def close(self) -> None:
        self._guard(self.run.finish)
