"""Real short trainings of this phase's learning paths: the cnn encoder with symmetry
augmentation on connect four, its threat planes, a critic sharing the actor's encoder, linear LR annealing, the preset path on spread, exact
epochs per module on a team game, and resume of each."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from marl.cli.main import app

pytestmark = pytest.mark.usefixtures("ray_session")

TINY_RUN = {"checkpoint": {"every": 1, "keep": 2},
            "tracking": {"wandb": {"mode": "disabled"}, "tensorboard": False},
            "evaluation": {"episodes": 2, "at_end": True}}


def _train(tmp_path: Path, name: str, data: dict[str, Any], *sets: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"name": name, "storage": str(tmp_path / "runs"),
                                    **TINY_RUN, **data}))
    result = CliRunner().invoke(app, ["train", str(path), *sets])
    assert result.exit_code == 0, result.output
    return next((tmp_path / "runs").glob(f"{name}-*"))


def _resume(run_dir: Path, iterations: int) -> list[dict[str, Any]]:
    result = CliRunner().invoke(app, ["train", "--resume", str(run_dir),
                                      "--set", f"stop.iterations={iterations}"])
    assert result.exit_code == 0, result.output
    return [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_cnn_with_mirror_augmentation_trains_evaluates_and_resumes(tmp_path: Path) -> None:
    from ray.rllib.core.rl_module.rl_module import RLModule
    from torch import nn

    run_dir = _train(tmp_path, "c4cnn", {
        "env": {"id": "competitive/connect_four-v0"},
        "policies": {"model": {"encoder": "cnn", "conv": [[8, 3]], "hidden": [16]}},
        "algorithm": {"train_batch_size": 256, "num_minibatches": 2, "num_epochs": 1,
                      "symmetry_augmentation": True},
        "resources": {"num_env_runners": 0, "num_envs_per_env_runner": 2},
        "stop": {"iterations": 2}})
    ckpt = run_dir / "checkpoints" / json.loads((run_dir / "checkpoints" / "latest").read_text())["name"]
    module = RLModule.from_checkpoint(str(ckpt / "learner_group/learner/rl_module/shared"))
    assert isinstance(module.pi[1], nn.Conv2d) and isinstance(module.critic[1], nn.Conv2d)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert {r["actions"] for r in summary["evaluation"]} == {"sampled", "greedy"}
    rows = _resume(run_dir, 3)
    assert [r["iteration"] for r in rows] == [1, 2, 3]
    # Mirrored rows double what the learner trains on per sampled row. A batch of 256
    # env steps holds at least 256 - 2 rows: in each of the 2 envs the move of the last
    # step has no next observation yet and trains in the next batch.
    trained = rows[-1]["train/shared/num_module_steps_trained"]
    assert trained >= 2 * (256 - 2)


def test_shared_encoder_trains_on_the_lean_sampler_and_resumes(tmp_path: Path) -> None:
    from ray.rllib.core.rl_module.rl_module import RLModule
    from torch import nn

    run_dir = _train(tmp_path, "c4shared", {
        "env": {"id": "competitive/connect_four-v0"},
        "policies": {"model": {"encoder": "cnn", "conv": [[8, 3]], "hidden": [16],
                               "share_encoder": True}},
        "algorithm": {"train_batch_size": 256, "num_minibatches": 2, "num_epochs": 1},
        "resources": {"num_env_runners": 0, "num_envs_per_env_runner": 2, "sampler": "lean"},
        "stop": {"iterations": 2}})
    ckpt = run_dir / "checkpoints" / json.loads((run_dir / "checkpoints" / "latest").read_text())["name"]
    module = RLModule.from_checkpoint(str(ckpt / "learner_group/learner/rl_module/shared"))
    assert len(module.critic) == 1 and isinstance(module.critic[0], nn.Linear)
    rows = _resume(run_dir, 3)
    assert [r["iteration"] for r in rows] == [1, 2, 3]
    # Every iteration trains on its whole batch: 256 env steps, less at most one pending
    # move per env (it trains in the next batch).
    assert all(r["train/shared/num_module_steps_trained"] >= 256 - 2 for r in rows)


def test_threat_planes_train_on_the_lean_sampler_evaluate_and_resume(tmp_path: Path) -> None:
    from ray.rllib.core.rl_module.rl_module import RLModule

    from marl.rllib.modules.board_features import ThreatPlanes

    run_dir = _train(tmp_path, "c4threats", {
        "env": {"id": "competitive/connect_four-v0"},
        "policies": {"model": {"encoder": "cnn", "conv": [[8, 3]], "hidden": [16],
                               "features": "threats"}},
        "algorithm": {"train_batch_size": 256, "num_minibatches": 2, "num_epochs": 1},
        "resources": {"num_env_runners": 0, "num_envs_per_env_runner": 2, "sampler": "lean"},
        "stop": {"iterations": 2}})
    ckpt = run_dir / "checkpoints" / json.loads((run_dir / "checkpoints" / "latest").read_text())["name"]
    module = RLModule.from_checkpoint(str(ckpt / "learner_group/learner/rl_module/shared"))
    assert isinstance(module.pi[1], ThreatPlanes) and module.pi[2].in_channels == 5
    summary = json.loads((run_dir / "summary.json").read_text())
    assert {r["actions"] for r in summary["evaluation"]} == {"sampled", "greedy"}
    rows = _resume(run_dir, 3)
    assert [r["iteration"] for r in rows] == [1, 2, 3]


def test_linear_lr_falls_towards_zero_over_stop_env_steps(tmp_path: Path) -> None:
    run_dir = _train(tmp_path, "c4lr", {
        "env": {"id": "competitive/connect_four-v0"},
        "algorithm": {"train_batch_size": 256, "num_minibatches": 2, "num_epochs": 1,
                      "lr": 1e-3, "lr_schedule": "linear"},
        "resources": {"num_env_runners": 0, "num_envs_per_env_runner": 2},
        "stop": {"env_steps": 1024}})
    rows = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    lrs = [r["train/shared/learning_rate"] for r in rows]
    assert lrs == sorted(lrs, reverse=True) and lrs[0] < 1e-3 and lrs[-1] < 0.5e-3


def test_linear_schedules_fall_over_stop_iterations_from_the_first_update(tmp_path: Path) -> None:
    """No stop.env_steps: the driver's budget fraction is the clock, and iteration k's
    update runs at (1 - (k-1)/N) of the start value (what the metrics report)."""
    run_dir = _train(tmp_path, "c4sched", {
        "env": {"id": "competitive/connect_four-v0"},
        "algorithm": {"train_batch_size": 128, "num_minibatches": 1, "num_epochs": 1,
                      "lr": 1e-3, "lr_schedule": "linear", "entropy_coeff": 0.02,
                      "entropy_schedule": "linear"},
        "resources": {"num_env_runners": 0, "num_envs_per_env_runner": 2},
        "stop": {"iterations": 4}, "evaluation": {"at_end": False}})
    rows = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["train/shared/learning_rate"] for r in rows] == pytest.approx(
        [1e-3, 7.5e-4, 5e-4, 2.5e-4])
    assert [r["train/shared/entropy_coeff"] for r in rows] == pytest.approx(
        [0.02, 0.015, 0.01, 0.005])


def test_minimal_spread_spec_trains_on_the_preset_and_resumes(tmp_path: Path) -> None:
    run_dir = _train(tmp_path, "spreadmin", {
        "env": {"id": "cooperative/spread-v0"}, "stop": {"iterations": 1},
        "resources": {"num_env_runners": 0}})
    saved = yaml.safe_load((run_dir / "spec.yaml").read_text())
    assert saved["algorithm"]["num_minibatches"] == 1 and saved["algorithm"]["lr"] == 7e-4
    assert saved["policies"]["model"]["hidden"] == [64, 64]
    rows = _resume(run_dir, 2)
    assert [r["iteration"] for r in rows] == [1, 2]
    assert rows[-1]["perf/env_steps_total"] >= 4000


def test_every_module_trains_exactly_num_epochs_passes(tmp_path: Path) -> None:
    """Tag: predators (3 agents) and prey (1) in their own policies; RLlib's iterator
    would give the prey module about three times the epochs."""
    run_dir = _train(tmp_path, "tag", {
        "env": {"id": "competitive/tag-v0"},
        "policies": {"mode": "groups", "groups": {"adversary_*": "predators", "agent_*": "prey"},
                     "model": {"hidden": [16]}},
        "algorithm": {"train_batch_size": 400, "minibatch_size": 100, "num_epochs": 3},
        "resources": {"num_env_runners": 0, "num_envs_per_env_runner": 2},
        "stop": {"iterations": 1}, "evaluation": {"at_end": False}})
    row = json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[0])
    for module, agents in (("predators", 3), ("prey", 1)):
        trained = row[f"train/{module}/num_module_steps_trained"]
        assert trained % 3 == 0
        rows = trained / 3  # sampled agent steps + one bootstrap row per episode chunk
        assert 400 * agents <= rows <= 400 * agents * 1.25, (module, trained)


def test_runs_lists_and_plot_draws_real_runs(tmp_path: Path) -> None:
    """marl runs / marl plot on real runs: one finished, one still "running" (its driver
    pid is this test process), one whose driver died without a summary."""
    import os
    import platform

    from PIL import Image

    from marl.runs import read_metrics
    from marl.tracking.plots import curve

    finished = _train(tmp_path, "c4plot", {
        "env": {"id": "competitive/connect_four-v0"},
        "algorithm": {"train_batch_size": 256, "num_minibatches": 2, "num_epochs": 1},
        "resources": {"num_env_runners": 0, "num_envs_per_env_runner": 2},
        "stop": {"iterations": 3}, "evaluation": {"at_end": False}})
    storage = finished.parent
    for name, pid in (("alive", os.getpid()), ("dead", 2 ** 22 + 7)):
        other = storage / f"{name}-run"
        other.mkdir()
        for f in ("spec.yaml", "meta.json", "metrics.jsonl"):
            (other / f).write_text((finished / f).read_text())
        (other / "events.jsonl").write_text(json.dumps(
            {"event": "run_started", "host": platform.node(), "pid": pid}) + "\n")
    result = CliRunner().invoke(app, ["runs", str(storage), "--json"])
    assert result.exit_code == 0, result.output
    rows = {Path(r["run_dir"]).name: r for r in json.loads(result.stdout)}
    assert rows[finished.name]["status"] == "finished"
    assert rows["alive-run"]["status"] == "running"
    assert rows["dead-run"]["status"] == "interrupted"
    assert rows[finished.name]["iterations"] == 3
    assert rows[finished.name]["metric"] == "rollout/episode_len_mean"
    table = CliRunner().invoke(app, ["runs", str(storage)])
    assert table.exit_code == 0 and finished.name[:10] in table.output

    out = tmp_path / "curves.png"
    result = CliRunner().invoke(app, ["plot", str(finished), str(storage / "dead-run"),
                                      "-m", "train/shared/entropy", "-m",
                                      "rollout/episode_len_mean", "-o", str(out)])
    assert result.exit_code == 0, result.output
    width, height = Image.open(out).size
    assert width >= 1000 and height >= 600  # two metric rows x two columns
    metrics = read_metrics(finished)
    c = curve(metrics, "train/shared/entropy")
    assert c["value"] == [r["train/shared/entropy"] for r in metrics]
    assert c["env_steps"] == [r["perf/env_steps_total"] for r in metrics]
    assert c["wall_s"][-1] == pytest.approx(sum(r["perf/iter_time_s"] for r in metrics))
    bad = CliRunner().invoke(app, ["plot", str(finished), "-m", "nope/key"])
    assert bad.exit_code == 2 and "no run has nope/key" in bad.output
