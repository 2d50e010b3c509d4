"""What a user sees on a healthy run: no Ray/RLlib noise, and a progress line that tells.

The quickstart as `make demo` runs it (two remote env runners), shortened: its whole
captured output (stdout and stderr) is read back.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARL = str(Path(sys.executable).with_name("marl")) if Path(sys.executable).with_name(
    "marl").exists() else (shutil.which("marl") or "marl")


def test_demo_output_is_quiet_and_the_progress_line_shows_a_changing_win_rate(
        tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MARL_VERBOSE"}
    proc = subprocess.run(
        [MARL, "train", str(ROOT / "experiments" / "quickstart.yaml"),
         "--set", "stop.iterations=4", "--set", "evaluation.progress_every=1",
         "--set", "evaluation.progress_games=20", "--set", "evaluation.episodes=4",
         "--set", f"storage={tmp_path}", "--set", "tracking.wandb.mode=disabled"],
        capture_output=True, text=True, timeout=600, env={**env, "WANDB_MODE": "disabled"})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "core_worker.cc" not in out
    assert "DeprecationWarning" not in out and "Traceback" not in out
    lines = [line for line in proc.stdout.splitlines() if line.startswith("iter ")]
    assert len(lines) == 4, proc.stdout
    rates = [float(m.group(1)) for line in lines
             if (m := re.search(r"vs random (\d\.\d\d)", line))]
    assert len(rates) == 4 and len(set(rates)) > 1, lines
    assert all("ep len" in line and "entropy" in line and "/s" in line for line in lines)
