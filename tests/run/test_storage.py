"""Run dirs mirrored to a storage URI (``marl.storage``), through pyarrow's ``file://``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from marl.errors import RunError
from marl.storage import is_remote, local_root, pull, push, run_location


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_paths_stay_local_and_uris_get_a_staging_dir(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MARL_STAGING_DIR", str(tmp_path / "stage"))
    assert not is_remote("/data/runs") and local_root("/data/runs") == Path("/data/runs")
    assert is_remote("s3://b/marl") and local_root("s3://b/marl") == tmp_path / "stage"
    assert run_location("s3://b/marl/", "r1") == "s3://b/marl/r1"
    assert push(tmp_path, "/data/runs") == 0  # local storage: nothing to upload


def test_push_uploads_changes_and_mirrors_rotated_checkpoints(tmp_path: Path) -> None:
    remote = tmp_path / "bucket"
    remote.mkdir()
    storage = f"file://{remote}"
    run = tmp_path / "stage" / "run-1"
    _write(run / "spec.yaml", "name: x\n")
    _write(run / "metrics.jsonl", '{"iteration": 1}\n')
    _write(run / "checkpoints" / "iter_000001" / "meta.json", "{}")
    _write(run / "checkpoints" / ".iter_000002.tmp" / "half", "partial")
    assert push(run, storage) == 3
    assert (remote / "run-1" / "checkpoints" / "iter_000001" / "meta.json").is_file()
    assert not (remote / "run-1" / "checkpoints" / ".iter_000002.tmp").exists()
    assert push(run, storage) == 0  # unchanged files are not sent again

    # The next checkpoint replaces the first (keep: 1); metrics grow.
    _write(run / "checkpoints" / "iter_000002" / "meta.json", "{}")
    (run / "checkpoints" / "iter_000001" / "meta.json").unlink()
    (run / "checkpoints" / "iter_000001").rmdir()
    with (run / "metrics.jsonl").open("a") as fh:
        fh.write('{"iteration": 2}\n')
    os.utime(run / "metrics.jsonl", (1, 1))  # a different mtime even on a coarse clock
    assert push(run, storage) == 2
    assert not (remote / "run-1" / "checkpoints" / "iter_000001").exists()
    assert (remote / "run-1" / "metrics.jsonl").read_text().count("iteration") == 2


def test_pull_downloads_a_run_for_resume(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MARL_STAGING_DIR", str(tmp_path / "elsewhere"))
    _write(tmp_path / "bucket" / "run-2" / "checkpoints" / "iter_000004" / "meta.json", "{}")
    _write(tmp_path / "bucket" / "run-2" / "spec.yaml", "name: y\n")
    local = pull(f"file://{tmp_path}/bucket/run-2")
    assert local == tmp_path / "elsewhere" / "run-2"
    assert (local / "checkpoints" / "iter_000004" / "meta.json").is_file()
    assert push(local, f"file://{tmp_path}/bucket") == 0  # what was pulled is in sync
    with pytest.raises(RunError, match="not a run directory"):
        pull(f"file://{tmp_path}/bucket/missing")


def test_a_failed_upload_is_an_event_not_a_crash(tmp_path: Path, monkeypatch) -> None:
    from marl import events

    run = tmp_path / "run-3"
    _write(run / "spec.yaml", "name: z\n")
    blocker = tmp_path / "bucket"
    blocker.write_text("a file where the bucket dir should be")  # every upload fails
    events.open_events(run)
    try:
        assert push(run, f"file://{blocker}") == -1
    finally:
        events.close_events()
    failed = [e for e in events.read_events(run) if e["event"] == "storage_upload_failed"]
    assert len(failed) == 1 and str(blocker) in failed[0]["storage"]
