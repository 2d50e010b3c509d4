"""``marl ladder`` through the real CLI, on a real connect-four league run (the 0.1
fixture): add, play (resumable top-up), show; bad input exits 2 with one line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

MARL = str(Path(sys.executable).with_name("marl")) if Path(sys.executable).with_name(
    "marl").exists() else (shutil.which("marl") or "marl")
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_runs" / \
    "legacy_league-20261201-071930-a6c029"


def _marl(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "WANDB_MODE": "disabled", "COLUMNS": "80"}
    return subprocess.run([MARL, *args], capture_output=True, text=True, timeout=300, cwd=cwd,
                          env=env)


def _one_line_error(proc: subprocess.CompletedProcess, needle: str) -> None:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in proc.stderr


def test_ladder_add_play_resume_show(tmp_path: Path) -> None:
    run = tmp_path / FIXTURE.name
    shutil.copytree(FIXTURE, run)
    added = _marl(tmp_path, "ladder", "add", f"{run}:main_0", f"mx={run}:main_exploiter_0",
                  "alphabeta_d1")
    assert added.returncode == 0, added.stderr
    state = json.loads((tmp_path / "ladder.json").read_text())
    assert set(state["entries"]) == {"random", "legacy_league-a6c029:main_0", "mx",
                                     "alphabeta_d1"}
    assert state["env"] == "competitive/connect_four-v0"

    searcher = _marl(tmp_path, "ladder", "add", f"{run}:main_0", "--search", "mcts:8")
    assert searcher.returncode == 0, searcher.stderr
    state = json.loads((tmp_path / "ladder.json").read_text())
    assert state["entries"]["legacy_league-a6c029:main_0+mcts8"]["search"] == 8

    first = _marl(tmp_path, "ladder", "play", "--games", "4")
    assert first.returncode == 0, first.stderr
    assert first.stdout.count(" vs ") == 9  # 10 pairs less random vs alphabeta_d1
    more = _marl(tmp_path, "ladder", "play", "--games", "6")  # tops every pair up to 6
    assert more.returncode == 0 and "(6 games)" in more.stdout
    done = _marl(tmp_path, "ladder", "play", "--games", "6")
    assert done.returncode == 0 and "every pair has 6 games" in done.stdout

    shown = _marl(tmp_path, "ladder", "show", "--json")
    assert shown.returncode == 0, shown.stderr
    rows = {r["name"]: r for r in json.loads(shown.stdout)["rows"]}
    assert rows["random"]["elo"] == 0.0
    assert rows["alphabeta_d1"]["games"] == 18 and rows["mx"]["games"] == 24
    assert all(r["wins"] + r["draws"] + r["losses"] == r["games"] for r in rows.values())
    table = _marl(tmp_path, "ladder", "show")
    assert table.returncode == 0
    assert max(len(line) for line in table.stdout.splitlines()) <= 80

    _one_line_error(_marl(tmp_path, "ladder", "add", "no/such/run"), "neither a run")
    _one_line_error(_marl(tmp_path, "ladder", "add", f"mx={run}:main_0"), "exists")
    (tmp_path / "bad.json").write_text("{]")
    _one_line_error(_marl(tmp_path, "ladder", "show", "--file", "bad.json"), "bad.json")
    _one_line_error(_marl(tmp_path, "ladder", "show", "--file", "none.json"), "no ladder")
    _one_line_error(_marl(tmp_path, "ladder", "add", "random", "--file", "new.json"),
                    "needs a run first")
