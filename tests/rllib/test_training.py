"""Short real trainings through the ``marl`` CLI: run dir, checkpoints, metrics, trackers.

Real Ray (one instance for the module), real envs, real RLlib PPO with tiny budgets, and
W&B offline read back from its ``.wandb`` file. ``marl train`` runs in-process through
typer's runner so the Ray instance is shared; ``marl eval --json`` runs as a subprocess.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from marl.cli.main import app

MARL = str(Path(sys.executable).with_name("marl")) if Path(sys.executable).with_name(
    "marl").exists() else (shutil.which("marl") or "marl")
TINY = {
    "seed": 0,
    "resources": {"num_env_runners": 0, "num_envs_per_env_runner": 1, "num_cpus": 2},
    "algorithm": {"train_batch_size": 200, "minibatch_size": 64, "num_epochs": 1},
    "policies": {"model": {"hidden": [32]}},
    "stop": {"iterations": 2},
    "checkpoint": {"every": 1, "keep": 2},
    "tracking": {"wandb": {"mode": "offline"}, "tensorboard": True},
    "evaluation": {"episodes": 2, "at_end": True},
}


# ---------------------------------------------------------------- log readers
def wandb_records(path: Path) -> Iterator[Any]:
    """Protobuf records of a ``.wandb`` file (W&B's LevelDB-style log; wandb 0.31 ships
    no Python reader). Header ``:W&B`` + magic 0xBEE1 + version 0, then 32 KiB blocks of
    ``crc32 | length | type | data`` chunks (type 1 full, 2 first, 3 middle, 4 last)."""
    from wandb.proto.wandb_internal_pb2 import Record

    data = path.read_bytes()
    ident, magic, version = struct.unpack("<4sHB", data[:7])
    assert (ident, magic, version) == (b":W&B", 0xBEE1, 0), "not a W&B log"
    block, pos, pending = 32768, 7, b""
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # a block tail too short for a header is padding
            pos += block - pos % block
            continue
        crc, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        if (crc, length, kind) == (0, 0, 0):
            pos += block - pos % block
            continue
        chunk = data[pos + 7:pos + 7 + length]
        pos += 7 + length
        assert zlib.crc32(chunk, zlib.crc32(bytes([kind]))) == crc, "corrupt W&B record"
        pending = chunk if kind in (1, 2) else pending + chunk
        if kind in (1, 4):
            record = Record()
            record.ParseFromString(pending)
            yield record


def wandb_history(run_dir: Path) -> list[dict[str, float]]:
    """Every history row logged to the run's offline W&B runs, oldest run first."""
    rows = []
    for log in sorted(run_dir.glob("wandb/offline-run-*/run-*.wandb")):
        for record in wandb_records(log):
            if record.WhichOneof("record_type") == "history":
                rows.append({item.key or "/".join(item.nested_key): json.loads(item.value_json)
                             for item in record.history.item})
    return rows


def tensorboard_scalars(log_dir: Path) -> dict[str, dict[int, float]]:
    """tag -> {step: value} from TFRecord event files (uint64 len, crc, Event, crc)."""
    from tensorboardX.proto.event_pb2 import Event

    out: dict[str, dict[int, float]] = {}
    for path in sorted(log_dir.glob("events.out.tfevents.*")):
        data, pos = path.read_bytes(), 0
        while pos + 12 <= len(data):
            (length,) = struct.unpack("<Q", data[pos:pos + 8])
            event = Event()
            event.ParseFromString(data[pos + 12:pos + 12 + length])
            pos += 12 + length + 4
            for value in event.summary.value:
                out.setdefault(value.tag, {})[event.step] = value.simple_value
    return out


# ---------------------------------------------------------------- fixtures and helpers
def _write_spec(tmp_path: Path, name: str, env: dict, **over: Any) -> Path:
    data = {"name": name, "env": env, **TINY, "storage": str(tmp_path / "runs"), **over}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def _train(spec_path: Path, *sets: str) -> Path:
    """``marl train SPEC``; returns the one run dir it created."""
    storage = yaml.safe_load(spec_path.read_text())["storage"]
    before = set(Path(storage).glob("*")) if Path(storage).exists() else set()
    _cli("train", str(spec_path), *[a for s in sets for a in ("--set", s)])
    (run_dir,) = set(Path(storage).glob("*")) - before
    return run_dir


def _metrics(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def _latest(run_dir: Path) -> tuple[Path, dict[str, Any]]:
    info = json.loads((run_dir / "checkpoints" / "latest").read_text())
    path = run_dir / "checkpoints" / info["name"]
    assert (path / "meta.json").is_file() and (path / "rllib_checkpoint.json").is_file()
    return path, info


# ---------------------------------------------------------------- trainings
def test_spread_run_writes_checkpoint_metrics_and_trackers(ray_session, tmp_path: Path) -> None:
    run_dir = _train(_write_spec(tmp_path, "spread", {"id": "cooperative/spread-v0"}))
    assert run_dir.name.startswith("spread-")
    for name in ("spec.yaml", "meta.json", "metrics.jsonl", "summary.json"):
        assert (run_dir / name).is_file(), name

    ckpt, info = _latest(run_dir)
    assert info["iteration"] == 2 and info["env_steps"] >= 400
    assert (ckpt / "learner_group" / "learner" / "rl_module" / "shared").is_dir()
    assert not list((run_dir / "checkpoints").glob(".*tmp")), "temp checkpoint left behind"

    rows = _metrics(run_dir)
    assert [r["iteration"] for r in rows] == [1, 2]
    for row in rows:
        assert {"rollout/episode_return_mean", "train/shared/policy_loss",
                "train/shared/vf_loss", "perf/env_steps_total"} <= set(row)
        assert any(k.startswith("perf/") for k in row)
    assert rows[1]["perf/env_steps_total"] > rows[0]["perf/env_steps_total"] >= 200

    assert list((run_dir / "tb").glob("events.out.tfevents.*")), "no TensorBoard event file"
    scalars = tensorboard_scalars(run_dir / "tb")
    assert set(scalars["rollout/episode_return_mean"]) == {1, 2}
    assert scalars["train/shared/policy_loss"][2] == pytest.approx(
        rows[1]["train/shared/policy_loss"])

    history = wandb_history(run_dir)
    assert [int(h["perf/iteration"]) for h in history] == [1, 2]
    assert all("rollout/episode_return_mean" in h and "train/shared/policy_loss" in h
               for h in history)
    assert history[0]["rollout/episode_return_mean"] == pytest.approx(
        rows[0]["rollout/episode_return_mean"])

    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["iteration"] == 2 and not summary["interrupted"]
    assert {r["pairing"] for r in summary["evaluation"]} == {"trained", "random"}


@pytest.fixture(scope="module")
def c4_run(ray_session, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Connect four, one shared policy for both seats, 2 iterations."""
    tmp = tmp_path_factory.mktemp("c4")
    return _train(_write_spec(tmp, "c4", {"id": "competitive/connect_four-v0"},
                              evaluation={"episodes": 2, "at_end": False}))


def test_connect_four_run(c4_run: Path) -> None:
    _, info = _latest(c4_run)
    assert info["iteration"] == 2
    rows = _metrics(c4_run)
    assert [r["iteration"] for r in rows] == [1, 2]
    assert "train/shared/policy_loss" in rows[-1] and "rollout/episode_return_mean" in rows[-1]
    # Both seats play the shared policy: one learner, zero-sum returns summed per episode.
    assert rows[-1]["rollout/episode_return_mean"] == pytest.approx(0.0)
    history = wandb_history(c4_run)
    assert [int(h["perf/iteration"]) for h in history] == [1, 2]


def test_eval_json_reports_win_draw_loss(c4_run: Path) -> None:
    proc = subprocess.run([MARL, "eval", str(c4_run), "--json", "--episodes", "6"],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "WANDB_MODE": "disabled"})
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    trained = ["trained", "player_0 trained vs random", "player_1 trained vs random"]
    assert [(r["pairing"], r["actions"]) for r in rows] == [
        ("trained", "sampled"), ("random", "sampled"), *((p, "sampled") for p in trained[1:]),
        *((p, "greedy") for p in trained)]  # random vs random is played once
    for row in rows:
        assert row["episodes"] == 6
        assert row["wins"] + row["draws"] + row["losses"] == 6
        assert set(row["team_returns"]) == {"player_0", "player_1"}
        assert sum(row["team_returns"].values()) == pytest.approx(0.0)
        assert 0.0 <= row["extra"]["score_ci_low"] <= row["extra"]["score_ci_high"] <= 1.0
    assert rows[2]["extra"]["focal"] == "player_0" and rows[3]["extra"]["focal"] == "player_1"
    # Greedy play of one fixed policy from the same start is the same game every episode
    # unless the opponent samples: trained vs itself, greedy, repeats one result.
    greedy_self = rows[4]
    assert max(greedy_self["wins"], greedy_self["draws"], greedy_self["losses"]) == 6
    assert json.loads((c4_run / "eval.json").read_text()) == rows


def test_resume_restores_weights_and_continues_counting(c4_run: Path) -> None:
    from ray.rllib.core.rl_module.rl_module import RLModule

    from marl.rllib.inference import module_dir
    from marl.rllib.trainer import RLlibTrainer
    from marl.run import open_run_dir

    ckpt, info = _latest(c4_run)
    saved = RLModule.from_checkpoint(str(module_dir(ckpt, "shared").resolve())).get_state()
    spec, _ = open_run_dir(c4_run)
    trainer = RLlibTrainer.from_spec(spec, restore_from=ckpt)
    try:
        assert trainer.iteration == info["iteration"] == 2
        assert trainer.env_steps == info["env_steps"]
        group = trainer.algo.learner_group
        learner = group.get_weights(["shared"])["shared"]
        assert set(saved) == set(learner)
        for key, value in saved.items():
            np.testing.assert_array_equal(np.asarray(learner[key]), np.asarray(value), err_msg=key)
        # The env runner samples with the restored actor (its critic copy is never synced
        # and unused: values are computed on the learner).
        acting = group.get_state(components="learner/rl_module/shared", inference_only=True)
        acting_keys = set(acting["learner"]["rl_module"]["shared"])
        assert any(k.startswith("pi.") for k in acting_keys)
        sampler = trainer.algo.get_module("shared").get_state()
        for key in acting_keys:
            np.testing.assert_array_equal(np.asarray(sampler[key]), np.asarray(saved[key]),
                                          err_msg=key)
    finally:
        trainer.stop()

    _cli("train", "--resume", str(c4_run), "--set", "stop.iterations=3")
    rows = _metrics(c4_run)
    assert [r["iteration"] for r in rows] == [1, 2, 3]
    assert rows[2]["perf/env_steps_total"] > rows[1]["perf/env_steps_total"]
    assert _latest(c4_run)[1]["iteration"] == 3
    assert yaml.safe_load((c4_run / "spec.yaml").read_text())["stop"]["iterations"] == 3
    assert [int(h["perf/iteration"]) for h in wandb_history(c4_run)] == [1, 2, 3]
    # The resumed weights moved on from the checkpoint's.
    resumed = RLModule.from_checkpoint(
        str(module_dir(_latest(c4_run)[0], "shared").resolve())).get_state()
    assert any(not np.array_equal(np.asarray(resumed[k]), np.asarray(v)) for k, v in saved.items())


def test_groups_train_only_the_unfrozen_policy(ray_session, tmp_path: Path) -> None:
    policies = {"mode": "groups", "groups": {"adversary_*": "predators", "agent_*": "prey"},
                "frozen": {"prey": "random"}, "model": {"hidden": [32]}}
    run_dir = _train(_write_spec(tmp_path, "tag", {"id": "competitive/tag-v0"},
                                 policies=policies, stop={"iterations": 1},
                                 evaluation={"episodes": 1, "at_end": True}))
    (row,) = _metrics(run_dir)
    train_keys = {k for k in row if k.startswith("train/")}
    assert train_keys and all(k.startswith("train/predators/") for k in train_keys), train_keys
    assert "rollout/predators/episode_return_mean" in row
    assert "rollout/prey/episode_return_mean" in row
    modules = run_dir / "checkpoints" / _latest(run_dir)[1]["name"] / "learner_group" / \
        "learner" / "rl_module"
    assert (modules / "predators").is_dir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert {r["pairing"] for r in summary["evaluation"]} == {
        "trained", "random", "predators trained vs random", "prey trained vs random"}
