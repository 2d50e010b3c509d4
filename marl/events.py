"""Run events: where actors were placed, env runners lost and restarted, resumes.

One JSON object per line in ``<run>/events.jsonl`` (appended, flushed per event) and
one ``[marl event] ...`` line on stdout, so a cluster job's logs (``marl logs JOB``)
show them too::

    {"time": 1764115200.1, "event": "placement", "env_runners": [{"index": 1,
     "node_id": "39b4...", "host": "ip-10-0-1-7", "pid": 4242}], "learners": [...]}
    {"time": ..., "event": "env_runners_lost", "healthy": 1, "expected": 2, "iteration": 4}
    {"time": ..., "event": "env_runners_restarted", "indices": [2], "iteration": 6, ...}

Events hold no secrets: placement, counts and ids only.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["open_events", "close_events", "emit", "read_events"]

_path: Path | None = None


def open_events(run_dir: Path) -> None:
    """Send events of this process to ``run_dir/events.jsonl``."""
    global _path
    _path = Path(run_dir) / "events.jsonl"


def close_events() -> None:
    global _path
    _path = None


TROUBLE = frozenset({"env_runners_lost", "env_runners_restarted", "resumed"})
"""Events a user at a terminal always sees; the rest go to the file (and to stdout when it
is a pipe, e.g. a Ray Job's log, or with ``MARL_VERBOSE=1`` / ``marl train --verbose``)."""


def _loud(event: str) -> bool:
    if event in TROUBLE or os.environ.get("MARL_VERBOSE") == "1":
        return True
    return not sys.stdout.isatty()


def emit(event: str, **fields: Any) -> dict[str, Any]:
    """Record one event (file, if opened, and stdout when ``_loud``); returns it."""
    record = {"time": round(time.time(), 3), "event": event, **fields}
    line = json.dumps(record, default=str)
    if _path is not None:
        with _path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
    if _loud(event):
        print(f"[marl event] {line}", file=sys.stdout, flush=True)
    return record


def read_events(run_dir: Path) -> list[dict[str, Any]]:
    """All events of a run, oldest first ([] if none)."""
    path = Path(run_dir) / "events.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
