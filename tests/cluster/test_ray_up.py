"""``ray up`` for real: the README's cluster sequence against this machine over SSH.

A private, key-only sshd on 127.0.0.1 plays the cloud node; the cluster file is the
repo's ``cluster.yaml`` with only the cloud parts swapped (``tests/cluster/onprem.py``),
so its setup commands (venv, pinned install of this checkout) and start commands are
what runs. Then, as in the README: ``ray up`` -> ``ray dashboard`` (SSH tunnel to the
loopback-only dashboard) -> ``marl submit --follow`` -> artifacts at the spec's storage
-> ``marl jobs`` -> ``marl logs`` -> ``ray rsync-down`` (every file of the run) ->
``ray exec ... ray stop`` -> ``ray down``; and nothing of ours is
left: no Ray process of this cluster, no sshd, no bootstrap key or config, no tunnel.

``ray stop`` (in the start commands, and in ``ray down``) is host-wide: it kills every
Ray on the machine. So this test only runs when ``MARL_ALLOW_RAY_STOP=1`` says it runs
alone, in its own pytest call (see the README's Tests paragraph). It skips with the
reason when sshd cannot run here (packages: openssh-server rsync netcat-openbsd).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from onprem import PrivateSshd, derive_onprem, free_port, sshd_unavailable  # tests/cluster/

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(3600)]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PLANTED = "planted-fake-wandb-key-" + "c0de" * 8
HOME = Path.home()


def run(cmd: list[str], timeout: float, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "WANDB_API_KEY")}
    env.update(RAY_USAGE_STATS_ENABLED="0", PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env,
                          check=False)


def our_ray_pids(marker: str) -> list[int]:
    """Live processes whose command line holds our cluster's temp dir."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if marker.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    out.append(int(entry))
            except OSError:
                continue
    return out


@pytest.fixture()
def sandbox() -> Iterator[Path]:
    if os.environ.get("MARL_ALLOW_RAY_STOP") != "1":
        pytest.skip("runs `ray stop`/`ray down` (host-wide: kills every Ray on this machine); "
                    "set MARL_ALLOW_RAY_STOP=1 and run this file alone (README, Tests)")
    reason = sshd_unavailable()
    if reason:
        pytest.skip(f"no private sshd here: {reason}")
    clobber = [p for p in (HOME / "marl", HOME / "marl-venv", HOME / "ray_bootstrap_key.pem",
                           HOME / "ray_bootstrap_config.yaml") if p.exists()]
    if clobber:
        pytest.skip(f"would overwrite {', '.join(map(str, clobber))} (the cluster's ~)")
    root = Path(tempfile.mkdtemp(prefix="marl-up-", dir="/tmp"))
    try:
        yield root
    finally:
        for path in (HOME / "marl", HOME / "marl-venv"):
            shutil.rmtree(path, ignore_errors=True)
        for path in (HOME / "ray_bootstrap_key.pem", HOME / "ray_bootstrap_config.yaml"):
            path.unlink(missing_ok=True)
        shutil.rmtree(root, ignore_errors=True)


def test_ray_up_submit_fetch_down(sandbox: Path) -> None:
    sshd = PrivateSshd(sandbox / "ssh", env={"WANDB_API_KEY": PLANTED})
    try:
        sshd.start()
    except (RuntimeError, TimeoutError, OSError) as err:
        pytest.skip(f"sshd cannot run here: {err}")
    tunnel = None
    temp_dir = sandbox / "headtmp"
    try:
        # Named ports above the worker range (25000-26060): Ray refuses a component port
        # inside it ("worker_ports is trying to use a port number ... used by other
        # components"), which random draws from one range sometimes gave.
        ports = {name: free_port(26100, 32000) for name in (
            "gcs", "dashboard", "client", "agent", "agent_grpc", "runtime_env", "metrics",
            "node_manager", "object_manager", "local_dashboard")}
        ports["min_worker"] = free_port(25000, 26000)
        ports["max_worker"] = ports["min_worker"] + 60
        cluster = yaml.safe_load((ROOT / "cluster.yaml").read_text())
        onprem = derive_onprem(cluster, name=f"marl-ci-{secrets.token_hex(3)}", key=sshd.key,
                               ssh_port=sshd.port, ports=ports, temp_dir=temp_dir)
        config = sandbox / "cluster.onprem.yaml"
        config.write_text(yaml.safe_dump(onprem, sort_keys=False))
        # Only the cloud parts differ from the repo's file.
        assert {k for k in cluster if cluster[k] != onprem.get(k)} <= {
            "cluster_name", "provider", "auth", "available_node_types", "head_node_type",
            "max_workers", "head_start_ray_commands", "worker_start_ray_commands"}
        assert onprem["setup_commands"] == cluster["setup_commands"]

        up = run([str(BIN / "ray"), "up", "-y", "--no-config-cache", str(config)], timeout=2400)
        assert up.returncode == 0, up.stdout[-4000:] + up.stderr[-4000:]

        # The dashboard listens on the head's loopback only; reach it through the tunnel.
        tunnel = subprocess.Popen(
            [str(BIN / "ray"), "dashboard", "-p", str(ports["local_dashboard"]),
             "--remote-port", str(ports["dashboard"]), str(config)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
            env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"},
            start_new_session=True)  # its own group: the ssh it forks goes with it
        address = f"http://127.0.0.1:{ports['local_dashboard']}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{address}/api/version", timeout=5):
                    break
            except OSError:
                time.sleep(1)

        storage = sandbox / "runs"
        submit = run([str(BIN / "marl"), "submit", str(ROOT / "tests/cluster/smoke.yaml"),
                      "--address", address, "--follow", "--set", f"storage={storage}",
                      "--set", "resources.num_env_runners=0", "--set", "stop.iterations=2",
                      "--set", "checkpoint.every=1"], timeout=1200)
        assert submit.returncode == 0, submit.stdout[-4000:] + submit.stderr[-4000:]
        job_id = submit.stdout.splitlines()[0].strip()
        run_dir = storage / job_id
        assert [json.loads(x)["iteration"] for x in
                (run_dir / "metrics.jsonl").read_text().splitlines()] == [1, 2]
        assert json.loads((run_dir / "checkpoints" / "latest").read_text())["iteration"] == 2
        assert (run_dir / "summary.json").is_file() and list((run_dir / "wandb").glob("offline-run-*"))
        started = [json.loads(x) for x in (run_dir / "events.jsonl").read_text().splitlines()
                   if '"run_started"' in x][0]
        assert started["wandb_api_key_present"] is True  # from the login env, like Secrets Manager

        jobs = run([str(BIN / "marl"), "jobs", "--address", address, "--json"], timeout=120)
        assert any(j["job_id"] == job_id and j["status"] == "SUCCEEDED"
                   for j in json.loads(jobs.stdout))
        logs = run([str(BIN / "marl"), "logs", job_id, "--address", address], timeout=120)

        # Fetch as the README does; cluster.yaml's rsync_exclude applies here too.
        fetched = sandbox / "fetched"
        fetched.mkdir()
        fetch = run([str(BIN / "ray"), "rsync-down", str(config), str(run_dir), f"{fetched}/"],
                    timeout=300)
        assert fetch.returncode == 0, fetch.stdout[-2000:] + fetch.stderr[-2000:]
        local = fetched / job_id
        assert sorted(p.relative_to(run_dir) for p in run_dir.rglob("*")) == sorted(
            p.relative_to(local) for p in local.rglob("*"))
        assert list((local / "wandb").glob("offline-run-*/*.wandb"))

        # The planted key reached the job but no file or log: run dir, job logs, Ray's logs.
        texts = [logs.stdout]
        for base in (run_dir, temp_dir):
            texts += [p.read_bytes().decode("utf-8", "replace") for p in base.rglob("*")
                      if p.is_file() and not p.is_symlink()]
        assert not any(PLANTED in t for t in texts)

        stop = run([str(BIN / "ray"), "exec", str(config), "~/marl-venv/bin/ray stop"], timeout=300)
        assert stop.returncode == 0, stop.stderr[-2000:]
        down = run([str(BIN / "ray"), "down", "-y", str(config)], timeout=300)
        assert down.returncode == 0, down.stderr[-2000:]
    finally:
        if tunnel is not None:
            try:
                os.killpg(tunnel.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            tunnel.wait(timeout=30)
        sshd.stop()
    # Ray's ssh clients keep a master connection for 10 s after their last use
    # (ControlPersist); give them that, then nothing of ours may be left.
    deadline = time.monotonic() + 60
    while (our_ray_pids(str(temp_dir)) or our_ray_pids(str(sshd.root))) and (
            time.monotonic() < deadline):
        time.sleep(1)
    assert our_ray_pids(str(temp_dir)) == [], "Ray processes of the test cluster left"
    assert not sshd.alive()
    left = {pid: Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")[:200]
            for pid in our_ray_pids(str(sshd.root))}
    assert left == {}, f"processes with the test's ssh key left: {left}"
    # `ray up` leaves a copy of the private key and the config in ~: ours, removed.
    for leftover in (HOME / "ray_bootstrap_key.pem", HOME / "ray_bootstrap_config.yaml"):
        leftover.unlink(missing_ok=True)
        assert not leftover.exists()
