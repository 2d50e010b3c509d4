"""``marl sweep --address``: a real 2-trial sweep run as a Ray Job on a local multi-node
Ray cluster (``marl.localcluster``), through the installed ``marl``.

The cluster: a head with 0 CPUs (the job's driver, Tune's controller and the dashboard,
on loopback) and two 1-CPU worker nodes. Each trial takes 1 CPU (its driver learns; no
env runners), so the two trials run at once, one on each worker node. The sweep's
storage is an absolute path on the head (here: this machine's filesystem, shared by the
nodes). Marked ``cluster`` (``pytest -m cluster``); every process the test starts is
stopped by pid at the end and checked gone.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from marl.localcluster import LocalCluster
from test_multinode import marl, read_jsonl, wait_for, wait_job  # tests/cluster/ helpers

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(1200)]

ITERATIONS = 2
SPEC = {"name": "csweep", "env": {"id": "competitive/connect_four-v0"},
        "policies": {"mode": "shared"},
        "algorithm": {"train_batch_size": 200, "minibatch_size": 100, "num_epochs": 1},
        "resources": {"num_env_runners": 0, "num_envs_per_env_runner": 4},
        "stop": {"iterations": ITERATIONS}, "checkpoint": {"every": 1, "keep": 1},
        "evaluation": {"at_end": False, "progress_every": 0},
        "tracking": {"tensorboard": False, "wandb": {"mode": "disabled"}}}


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    root = Path(tempfile.mkdtemp(prefix="marl-rs-", dir="/tmp"))
    local = LocalCluster(root=root, max_nodes=3)
    try:
        local.start_head(num_cpus=0)
        for name in ("w1", "w2"):
            local.add_worker(name, num_cpus=1)
        yield local
    finally:
        local.shutdown(remove_files=False)
        left = local.leftover_pids()
        shutil.rmtree(root, ignore_errors=True)
        assert left == [], f"processes of the test cluster still running: {left}"


def test_sweep_runs_as_a_ray_job_on_the_cluster(cluster: LocalCluster, tmp_path: Path) -> None:
    storage = Path(tempfile.mkdtemp(prefix="marl-sweeps-", dir="/tmp"))
    try:
        spec = tmp_path / "csweep.yaml"
        spec.write_text(yaml.safe_dump({**SPEC, "storage": str(storage)}))
        proc = marl("sweep", str(spec), "-p", "algorithm.lr=loguniform:1e-4:3e-3",
                    "--samples", "2", "--metric", "rollout/episode_len_mean",
                    "--address", cluster.dashboard_url, "--follow", timeout=900)
        out, err = proc.stdout, proc.stderr
        assert proc.returncode == 0, out[-4000:] + err[-3000:]
        job_id = out.splitlines()[0].strip()
        sweep_dir = storage / job_id  # the job id names the sweep dir, on the head
        assert f"results: {sweep_dir}" in err and f"job {job_id}: SUCCEEDED" in err
        assert f"on the head: {sweep_dir}/results.csv" in err

        jobs = json.loads(marl("jobs", "--address", cluster.dashboard_url, "--json",
                               timeout=120).stdout)
        job = next(j for j in jobs if j["job_id"] == job_id)
        assert job["status"] == "SUCCEEDED" and job["run_dir"] == str(sweep_dir)

        # Both trials: complete marl run dirs under the sweep dir.
        trials = sorted(p for p in (sweep_dir / "trials").iterdir() if p.is_dir())
        assert len(trials) == 2, trials
        for run in trials:
            assert [r["iteration"] for r in read_jsonl(run / "metrics.jsonl")] == \
                list(range(1, ITERATIONS + 1))
            latest = json.loads((run / "checkpoints" / "latest").read_text())
            assert latest["iteration"] == ITERATIONS
            assert (run / "checkpoints" / latest["name"]).is_dir()
            summary = json.loads((run / "summary.json").read_text())
            assert summary["interrupted"] is False and summary["sweep"] == job_id

        # They ran on the cluster's worker nodes (the head has no CPU), one on each.
        ids = cluster.node_ids()
        nodes = {json.loads((run / "summary.json").read_text())["node_id"] for run in trials}
        assert nodes == {ids["w1"], ids["w2"]}

        # The results: CSV and plot in the sweep dir, the table in the job's log.
        with (sweep_dir / "results.csv").open() as fh:
            rows = list(csv.DictReader(fh))
        assert sorted(r["run_id"] for r in rows) == [t.name for t in trials]
        assert all(r["status"] == "done" and float(r["rollout/episode_len_mean"]) > 0
                   and int(r["iteration"]) == ITERATIONS for r in rows)
        assert (sweep_dir / "results.png").stat().st_size > 5000
        table = out[out.rindex(f"sweep {job_id}"):]  # the title (after "sweep X -> dir")
        assert all(t.name.rsplit("-", 1)[-1] in table for t in trials)
        assert f"results: {sweep_dir / 'results.csv'}" in out.replace("\n", "")
    finally:
        shutil.rmtree(storage, ignore_errors=True)


def test_a_sweep_whose_job_driver_dies_finishes_on_resume(cluster: LocalCluster,
                                                          tmp_path: Path) -> None:
    """SIGKILL the job's driver (Tune's controller) once a trial has a checkpoint; then
    ``marl sweep --resume SWEEP_DIR --address`` finishes both trials on the cluster, each
    continuing from its run dir's checkpoint: no iteration lost or logged twice."""
    from ray.job_submission import JobSubmissionClient

    iterations = 8
    storage = Path(tempfile.mkdtemp(prefix="marl-sweeps-", dir="/tmp"))
    try:
        spec = tmp_path / "csweep.yaml"
        spec.write_text(yaml.safe_dump({**SPEC, "storage": str(storage),
                                        "stop": {"iterations": iterations}}))
        proc = marl("sweep", str(spec), "-p", "seed=grid:1,2", "--samples", "1", "--metric",
                    "rollout/episode_len_mean", "--address", cluster.dashboard_url, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        job_id = proc.stdout.splitlines()[0].strip()
        sweep_dir = storage / job_id

        def mid_run() -> bool:
            return bool(list(sweep_dir.glob("tune/experiment_state-*.json"))) and any(
                json.loads(p.read_text())["iteration"] >= 2
                for p in sweep_dir.glob("trials/*/checkpoints/latest"))

        wait_for("a trial checkpoint at iteration >= 2", mid_run, timeout=600, poll=0.5)
        client = JobSubmissionClient(cluster.dashboard_url)
        os.kill(int(client.get_job_info(job_id).driver_info.pid), signal.SIGKILL)
        assert wait_job(cluster, job_id) == "FAILED"
        partial = [r for r in (sweep_dir / "trials").iterdir()
                   if (r / "checkpoints" / "latest").is_file() and not (r / "summary.json").exists()]
        assert partial, "no trial was mid-run when the driver was killed"

        res = marl("sweep", "--resume", str(sweep_dir), "--address", cluster.dashboard_url,
                   "--follow", timeout=900)
        assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-3000:]
        trials = sorted(p for p in (sweep_dir / "trials").iterdir() if p.is_dir())
        assert len(trials) == 2, trials
        for run in trials:
            assert [r["iteration"] for r in read_jsonl(run / "metrics.jsonl")] == \
                list(range(1, iterations + 1))
            assert json.loads((run / "summary.json").read_text())["interrupted"] is False
        assert any(e["event"] == "resumed" for e in read_jsonl(partial[0] / "events.jsonl"))
        with (sweep_dir / "results.csv").open() as fh:
            rows = list(csv.DictReader(fh))
        assert sorted(r["run_id"] for r in rows) == [t.name for t in trials]
        assert all(r["status"] == "done" for r in rows)
    finally:
        shutil.rmtree(storage, ignore_errors=True)
