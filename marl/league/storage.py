"""Atomic JSON files for league state.

``atomic_write_json`` writes a temp file in the target's directory, fsyncs it,
``os.replace``s it over the target (atomic on POSIX and Windows) and fsyncs the
directory, so a crash leaves the old file or the new one, never a torn one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from marl.league.errors import LeagueValueError

__all__ = ["atomic_write_json", "read_json"]


def atomic_write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """Write ``data`` as JSON to ``path`` atomically.

    Args:
        path: Target file; its directory is created if missing.
        data: A JSON-serializable object.

    Returns:
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # same dir: same filesystem
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
            f.flush()
            os.fsync(f.fileno())  # data on disk before the rename makes it visible
        os.replace(tmp, path)
    finally:
        if tmp.exists():  # only when something failed before the rename
            tmp.unlink()
    _fsync_dir(path.parent)
    return path


def _fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable; a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read a JSON file.

    Raises:
        LeagueValueError: If the file is missing or is not valid JSON.
    """
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LeagueValueError(f"no league state at {path}") from None
    except json.JSONDecodeError as exc:
        raise LeagueValueError(f"league state {path} is not valid JSON: {exc}") from exc
