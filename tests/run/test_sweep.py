"""``marl sweep``: hyperparameter sweeps on Ray Tune, each trial a normal marl run.

The param grammar and its one-line errors without Ray; then real sweeps as a user runs
them (the installed ``marl`` in a subprocess): two tiny connect-four trials to the end,
and (slow) a sweep whose driver is SIGKILLed mid-way, then finished with ``--resume``.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from marl.errors import ClusterError, RunError, SpecError
from marl.resources import Node
from marl.sweep import SweepPlan, check_trial_fits, parse_param, trial_bundles

MARL = str(Path(sys.executable).with_name("marl"))
REPO = Path(__file__).resolve().parents[2]
TINY = {"name": "tiny", "env": {"id": "competitive/connect_four-v0"},
        "policies": {"mode": "shared"},
        "algorithm": {"train_batch_size": 200, "minibatch_size": 64, "num_epochs": 1},
        "resources": {"num_env_runners": 0, "num_envs_per_env_runner": 4},
        "stop": {"iterations": 1}, "checkpoint": {"every": 1},
        "evaluation": {"at_end": False, "progress_every": 0},
        "tracking": {"tensorboard": False, "wandb": {"mode": "disabled"}}}
ENV = {**os.environ, "WANDB_MODE": "disabled", "SDL_VIDEODRIVER": "dummy",
       "RAY_USAGE_STATS_ENABLED": "0", "PYTHONUNBUFFERED": "1", "COLUMNS": "120"}


def test_param_forms() -> None:
    p = parse_param("algorithm.lr=loguniform:1e-4:3e-3")
    assert (p.path, p.kind, p.args) == ("algorithm.lr", "loguniform", [1e-4, 3e-3])
    assert parse_param("algorithm.num_epochs=choice:5,10").args == [5, 10]
    assert parse_param("algorithm.num_epochs=randint:2:4").args == [2, 4]
    assert parse_param("seed=grid:0,1,2").kind == "grid"
    assert parse_param("policies.model.hidden=choice:[[64],[64,64]]").args == [[64], [64, 64]]
    for bad, needle in (("algorithm.lr", "PATH=FORM"), ("algorithm.lr=normal:0:1", "'normal'"),
                        ("algorithm.lr=loguniform:0:1", "0 < LOW"),
                        ("algorithm.lr=uniform:3:1", "LOW < HIGH"),
                        ("algorithm.num_epochs=randint:1.5:3", "integers"),
                        ("algorithm.lr=choice:", "at least one value")):
        with pytest.raises(SpecError, match=needle) as err:
            parse_param(bad)
        assert bad in str(err.value) and "loguniform:LOW:HIGH" in str(err.value)
        assert "\n" not in str(err.value)


def test_params_are_checked_against_the_spec(tmp_path: Path) -> None:
    base = {**TINY, "storage": str(tmp_path)}
    for params, needle in ((["algorithm.lrr=loguniform:1e-4:1e-3"], "unknown key 'algorithm.lrr'"),
                           (["algorithm.lr=uniform:-1:1"], "--param algorithm.lr=-1.0"),
                           (["algorithm.num_epochs=choice:1,x"], "algorithm.num_epochs=x"),
                           (["resources.num_env_runners=choice:0,1"], "set it with --set"),
                           (["seed=choice:1", "seed=choice:2"], "swept twice"),
                           ([], "no --param")):
        with pytest.raises(SpecError, match=needle):
            SweepPlan.create(base, params, "rollout/episode_len_mean")
    assert list(tmp_path.iterdir()) == []  # nothing was made


def test_a_trial_is_checked_to_fit_like_marl_submit() -> None:
    class Res:  # a ResourcesSpec's fields
        num_env_runners, num_cpus_per_env_runner, num_learners = 2, 1, 0
        num_gpus_per_learner = 0
        custom_resources_per_env_runner: dict = {}
        custom_resources_per_learner: dict = {}

    assert trial_bundles(Res()) == [{"CPU": 1.0}, {"CPU": 1.0}, {"CPU": 1.0}]
    check_trial_fits(Res(), [Node("a", {"CPU": 3.0})])
    with pytest.raises(ClusterError, match="one trial needs 3 CPU"):
        check_trial_fits(Res(), [Node("a", {"CPU": 2.0})])


def test_cluster_sweep_is_validated_here_and_fails_fast(tmp_path: Path) -> None:
    """--address: params, storage and the dashboard checked on this machine (no cluster)."""
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump({**TINY, "storage": str(tmp_path / "runs")}))
    proc = _sweep(str(spec), "-p", "algorithm.lr=loguniform:1e-4:3e-3", "--metric",
                  "rollout/episode_len_mean", "--address", "http://127.0.0.1:9", timeout=120)
    assert proc.returncode == 2 and "cannot reach the Ray dashboard" in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()
    with pytest.raises(RunError, match="not a sweep directory"):
        SweepPlan.load(tmp_path)


def _sweep(*args: str, timeout: float = 400) -> subprocess.CompletedProcess:
    return subprocess.run([MARL, "sweep", *args], capture_output=True, text=True, env=ENV,
                          timeout=timeout, cwd=REPO)


def _spec(tmp_path: Path, **stop: int) -> Path:
    spec = {**TINY, "storage": str(tmp_path / "runs"), "stop": stop or TINY["stop"]}
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _assert_complete(sweep_dir: Path, iterations: int) -> list[dict]:
    trials = sorted((sweep_dir / "trials").iterdir())
    assert len(trials) == 2
    for run in trials:
        summary = json.loads((run / "summary.json").read_text())
        assert summary["interrupted"] is False and summary["iteration"] == iterations
        done = [json.loads(ln)["iteration"] for ln in (run / "metrics.jsonl").read_text().splitlines()]
        assert done == list(range(1, iterations + 1))  # none lost, none doubled on resume
        assert (run / "checkpoints" / "latest").is_file()
        spec = yaml.safe_load((run / "spec.yaml").read_text())
        assert spec["tracking"]["wandb"]["group"] == sweep_dir.name  # one W&B group
    with (sweep_dir / "results.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["run_id"] for r in rows) == [t.name for t in trials]
    assert all(r["status"] == "done" and float(r["rollout/episode_len_mean"]) > 0 for r in rows)
    assert (sweep_dir / "results.png").stat().st_size > 5000
    return rows


def test_two_trial_sweep_runs_each_trial_as_a_marl_run(tmp_path: Path) -> None:
    proc = _sweep(str(_spec(tmp_path)), "-p", "algorithm.lr=loguniform:1e-4:3e-3",
                  "-p", "algorithm.num_epochs=choice:1,2", "--samples", "2",
                  "--metric", "rollout/episode_len_mean", "--name", "sw")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = _assert_complete(tmp_path / "runs" / "sw", 1)
    for r in rows:  # each trial's values are in its row and in its run's spec
        assert 1e-4 <= float(r["algorithm.lr"]) <= 3e-3 and r["algorithm.num_epochs"] in "12"
        spec = yaml.safe_load((tmp_path / "runs" / "sw" / "trials" / r["run_id"] /
                               "spec.yaml").read_text())
        assert spec["algorithm"]["lr"] == pytest.approx(float(r["algorithm.lr"]))
    table = proc.stdout[proc.stdout.index("sweep sw"):]
    assert all(r["run_id"].rsplit("-", 1)[-1] in table for r in rows)  # the table has both


@pytest.mark.slow
def test_a_killed_sweep_finishes_on_resume(tmp_path: Path) -> None:
    """SIGKILL the driver once the first trial has a checkpoint; --resume finishes both
    trials, the first continuing from its checkpoint (metrics neither lost nor doubled)."""
    sweep_dir = tmp_path / "runs" / "sw"
    proc = subprocess.Popen(
        [MARL, "sweep", str(_spec(tmp_path, iterations=20)), "-p", "seed=grid:1,2",
         "--samples", "1", "--metric", "rollout/episode_len_mean", "--name", "sw",
         "--max-concurrent", "1"],
        env=ENV, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if list(sweep_dir.glob("trials/*/checkpoints/latest")) and \
                    list(sweep_dir.glob("tune/experiment_state-*.json")):
                break
            time.sleep(0.2)
        assert proc.poll() is None, proc.communicate()[0][-3000:]
        os.kill(proc.pid, signal.SIGKILL)  # the driver dies; its embedded Ray with it
        proc.wait(timeout=30)
    finally:
        _reap(proc.pid)
    partial = [r for r in (sweep_dir / "trials").iterdir()
               if (r / "checkpoints" / "latest").is_file() and not (r / "summary.json").exists()]
    assert partial, "no trial was mid-run when the driver was killed"
    res = _sweep("--resume", str(sweep_dir))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    _assert_complete(sweep_dir, 20)
    events = [json.loads(ln)["event"] for ln in (partial[0] / "events.jsonl").read_text()
              .splitlines()]
    assert "resumed" in events  # it continued from its checkpoint, not from scratch


def _reap(pgid: int) -> None:
    """Wait for the killed driver's process group (its Ray) to be gone; SIGKILL what is
    left after 30 s (only this test's own session)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.5)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
