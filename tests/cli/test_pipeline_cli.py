"""``marl spec validate`` on declared pipelines, as a user runs it (a subprocess): a bad
pipeline exits 2 with exactly one line of output; a good one prints it as plain YAML."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

MARL = str(Path(sys.executable).with_name("marl")) if Path(sys.executable).with_name(
    "marl").exists() else (shutil.which("marl") or "marl")


def _validate(tmp_path: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({"name": "pipe", "env": env, "stop": {"iterations": 1},
                                    "storage": str(tmp_path / "runs")}))
    return subprocess.run([MARL, "spec", "validate", str(path), *args], capture_output=True,
                          text=True, timeout=120,
                          env={**os.environ, "WANDB_MODE": "disabled", "SDL_VIDEODRIVER": "dummy"})


@pytest.mark.parametrize(("env", "needles"), [
    ({"id": "cooperative/pistonball-v0",
      "preprocess": [{"color_reduction": {"mode": "B"}}, {"resise": {"x_size": 84}}]},
     ["env.preprocess", "step 2: unknown wrapper 'resise'", "did you mean resize?"]),
    ({"id": "cooperative/pistonball-v0", "preprocess": [{"frame_stack": {"size": 4}}]},
     ["env.preprocess", "step 1 (frame_stack): unknown argument 'size'", "stack_size"]),
    ({"id": "cooperative/pistonball-v0", "preprocess": [{"color_reduction": {"mode": "Y"}}]},
     ["env.preprocess", "mode must be one of R, G, B, full"]),
    # Valid on paper, rejected by the env's (27, 5) vectors when it is built.
    ({"id": "cooperative/knights_archers_zombies-v0",
      "preprocess": [{"color_reduction": {"mode": "B"}}]},
     ["env.preprocess: step 1 (color_reduction)", "(27, 5)"]),
])
def test_bad_pipeline_exits_2_with_one_line(tmp_path: Path, env: dict, needles: list[str]) -> None:
    proc = _validate(tmp_path, env)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert not (tmp_path / "runs").exists()


def test_good_pipeline_validates_and_resolves_to_plain_data(tmp_path: Path) -> None:
    steps = [{"color_reduction": {"mode": "B"}}, {"resize": {"x_size": 40, "y_size": 40}},
             {"frame_stack": 3}, {"dtype": "float32"}, {"normalize_obs": {}}]
    proc = _validate(tmp_path, {"id": "cooperative/pistonball-v0", "config": {"n_pistons": 3},
                                "preprocess": steps}, "--resolved")
    assert proc.returncode == 0, proc.stderr
    docs = proc.stdout.split("\nfrom_env_preset:")
    spec = yaml.safe_load(docs[0])
    assert spec["env"]["preprocess"] == steps
    resolved = yaml.safe_load("from_env_preset:" + docs[1])
    assert "env.preprocess" not in resolved["from_env_preset"]
    assert "policies.model.encoder" in resolved["from_env_preset"]
    assert resolved["resolved"]["spaces"]["piston_2"]["observation"] == \
        "Box(0.0, 1.0, (40, 40, 3), float32)"
