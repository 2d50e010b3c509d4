"""The real ``marl`` CLI on bad input: exit 2, one line on stderr, no traceback, no writes.

Every call runs the installed entry point in a subprocess, as a user would. Specs point
``storage`` at a temp dir, so "nothing written" means that dir was never created.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from envs.registry import env_ids
from marl.run import create_run_dir
from marl.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
MARL = str(Path(sys.executable).with_name("marl")) if Path(sys.executable).with_name(
    "marl").exists() else (shutil.which("marl") or "marl")
QUICKSTART = ROOT / "experiments" / "quickstart.yaml"


def _marl(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "WANDB_MODE": "disabled", "COLUMNS": "80"}
    return subprocess.run([MARL, *args], capture_output=True, text=True, timeout=120, cwd=cwd,
                          env=env)


def _assert_user_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def _snapshot(root: Path) -> dict[str, str]:
    """Relative path -> content hash of every file under ``root``."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture()
def storage(tmp_path: Path) -> Path:
    return tmp_path / "storage"


def _spec_file(tmp_path: Path, storage: Path, **over: object) -> Path:
    data = {**yaml.safe_load(QUICKSTART.read_text()), "storage": str(storage), **over}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


# ---------------------------------------------------------------- new runs
def test_missing_spec_file(tmp_path: Path, storage: Path) -> None:
    proc = _marl("train", str(tmp_path / "nope.yaml"), "--set", f"storage={storage}")
    _assert_user_error(proc, "spec file not found", "nope.yaml")
    assert not storage.exists()


@pytest.mark.parametrize(("content", "needle"), [
    ("name: caf\xe9\n".encode("latin-1"), "not UTF-8"),
    (b"\x00\x01\x02binary", "YAML syntax error"),
    (None, "is a directory"),
])
def test_unreadable_spec_files(tmp_path: Path, storage: Path, content: bytes | None,
                               needle: str) -> None:
    path = tmp_path / "spec.yaml"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    _assert_user_error(_marl("train", str(path), "--set", f"storage={storage}"), needle)
    assert not storage.exists()


def test_unreadable_run_dir(tmp_path: Path, storage: Path) -> None:
    """A run dir whose meta.json is torn (a crash mid-write by another tool)."""
    run_dir = create_run_dir(load_spec(_spec_file(tmp_path, storage)))
    (run_dir / "meta.json").write_text('{"run_id": "trunc')
    _assert_user_error(_marl("eval", str(run_dir)), "cannot be read")


def test_yaml_syntax_error(tmp_path: Path, storage: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"name: x\nstorage: {storage}\nenv:\n  id: [oops\n")
    _assert_user_error(_marl("train", str(bad)), "YAML syntax error at line", "bad.yaml")
    assert not storage.exists()


@pytest.mark.parametrize(
    "override, needles",
    [
        ("env.id=competitive/conect_four-v0",
         ["unknown env id 'competitive/conect_four-v0'", "did you mean",
          "competitive/connect_four-v0"]),
        ("env.id=spread", ["unknown env id 'spread'", "cooperative/spread-v0"]),
        ("algorithm.lrr=0.1", ["unknown key 'algorithm.lrr'"]),
        ("seed=abc", ["invalid value for 'seed'", "integer"]),
        ("algorithm.gamma=1.5", ["invalid value for 'algorithm.gamma'", "less than or equal to 1"]),
        ("algorithm.minibatch_size=4096", ["minibatch_size (4096) must be <= train_batch_size"]),
        ("env.preprocess=zzz", ["env.preprocess", "'zzz'", "pad_frame_stack"]),
        ("env.config.not_a_kwarg=1", ["env.config", "not_a_kwarg"]),
        ("policies.frozen.shared=random", ["no policy trains"]),
        ("stop.iterations", ["bad override", "key.path=value"]),
    ],
)
def test_bad_spec_values(tmp_path: Path, storage: Path, override: str, needles: list[str]) -> None:
    path = _spec_file(tmp_path, storage)
    _assert_user_error(_marl("train", str(path), "--set", override), *needles)
    assert not storage.exists()


def test_unknown_key_in_the_file(tmp_path: Path, storage: Path) -> None:
    path = _spec_file(tmp_path, storage, sed=3)
    _assert_user_error(_marl("train", str(path)), "unknown key 'sed'")
    assert not storage.exists()


def test_spec_and_resume_together(tmp_path: Path, storage: Path) -> None:
    path = _spec_file(tmp_path, storage)
    _assert_user_error(_marl("train", str(path), "--resume", str(tmp_path)), "not both")
    assert not storage.exists()


def test_train_without_arguments_says_what_to_run(tmp_path: Path) -> None:
    _assert_user_error(_marl("train", cwd=tmp_path), "missing SPEC")
    assert not any(tmp_path.iterdir())


# ---------------------------------------------------------------- resume
def test_resume_of_a_directory_that_is_not_a_run(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    before = _snapshot(tmp_path)
    _assert_user_error(_marl("train", "--resume", str(tmp_path), "--set", "stop.iterations=3"),
                       "is not a run directory")
    assert _snapshot(tmp_path) == before


def test_resume_of_a_missing_directory(tmp_path: Path) -> None:
    _assert_user_error(_marl("train", "--resume", str(tmp_path / "gone")), "is not a run directory")
    assert not (tmp_path / "gone").exists()


def test_resume_of_a_run_without_checkpoint(tmp_path: Path, storage: Path) -> None:
    run_dir = create_run_dir(load_spec(_spec_file(tmp_path, storage)))
    before = _snapshot(storage)
    proc = _marl("train", "--resume", str(run_dir), "--set", "stop.iterations=30")
    _assert_user_error(proc, "has no checkpoint to resume from")
    assert _snapshot(storage) == before, "a failed resume must not touch the run"
    assert [p.name for p in storage.iterdir()] == [run_dir.name]


@pytest.mark.parametrize(("override", "message"), [
    ("stop.iterations=0", "invalid value for 'stop.iterations'"),  # a bad value
    # what the checkpoint holds
    ("algorithm.lr=0.1", "only stop, checkpoint, evaluation, tracking can change on resume"),
])
def test_resume_with_bad_override_leaves_run_untouched(tmp_path: Path, storage: Path,
                                                       override: str, message: str) -> None:
    run_dir = create_run_dir(load_spec(_spec_file(tmp_path, storage)))
    before = _snapshot(storage)
    _assert_user_error(_marl("train", "--resume", str(run_dir), "--set", override), message)
    assert _snapshot(storage) == before


def test_eval_of_a_run_without_checkpoint(tmp_path: Path, storage: Path) -> None:
    run_dir = create_run_dir(load_spec(_spec_file(tmp_path, storage)))
    before = _snapshot(storage)
    _assert_user_error(_marl("eval", str(run_dir)), "no checkpoint")
    assert _snapshot(storage) == before


def test_spec_validate_reports_the_same_error(tmp_path: Path, storage: Path) -> None:
    path = _spec_file(tmp_path, storage)
    _assert_user_error(_marl("spec", "validate", str(path), "--set", "algorithm.lrr=1"),
                       "unknown key 'algorithm.lrr'")
    ok = _marl("spec", "validate", str(path), "--set", "stop.iterations=3")
    assert ok.returncode == 0, ok.stderr
    assert yaml.safe_load(ok.stdout)["stop"]["iterations"] == 3
    assert not storage.exists()


# ---------------------------------------------------------------- help and listings
@pytest.mark.parametrize("args, needle", [
    ([], "train"),
    (["--help"], "train"),
    (["train", "--help"], "--resume"),
    (["eval", "--help"], "--json"),
    (["spec", "--help"], "schema"),
])
def test_help_exits_zero(args: list[str], needle: str) -> None:
    proc = _marl(*args)
    # typer's no_args_is_help prints help and exits 0 (or 2 on older click): both are help.
    assert proc.returncode in ((0, 2) if not args else (0,)), proc.stderr
    assert needle in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


def test_envs_list_shows_every_registered_id() -> None:
    proc = _marl("envs", "list")
    assert proc.returncode == 0, proc.stderr
    for env_id in env_ids():
        assert env_id in proc.stdout, f"{env_id} missing from `marl envs list`:\n{proc.stdout}"
    assert max(len(line) for line in proc.stdout.splitlines()) <= 80  # COLUMNS=80
    assert "discrete" in proc.stdout and "board 6x7x2" in proc.stdout


def test_envs_list_json_has_action_and_observation_kinds() -> None:
    import json

    from envs.registry import check_env_id

    proc = _marl("envs", "list", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = {r["id"]: r for r in json.loads(proc.stdout)}
    assert sorted(rows) == env_ids()
    for env_id, row in rows.items():
        entry = check_env_id(env_id)
        assert (row["actions"], row["observations"]) == (entry.actions, entry.observations)
        assert row["action_size"] >= 1 and row["agents"], row
    assert rows["competitive/tictactoe-v0"]["board"] == [3, 3, 2]
    assert rows["competitive/kuhn_poker-v0"]["action_size"] == 2
