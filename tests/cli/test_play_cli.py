"""``marl play`` driven through a real pseudo-terminal (pexpect), as a person plays."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
import yaml

pexpect = pytest.importorskip("pexpect")

MARL = str(Path(sys.executable).with_name("marl")) if Path(sys.executable).with_name(
    "marl").exists() else (shutil.which("marl") or "marl")
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_runs" / \
    "legacy_league-20261201-071930-a6c029"


def _spawn(*args: str, cwd: Path) -> object:
    env = {**os.environ, "WANDB_MODE": "disabled", "COLUMNS": "100"}
    return pexpect.spawn(MARL, list(args), cwd=str(cwd), env=env, encoding="utf-8", timeout=60)


def test_play_connect_four_in_a_terminal(tmp_path: Path) -> None:
    run = tmp_path / "league"
    shutil.copytree(FIXTURE, run)
    child = _spawn("play", str(run), "--as", "second", "--search", "mcts:5", cwd=tmp_path)
    child.expect("you play player_1")
    child.expect(r"agent plays \d \(its value estimate [+-]\d\.\d\d\)")  # it moves first
    child.expect(r"1 2 3 4 5 6 7")
    child.expect(r"your move \[")
    child.sendline("9")  # not a column
    child.expect("'9' is not a legal move here")
    child.sendline("banana")
    child.expect("'banana' is not a legal move here")
    for _ in range(30):  # keep dropping into the first free column until the game ends
        index = child.expect([r"your move \[([0-9, ]+);", "game over: (you win|you lose|a draw)"])
        if index == 1:
            break
        child.sendline(child.match.group(1).split(",")[0].strip())
    else:
        pytest.fail("the game did not end")
    child.expect(r"again\? \[y/N\]")
    child.sendline("n")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "Traceback" not in (child.before or "")


def test_play_kuhn_poker_shows_cards_and_named_actions(tmp_path: Path) -> None:
    import subprocess

    spec = {"name": "kuhn", "env": {"id": "competitive/kuhn_poker-v0"},
            "stop": {"iterations": 1}, "algorithm": {"train_batch_size": 256},
            "resources": {"num_env_runners": 0, "num_envs_per_env_runner": 4},
            "evaluation": {"at_end": False, "progress_every": 0},
            "tracking": {"tensorboard": False, "wandb": {"mode": "disabled"}},
            "storage": str(tmp_path / "runs")}
    (tmp_path / "k.yaml").write_text(yaml.safe_dump(spec))
    trained = subprocess.run([MARL, "train", "k.yaml"], cwd=tmp_path, capture_output=True,
                             text=True, timeout=300,
                             env={**os.environ, "WANDB_MODE": "disabled"})
    assert trained.returncode == 0, trained.stderr[-2000:]
    (run,) = (tmp_path / "runs").iterdir()
    child = _spawn("play", str(run), cwd=tmp_path)
    child.expect("you play player_0")
    child.expect(r"you are player 0: \d")  # the private card, then the betting so far
    child.expect(r"your move \[pass \(0\), bet \(1\); q quits\]")
    child.sendline("raise")
    child.expect("'raise' is not a legal move here")
    child.sendline("bet")
    child.expect("game over")
    child.expect(r"again\? \[y/N\]")
    child.sendline("y")
    child.expect(r"your move \[")
    child.sendline("q")
    child.expect("bye")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_play_bad_input_is_one_line(tmp_path: Path) -> None:
    import subprocess

    for args, needle in ((["play", "random"], "trained agent"),
                         (["play", str(FIXTURE), "--as", "third"], "first or second"),
                         (["play", str(FIXTURE), "--search", "deep"], "mcts:N")):
        proc = subprocess.run([MARL, *args], capture_output=True, text=True, timeout=120,
                              cwd=tmp_path)
        assert proc.returncode == 2 and needle in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
