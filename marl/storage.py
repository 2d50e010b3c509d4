"""Where run dirs live: a local path, or a cloud URI mirrored from a local staging dir.

``storage: /data/marl-runs`` (or ``runs``) puts run dirs there directly.
``storage: s3://bucket/marl`` (also ``gs://``, ``abfs://``, ``hdfs://``, ``file://``;
anything ``pyarrow.fs`` opens, with credentials from the environment or the instance
role, never from the spec) trains in a local staging dir,
``$MARL_STAGING_DIR/<run-id>`` (default ``~/.cache/marl/staging``), and uploads it to
``<storage>/<run-id>`` after every checkpoint and at the end: only changed files, and
checkpoints rotated away locally are deleted remotely too. ``marl train --resume
s3://bucket/marl/<run-id>`` downloads the run first.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["is_remote", "local_root", "run_location", "push", "pull"]

_MANIFEST = ".marl_pushed.json"  # local only: what was uploaded (size, mtime)


def is_remote(storage: str) -> bool:
    """True for a URI (``scheme://...``), False for a local path."""
    return "://" in str(storage)


def local_root(storage: str) -> Path:
    """The local dir run dirs are created in for this ``storage``."""
    if is_remote(storage):
        return Path(os.environ.get("MARL_STAGING_DIR", Path.home() / ".cache/marl/staging"))
    return Path(storage)


def run_location(storage: str, run_id: str) -> str:
    """Where a run's results end up: ``<storage>/<run-id>``."""
    return f"{str(storage).rstrip('/')}/{run_id}"


def _fs(uri: str):
    from pyarrow import fs

    filesystem, path = fs.FileSystem.from_uri(uri)
    return filesystem, path.rstrip("/")


def push(run_dir: Path, storage: str) -> int:
    """Upload the run dir's changed files to ``<storage>/<run-id>``; returns files sent.

    A no-op (0) for local storage. An upload error does not stop training: it is
    recorded as a ``storage_upload_failed`` event and the next push retries (-1).
    """
    if not is_remote(storage):
        return 0
    try:
        return _push(Path(run_dir), storage)
    except OSError as err:  # network, credentials, quota: keep training, retry next time
        from marl import events

        events.emit("storage_upload_failed", storage=str(storage), error=str(err)[:300])
        return -1


def _push(run_dir: Path, storage: str) -> int:
    from pyarrow import fs as pafs

    filesystem, base = _fs(run_location(storage, run_dir.name))
    manifest_path = run_dir / _MANIFEST
    pushed: dict[str, list[float]] = (json.loads(manifest_path.read_text())
                                      if manifest_path.is_file() else {})
    now: dict[str, list[float]] = {}
    sent = 0
    for path in sorted(p for p in run_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(run_dir).as_posix()
        if rel == _MANIFEST or any(part.startswith(".") and part.endswith(".tmp")
                                   for part in rel.split("/")):
            continue
        stat = path.stat()
        now[rel] = [stat.st_size, stat.st_mtime]
        if pushed.get(rel) == now[rel]:
            continue
        dest = f"{base}/{rel}"
        filesystem.create_dir(dest.rsplit("/", 1)[0], recursive=True)
        with path.open("rb") as src, filesystem.open_output_stream(dest) as out:
            while chunk := src.read(1 << 20):
                out.write(chunk)
        sent += 1
    for rel in set(pushed) - set(now):  # rotated checkpoints, replaced files
        try:
            filesystem.delete_file(f"{base}/{rel}")
        except (FileNotFoundError, OSError):
            pass
    for info in filesystem.get_file_info(pafs.FileSelector(f"{base}/checkpoints",
                                                            allow_not_found=True)):
        if info.type == pafs.FileType.Directory and not (
                run_dir / "checkpoints" / info.base_name).exists():
            filesystem.delete_dir(info.path)
    tmp = manifest_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(now))
    os.replace(tmp, manifest_path)
    return sent


def pull(run_uri: str) -> Path:
    """Download ``<storage>/<run-id>`` into the staging dir; returns the local run dir."""
    from pyarrow import fs as pafs

    filesystem, base = _fs(run_uri)
    info = filesystem.get_file_info(base)
    if info.type != pafs.FileType.Directory:
        from marl.errors import RunError

        raise RunError(f"{run_uri} is not a run directory (nothing there); check the URI "
                       f"with your cloud CLI or `marl jobs`")
    local = local_root(run_uri) / base.rsplit("/", 1)[-1]
    local.mkdir(parents=True, exist_ok=True)
    pafs.copy_files(base, str(local), source_filesystem=filesystem,
                    destination_filesystem=pafs.LocalFileSystem())
    push_state = {}
    for path in local.rglob("*"):
        if path.is_file():
            stat = path.stat()
            push_state[path.relative_to(local).as_posix()] = [stat.st_size, stat.st_mtime]
    (local / _MANIFEST).write_text(json.dumps(push_state))
    return local
