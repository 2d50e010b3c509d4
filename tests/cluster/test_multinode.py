"""A real multi-node Ray cluster on this machine, driven through ``marl submit``.

One cluster for the module: a head (0 CPUs: drivers and the dashboard only) and three
1-CPU worker nodes, each its own ``ray start --block`` with its own ports and temp dir
(``marl.localcluster``). The smoke spec asks for 2 env runners x 1 CPU, so they run on
two different worker nodes, with one node spare for restarts. The head's environment
holds a planted fake ``WANDB_API_KEY``; no file the cluster or a run writes may hold it.

Marked ``cluster``: run with ``pytest -m cluster`` (``.ci/run`` does, after the main
lane). Every process the module starts is stopped by pid at the end, and checked gone.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from marl.localcluster import LocalCluster

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(1800)]

ROOT = Path(__file__).resolve().parents[2]
SPEC = str(ROOT / "tests" / "cluster" / "smoke.yaml")
MARL = str(Path(sys.executable).with_name("marl")) if Path(sys.executable).with_name(
    "marl").exists() else (shutil.which("marl") or "marl")
PLANTED = "planted-fake-wandb-key-" + "7f3a" * 8  # looks like a key; must never be written


def marl(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "WANDB_API_KEY")}
    return subprocess.run([MARL, *args], capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=ROOT)


def wait_for(what: str, ready: Any, timeout: float = 600, poll: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = ready()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out waiting for {what}")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    root = Path(tempfile.mkdtemp(prefix="marl-rc-", dir="/tmp"))
    local = LocalCluster(root=root, env={"WANDB_API_KEY": PLANTED,
                                         "MARL_STAGING_DIR": str(root / "staging")})
    try:
        local.start_head(num_cpus=0)
        for name in ("w1", "w2", "w3"):
            local.add_worker(name, num_cpus=1)
        yield local
    finally:
        local.shutdown(remove_files=False)
        left = local.leftover_pids()
        shutil.rmtree(root, ignore_errors=True)
        assert left == [], f"processes of the test cluster still running: {left}"


@pytest.fixture(scope="module")
def storage() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="marl-runs-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def submit(cluster: LocalCluster, *args: str) -> str:
    proc = marl("submit", *args, "--address", cluster.dashboard_url, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[0]


def job_status(cluster: LocalCluster, job_id: str) -> str:
    proc = marl("jobs", "--address", cluster.dashboard_url, "--json", timeout=120)
    assert proc.returncode == 0, proc.stderr
    return next(j["status"] for j in json.loads(proc.stdout) if j["job_id"] == job_id)


def wait_job(cluster: LocalCluster, job_id: str, timeout: float = 900) -> str:
    return wait_for(f"job {job_id} to end", lambda: (
        s if (s := job_status(cluster, job_id)) in ("SUCCEEDED", "FAILED", "STOPPED") else None),
        timeout=timeout, poll=5)


def test_submit_runs_env_runners_on_worker_nodes(cluster: LocalCluster, storage: Path) -> None:
    proc = marl("submit", SPEC, "--address", cluster.dashboard_url, "--follow",
                "--set", f"storage={storage}")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    job_id = proc.stdout.splitlines()[0].strip()
    run = storage / job_id  # the job id is the run id

    # Artifacts: resolved spec, metrics per iteration, checkpoints, summary, trackers.
    assert {"spec.yaml", "meta.json", "metrics.jsonl", "summary.json", "events.jsonl",
            "checkpoints", "tb", "wandb"} <= {p.name for p in run.iterdir()}
    assert [r["iteration"] for r in read_jsonl(run / "metrics.jsonl")] == [1, 2, 3, 4, 5, 6]
    latest = json.loads((run / "checkpoints" / "latest").read_text())
    assert latest["iteration"] == 6 and (run / "checkpoints" / latest["name"]).is_dir()
    assert list((run / "wandb").glob("offline-run-*/run-*.wandb"))
    summary = json.loads((run / "summary.json").read_text())
    assert summary["iteration"] == 6 and summary["evaluation"]

    # Placement: both env runners on worker nodes, on two different ones; none on the head.
    ids = cluster.node_ids()
    workers = {ids[n] for n in ("w1", "w2", "w3")}
    events = read_jsonl(run / "events.jsonl")
    placed = next(e for e in events if e["event"] == "placement")["env_runners"]
    assert [r["index"] for r in placed] == [1, 2]
    assert {r["node_id"] for r in placed} <= workers and ids["head"] not in {
        r["node_id"] for r in placed}
    assert len({r["node_id"] for r in placed}) == 2
    # The driver ran on the head and saw the cluster's W&B key (presence only).
    started = next(e for e in events if e["event"] == "run_started")
    assert started["wandb_api_key_present"] is True and started["wandb_mode"] == "offline"

    # marl jobs / marl logs see it.
    assert job_status(cluster, job_id) == "SUCCEEDED"
    logs = marl("logs", job_id, "--address", cluster.dashboard_url, timeout=120)
    assert logs.returncode == 0 and '"event": "placement"' in logs.stdout
    followed = marl("logs", job_id, "--follow", "--address", cluster.dashboard_url, timeout=120)
    assert followed.returncode == 0 and '"event": "placement"' in followed.stdout
    assert f"job {job_id}: SUCCEEDED" in followed.stderr


def test_spec_that_does_not_fit_the_cluster_exits_2(cluster: LocalCluster, storage: Path) -> None:
    too_many = marl("submit", SPEC, "--address", cluster.dashboard_url, "--set",
                    f"storage={storage}", "--set", "resources.num_env_runners=4", timeout=120)
    assert too_many.returncode == 2
    line = too_many.stderr.strip().splitlines()[-1]
    assert line.startswith("error: resources: the spec needs 4 CPU") and "has 3" in line
    gpu = marl("submit", SPEC, "--address", cluster.dashboard_url, "--set", f"storage={storage}",
               "--set", "resources.num_learners=1", "--set", "resources.num_gpus_per_learner=1",
               timeout=120)
    assert gpu.returncode == 2 and "needs 1 GPU" in gpu.stderr and "gpu_learner" in gpu.stderr


def test_worker_node_dies_mid_run_and_training_goes_on(cluster: LocalCluster,
                                                        storage: Path) -> None:
    job_id = submit(cluster, SPEC, "--set", f"storage={storage}", "--set", "stop.iterations=30",
                    "--set", "evaluation.at_end=false")
    run = storage / job_id
    wait_for("iteration 3", lambda: len(read_jsonl(run / "metrics.jsonl")) >= 3)
    placed = next(e for e in read_jsonl(run / "events.jsonl") if e["event"] == "placement")
    victim_id = next(r["node_id"] for r in placed["env_runners"] if r["index"] == 1)
    victim = next(name for name, nid in cluster.node_ids().items() if nid == victim_id)
    cluster.kill_node(victim)  # raylet, agents and the env runner: SIGKILL, no drain

    assert wait_job(cluster, job_id) == "SUCCEEDED"
    assert [r["iteration"] for r in read_jsonl(run / "metrics.jsonl")] == list(range(1, 31))
    events = read_jsonl(run / "events.jsonl")
    kinds = [e["event"] for e in events]
    assert "env_runners_lost" in kinds, kinds
    restarted = [e for e in events if e["event"] == "env_runners_restarted"]
    assert restarted, kinds
    assert restarted[0]["indices"] == [1]
    # The restarted runner lives on a surviving worker node.
    alive = set(cluster.node_ids().values())
    assert {r["node_id"] for r in restarted[0]["env_runners"]} <= alive - {victim_id}


def test_driver_killed_then_resume_continues_from_the_checkpoint(cluster: LocalCluster,
                                                                  storage: Path) -> None:
    """Cloud-style storage (a ``file://`` URI): the driver trains in a staging dir and
    uploads at each checkpoint; after SIGKILL, ``marl submit --resume JOB`` downloads
    the run and continues from its last checkpoint, every iteration logged once."""
    uri = f"file://{storage}/bucket"
    job_id = submit(cluster, SPEC, "--set", f"storage={uri}", "--set", "stop.iterations=10",
                    "--set", "evaluation.at_end=false")
    remote = storage / "bucket" / job_id

    def checkpointed() -> bool:
        latest = remote / "checkpoints" / "latest"
        return latest.is_file() and json.loads(latest.read_text())["iteration"] >= 4

    wait_for("a checkpoint at iteration >= 4 in storage", checkpointed)
    from ray.job_submission import JobSubmissionClient

    driver = JobSubmissionClient(cluster.dashboard_url).get_job_info(job_id).driver_info
    os.kill(int(driver.pid), signal.SIGKILL)  # the driver dies: no checkpoint, no goodbye
    assert wait_job(cluster, job_id) == "FAILED"
    before = json.loads((remote / "checkpoints" / "latest").read_text())["iteration"]

    proc = marl("submit", "--resume", job_id, "--address", cluster.dashboard_url, "--follow")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    iterations = [r["iteration"] for r in read_jsonl(remote / "metrics.jsonl")]
    assert iterations == list(range(1, 11))  # nothing lost, nothing twice
    assert json.loads((remote / "checkpoints" / "latest").read_text())["iteration"] == 10
    resumed = [e for e in read_jsonl(remote / "events.jsonl") if e["event"] == "resumed"]
    assert [e["iteration"] for e in resumed] == [before]


def test_marl_stop_checkpoints_before_the_job_ends(cluster: LocalCluster, storage: Path) -> None:
    job_id = submit(cluster, SPEC, "--set", f"storage={storage}", "--set", "stop.iterations=200",
                    "--set", "checkpoint.every=50", "--set", "evaluation.at_end=false")
    run = storage / job_id
    wait_for("iteration 2", lambda: len(read_jsonl(run / "metrics.jsonl")) >= 2)
    stop = marl("stop", job_id, "--address", cluster.dashboard_url, timeout=600)
    assert stop.returncode == 0, stop.stderr
    assert job_status(cluster, job_id) == "STOPPED"
    last = read_jsonl(run / "metrics.jsonl")[-1]["iteration"]
    assert 2 <= last < 200
    # SIGTERM: the iteration finished and a checkpoint was saved at it (not at 50).
    assert json.loads((run / "checkpoints" / "latest").read_text())["iteration"] == last


def test_no_planted_secret_in_any_file(cluster: LocalCluster, storage: Path) -> None:
    """Runs, checkpoints, W&B files, job logs and every node's Ray logs: no key."""
    hits = []
    for base in (storage, cluster.root):
        for path in base.rglob("*"):
            if path.is_file() and not path.is_symlink():
                try:
                    if PLANTED.encode() in path.read_bytes():
                        hits.append(str(path))
                except OSError:
                    continue
    assert hits == []
