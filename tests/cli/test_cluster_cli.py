"""``marl submit | jobs | logs | stop`` failing fast and clearly, before any cluster runs.

Real CLI subprocesses; no Ray cluster needed: every case here must fail before one
would be used (spec, storage, address) or against an address where nothing listens.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MARL = str(Path(sys.executable).with_name("marl")) if Path(sys.executable).with_name(
    "marl").exists() else (shutil.which("marl") or "marl")
SPEC = str(ROOT / "tests" / "cluster" / "smoke.yaml")


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def marl(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    # A hard bound so a hang fails the test; the checks below need seconds.
    return subprocess.run([MARL, *args], capture_output=True, text=True, timeout=120, env=env)


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def test_submit_unreachable_address_fails_fast_with_a_clear_line() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    line = one_error_line(marl("submit", SPEC, "--address", url, "--set", "storage=/tmp/x"))
    assert f"cannot reach the Ray dashboard at {url}" in line and "ray dashboard" in line


@pytest.mark.parametrize("command", [["jobs"], ["logs", "some-job"], ["stop", "some-job"]])
def test_job_commands_unreachable_address(command: list[str]) -> None:
    line = one_error_line(marl(*command, "--address", f"127.0.0.1:{closed_port()}"))
    assert "cannot reach the Ray dashboard" in line


def test_submit_needs_an_address() -> None:
    line = one_error_line(marl("submit", SPEC, "--set", "storage=/tmp/x"))
    assert "no cluster address" in line and "RAY_ADDRESS" in line
    line = one_error_line(marl("submit", SPEC, "--set", "storage=/tmp/x", "--address",
                               "ray://10.0.0.1:10001"))
    assert "dashboard's URL" in line


def test_submit_rejects_a_relative_storage_before_contacting_the_cluster() -> None:
    proc = marl("submit", SPEC, "--address", f"http://127.0.0.1:{closed_port()}")
    line = one_error_line(proc)
    assert "storage: 'runs' is relative" in line and "s3://" in line


def test_submit_validates_the_spec_locally_first(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(Path(SPEC).read_text().replace("num_env_runners: 2", "num_env_runners: -1"))
    line = one_error_line(marl("submit", str(bad), "--address",
                               f"http://127.0.0.1:{closed_port()}", "--set", "storage=/tmp/x"))
    assert "resources.num_env_runners" in line


def test_submit_takes_a_spec_or_resume_not_both() -> None:
    line = one_error_line(marl("submit", SPEC, "--resume", "job-1", "--address", "127.0.0.1:1"))
    assert "--resume" in line
