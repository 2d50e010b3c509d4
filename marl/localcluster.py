"""A real multi-node Ray cluster on this machine, for tests and benchmarks.

Each node is its own ``ray start --block`` process in its own session, with its own
ports and ``--temp-dir`` root, so several clusters (and other people's ``ray.init()``)
can share the machine::

    with LocalCluster() as cluster:
        cluster.start_head(num_cpus=0)                 # driver + dashboard, no actors
        cluster.add_worker("w1", num_cpus=1)
        cluster.add_worker("w2", num_cpus=1)
        ... marl submit SPEC --address cluster.dashboard_url ...
        cluster.kill_node("w1")                        # a node "crashes"

Nothing here runs ``ray stop`` (host-wide). A node stops on SIGTERM to its
``ray start --block`` (Ray drains it and ends its processes); a crash is SIGKILL to
every process in its session (raylet, agents, workers: each worker has its own process
group but stays in the node's session). ``shutdown()`` stops every node it started,
then kills by pid whatever of its own is left (job drivers start their own sessions;
they are found by the cluster's temp dir in their working directory or command line).

Ports: one block of 50 per node from a random base in 20000-31999, outside Ray's
default worker-port range (10002-19999) and the ephemeral range, each checked free.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["LocalCluster", "LocalNode"]

_BLOCK = 50  # ports per node


@dataclass
class LocalNode:
    """One ``ray start --block`` node: its process, ports and log file."""

    name: str
    process: subprocess.Popen
    ports: dict[str, int]
    log: Path
    resources: dict[str, float] = field(default_factory=dict)
    stopped: bool = False
    """Stopped or killed on purpose (not a startup failure)."""

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None


def _port_free(port: int) -> bool:
    for host in ("0.0.0.0", "127.0.0.1"):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((host, port))
            except OSError:
                return False
    return True


def _pick_base(nodes: int, rng: random.Random) -> int:
    for _ in range(200):
        base = rng.randrange(20000, 32000 - _BLOCK * nodes, _BLOCK)
        if all(_port_free(p) for p in range(base, base + _BLOCK * nodes)):
            return base
    raise RuntimeError("no free block of ports in 20000-31999 for a local Ray cluster")


def _session_pids(sid: int) -> list[int]:
    """Live (non-zombie) processes in session ``sid``: one node's raylet, agents, workers."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                if os.getsid(int(entry)) == sid and not _zombie(int(entry)):
                    out.append(int(entry))
            except OSError:
                continue
    return out


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except OSError:
        return True


def _kill_all(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _proc_mentions(pid: int, needle: str) -> bool:
    """Whether a process's cwd or command line lies under ``needle`` (our temp dir)."""
    try:
        if os.readlink(f"/proc/{pid}/cwd").startswith(needle):
            return True
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return needle.encode() in fh.read()
    except OSError:
        return False


class LocalCluster:
    """Start and stop Ray nodes on this machine (see the module docstring).

    Args:
        root: directory for node temp dirs and logs; default: a new ``/tmp/marl-rc-*``.
        max_nodes: nodes this cluster may start (sizes the port block).
        env: extra environment for every node (e.g. ``WANDB_API_KEY``); jobs inherit it.
        seed: port-choice seed (default: random).
    """

    def __init__(self, root: Path | None = None, max_nodes: int = 6,
                 env: dict[str, str] | None = None, seed: int | None = None):
        # Short paths: Ray's unix socket paths must stay under 108 bytes.
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="marl-rc-", dir="/tmp"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_nodes = max_nodes
        self.base_port = _pick_base(max_nodes, random.Random(seed))
        self.nodes: dict[str, LocalNode] = {}
        self._env = dict(env or {})
        self._owns_root = root is None

    # -- addresses ---------------------------------------------------------------------
    @property
    def head(self) -> LocalNode:
        return self.nodes["head"]

    @property
    def gcs_address(self) -> str:
        return f"127.0.0.1:{self.head.ports['gcs']}"

    @property
    def dashboard_url(self) -> str:
        """Ray Jobs / dashboard address, on loopback only."""
        return f"http://127.0.0.1:{self.head.ports['dashboard']}"

    # -- starting ----------------------------------------------------------------------
    def _ports(self, index: int) -> dict[str, int]:
        b = self.base_port + _BLOCK * index
        return {"gcs": b, "dashboard": b + 1, "client": b + 2, "node_manager": b + 3,
                "object_manager": b + 4, "agent_listen": b + 5, "agent_grpc": b + 6,
                "runtime_env": b + 7, "metrics": b + 8, "min_worker": b + 10,
                "max_worker": b + _BLOCK - 1}

    def _node_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_ADDRESS")}
        bindir = str(Path(sys.executable).parent)
        env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
        env.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        # A busy machine (shared CI cores) starts dashboard modules slowly: Ray's 30 s
        # default then kills the head on start.
        env.setdefault("RAY_DASHBOARD_SUBPROCESS_MODULE_WAIT_READY_TIMEOUT", "300")
        env.setdefault("RAY_DASHBOARD_STARTUP_TIMEOUT_S", "300")
        env.setdefault("RAY_agent_register_timeout_ms", "300000")
        env.update(self._env)
        return env

    def _start(self, name: str, args: list[str], ports: dict[str, int], num_cpus: float,
               resources: dict[str, float] | None) -> LocalNode:
        if name in self.nodes:
            raise ValueError(f"node {name!r} already started")
        if len(self.nodes) >= self.max_nodes:
            raise ValueError(f"this LocalCluster was sized for {self.max_nodes} nodes")
        # A unit resource naming the node: maps our names to Ray node ids (``node_ids``).
        resources = {**dict(resources or {}), f"localnode_{name}": 1}
        cmd = [
            str(Path(sys.executable).parent / "ray"), "start", "--block", *args,
            f"--node-manager-port={ports['node_manager']}",
            f"--object-manager-port={ports['object_manager']}",
            f"--dashboard-agent-listen-port={ports['agent_listen']}",
            f"--dashboard-agent-grpc-port={ports['agent_grpc']}",
            f"--runtime-env-agent-port={ports['runtime_env']}",
            f"--metrics-export-port={ports['metrics']}",
            f"--min-worker-port={ports['min_worker']}", f"--max-worker-port={ports['max_worker']}",
            f"--num-cpus={num_cpus:g}", f"--resources={json.dumps(resources)}",
            # Its own temp root per node: nodes on one machine must not share
            # runtime_resources/ (each node's agent unpacks a job's working_dir there,
            # re-extracting it under a running driver's feet).
            f"--temp-dir={self.root / f't-{name}'}", "--disable-usage-stats",
            "--object-store-memory=100000000",
        ]
        log = self.root / f"{name}.log"
        with log.open("ab") as fh:
            proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=self._node_env(), cwd=self.root, start_new_session=True)
        node = LocalNode(name, proc, ports, log, {"CPU": num_cpus, **resources})
        self.nodes[name] = node
        return node

    def start_head(self, num_cpus: float = 0, resources: dict[str, float] | None = None,
                   timeout: float = 300, attempts: int = 4) -> LocalNode:
        """The head: GCS, dashboard on 127.0.0.1 (Ray Jobs), and ``num_cpus`` for actors.

        Returns once the dashboard answers and the head node is alive; retried like
        ``add_worker`` when Ray's fixed startup timeouts pass on a busy machine.
        """
        ports = self._ports(0)
        args = ["--head", f"--port={ports['gcs']}", "--include-dashboard=true",
                "--dashboard-host=127.0.0.1", f"--dashboard-port={ports['dashboard']}",
                f"--ray-client-server-port={ports['client']}"]
        return self._start_retrying("head", args, ports, num_cpus, resources, timeout, attempts,
                                    lambda: self._dashboard_up() and "head" in self.node_ids())

    def _start_retrying(self, name: str, args: list[str], ports: dict[str, int], num_cpus: float,
                        resources: dict[str, float] | None, timeout: float, attempts: int,
                        ready: Any) -> LocalNode:
        for attempt in range(attempts):
            node = self._start(name, args, ports, num_cpus, resources)
            try:
                self._wait(ready, timeout, f"node {name}")
                return node
            except RuntimeError:  # ray start exited: clean up, start again, same ports
                if attempt == attempts - 1:
                    raise
                self.stop_node(name)
                del self.nodes[name]
        raise AssertionError("unreachable")

    def add_worker(self, name: str, num_cpus: float = 1,
                   resources: dict[str, float] | None = None, timeout: float = 300,
                   attempts: int = 6) -> LocalNode:
        """A worker node joining the head (``resources``: custom resources); returns
        once it is alive.

        A raylet gives its dashboard agent ~15 s to start, and ``ray start`` gives the
        raylet 30 s to register (both fixed in Ray 2.58); on an overloaded machine that
        can pass, the node exits and we start it again (up to ``attempts`` times).
        """
        if "head" not in self.nodes:
            raise ValueError("start_head() first")
        index = next((i for i, n in enumerate(self.nodes) if n == name), len(self.nodes))
        args = [f"--address={self.gcs_address}", "--include-log-monitor=false"]
        return self._start_retrying(name, args, self._ports(index), num_cpus, resources, timeout,
                                    attempts, lambda: name in self.node_ids())

    # -- state -------------------------------------------------------------------------
    def _dashboard_up(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.dashboard_url}/api/version", timeout=5) as r:
                return r.status == 200
        except OSError:
            return False

    def alive_nodes(self) -> list[dict[str, Any]]:
        """Alive nodes as the state API reports them (id, resources_total, ...)."""
        from ray.util.state import list_nodes

        nodes = list_nodes(address=self.dashboard_url, detail=True, timeout=20,
                           raise_on_missing_output=False)
        return [n.__dict__ if hasattr(n, "__dict__") else dict(n)  # type: ignore[call-overload]
                for n in nodes if n.state == "ALIVE"]

    def node_ids(self) -> dict[str, str]:
        """Our node name -> Ray node id of the alive nodes (by their ``localnode_<name>``)."""
        out = {}
        for n in self.alive_nodes():
            for name in self.nodes:
                if f"localnode_{name}" in (n.get("resources_total") or {}):
                    out[name] = n["node_id"]
        return out

    def wait_for_nodes(self, count: int, timeout: float = 300) -> None:
        """Wait until ``count`` nodes are alive (raises ``TimeoutError``)."""
        self._wait(lambda: len(self.alive_nodes()) >= count, timeout, f"{count} alive nodes")

    def _wait(self, ready: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = [n.name for n in self.nodes.values() if not n.alive() and not n.stopped]
            if dead:
                raise RuntimeError(f"ray start exited for {dead}; see logs in {self.root}")
            try:
                if ready():
                    return
            except Exception:  # noqa: BLE001 - the dashboard is still coming up
                pass
            time.sleep(1.0)
        raise TimeoutError(f"waited {timeout:.0f}s for {what}; logs in {self.root}")

    # -- stopping ----------------------------------------------------------------------
    def kill_node(self, name: str) -> None:
        """Crash a node: SIGKILL every process in its session (raylet, agents, workers;
        each worker has its own process group, but all stay in the node's session)."""
        node = self.nodes[name]
        node.stopped = True
        _kill_all(_session_pids(node.pid))
        node.process.wait(timeout=30)
        deadline = time.monotonic() + 20
        while _session_pids(node.pid) and time.monotonic() < deadline:
            time.sleep(0.2)

    def stop_node(self, name: str, timeout: float = 60) -> None:
        """Stop a node cleanly (SIGTERM: Ray drains it); SIGKILL its group after ``timeout``."""
        node = self.nodes[name]
        node.stopped = True
        if node.alive():
            node.process.send_signal(signal.SIGTERM)
            try:
                node.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        _kill_all(_session_pids(node.pid))  # anything of the node still running
        if node.alive():
            node.process.wait(timeout=30)
        deadline = time.monotonic() + 20  # SIGKILLed processes take a moment to go
        while _session_pids(node.pid) and time.monotonic() < deadline:
            time.sleep(0.2)

    def leftover_pids(self) -> list[int]:
        """Processes of ours still running: in a node's session, or under our temp dir."""
        sessions = {n.pid for n in self.nodes.values()}
        needle = str(self.root)
        out = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            pid = int(entry)
            try:
                if (os.getsid(pid) in sessions or _proc_mentions(pid, needle)) \
                        and not _zombie(pid):
                    out.append(pid)
            except OSError:
                continue
        return out

    def shutdown(self, remove_files: bool | None = None) -> list[int]:
        """Stop workers, then the head, then SIGKILL our leftovers by pid; returns them."""
        for name in [n for n in self.nodes if n != "head"]:
            self.stop_node(name)
        if "head" in self.nodes:
            self.stop_node("head")
        leftovers = self.leftover_pids()
        _kill_all(leftovers)
        deadline = time.monotonic() + 20
        while self.leftover_pids() and time.monotonic() < deadline:
            time.sleep(0.2)
        if remove_files if remove_files is not None else self._owns_root:
            shutil.rmtree(self.root, ignore_errors=True)
        return leftovers

    def __enter__(self) -> LocalCluster:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()
