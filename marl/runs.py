"""The runs under a storage dir: what each is, how far it got, and its learning curves.

Read from the files every run dir holds (``marl/run.py``): ``spec.yaml``, ``meta.json``,
``metrics.jsonl``, ``checkpoints/latest``, ``summary.json`` and ``events.jsonl``. A run's
status is

    finished      summary.json says it ran to its stop criterion
    interrupted   summary.json says Ctrl-C / SIGTERM, or the driver is gone without one
    running       no summary.json and its driver process is alive on this machine
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from marl.events import read_events

__all__ = ["RunInfo", "key_metric", "list_runs", "read_metrics", "run_info"]


@dataclass
class RunInfo:
    """One row of ``marl runs``."""

    run_id: str
    spec: str
    env: str
    status: str
    iterations: int
    env_steps: int
    metric: str
    value: float | None
    run_dir: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """metrics.jsonl as a list of rows (a torn last line, mid-write, is skipped)."""
    path = Path(run_dir) / "metrics.jsonl"
    rows = []
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows


def key_metric(spec: dict[str, Any], row: dict[str, Any]) -> str:
    """The metric that says most about a run of this setting, present in ``row``."""
    setting = str(spec.get("env", {}).get("id", "")).split("/")[0]
    if spec.get("league"):
        learner = next((k for k in row if k.startswith("league/main_0/") and k.endswith("/elo")),
                       None)
        if learner:
            return learner
    candidates = {"cooperative": ["rollout/episode_return_mean"],
                  "competitive": ["rollout/episode_len_mean"],
                  "mixed": ["rollout/social/efficiency", "rollout/social/raw_return"]}
    for key in [*candidates.get(setting, []), "rollout/episode_return_mean"]:
        if key in row:
            return key
    return "rollout/episode_return_mean"


def _alive(run_dir: Path) -> bool:
    """Whether the driver that last started this run is alive on this machine."""
    try:
        events = read_events(run_dir)
    except json.JSONDecodeError:  # a line being written
        events = []
    started = next((e for e in reversed(events) if e.get("event") == "run_started"), None)
    if not started or started.get("host") != platform.node():
        return False
    try:
        os.kill(int(started["pid"]), 0)
    except (OSError, ValueError, KeyError):
        return False
    return True


def run_info(run_dir: Path) -> RunInfo | None:
    """The ``RunInfo`` of a run dir; None if ``run_dir`` is not one."""
    run_dir = Path(run_dir)
    if not (run_dir / "spec.yaml").is_file() or not (run_dir / "meta.json").is_file():
        return None
    try:
        spec = yaml.safe_load((run_dir / "spec.yaml").read_text()) or {}
        meta = json.loads((run_dir / "meta.json").read_text())
    except (yaml.YAMLError, json.JSONDecodeError):
        return None
    rows = read_metrics(run_dir)
    last = rows[-1] if rows else {}
    summary_file = run_dir / "summary.json"
    if summary_file.is_file():
        summary = json.loads(summary_file.read_text())
        status = "interrupted" if summary.get("interrupted") else "finished"
    else:
        status = "running" if _alive(run_dir) else "interrupted"
    metric = key_metric(spec, last)
    value = last.get(metric)
    return RunInfo(run_id=str(meta.get("run_id", run_dir.name)), spec=str(spec.get("name", "")),
                   env=str(spec.get("env", {}).get("id", "")), status=status,
                   iterations=int(last.get("iteration", 0)),
                   env_steps=int(last.get("perf/env_steps_total", 0)),
                   metric=metric, value=None if value is None else float(value),
                   run_dir=str(run_dir))


def list_runs(storage: Path) -> list[RunInfo]:
    """Every run dir directly under ``storage``, newest first (by creation time)."""
    storage = Path(storage)
    if not storage.is_dir():
        return []
    infos = [info for d in storage.iterdir() if d.is_dir() and (info := run_info(d))]
    return sorted(infos, key=lambda i: (Path(i.run_dir) / "meta.json").stat().st_mtime,
                  reverse=True)
