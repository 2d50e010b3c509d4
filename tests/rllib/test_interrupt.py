"""Ctrl-C during `marl train` saves a checkpoint and exits cleanly; resume continues."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

MARL = [sys.executable, "-m", "marl.cli.main"]
TINY = ["--set", "resources.num_env_runners=0", "--set", "resources.num_envs_per_env_runner=4",
        "--set", "algorithm.train_batch_size=200", "--set", "algorithm.minibatch_size=64",
        "--set", "algorithm.num_epochs=1", "--set", "tracking.wandb.mode=disabled",
        "--set", "tracking.tensorboard=false", "--set", "evaluation.at_end=false"]


def test_sigint_checkpoints_and_resume_continues(tmp_path: Path) -> None:
    env = {**os.environ, "WANDB_MODE": "disabled", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [*MARL, "train", "experiments/quickstart.yaml", *TINY, "--set", f"storage={tmp_path}",
         "--set", "stop.iterations=100000", "--set", "checkpoint.every=100000"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 300
    metrics = None
    while time.monotonic() < deadline and proc.poll() is None:
        found = list(tmp_path.glob("*/metrics.jsonl"))
        if found and found[0].read_text().count("\n") >= 2:
            metrics = found[0]
            break
        time.sleep(0.5)
    assert metrics is not None, proc.communicate()[0][-3000:]
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 130, out[-3000:]
    assert "Traceback" not in out
    run_dir = metrics.parent
    latest = json.loads((run_dir / "checkpoints" / "latest").read_text())
    done = [json.loads(line)["iteration"] for line in metrics.read_text().splitlines()]
    # The checkpoint holds every iteration that was logged: nothing is lost.
    assert latest["iteration"] == done[-1] >= 2
    assert (run_dir / "checkpoints" / latest["name"] / "rllib_checkpoint.json").is_file()
    assert json.loads((run_dir / "summary.json").read_text())["interrupted"] is True

    target = latest["iteration"] + 1
    res = subprocess.run([*MARL, "train", "--resume", str(run_dir), "--set",
                          f"stop.iterations={target}"], env=env, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    iterations = [json.loads(line)["iteration"] for line in metrics.read_text().splitlines()]
    assert iterations == list(range(1, target + 1))
