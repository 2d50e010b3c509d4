"""A private sshd on 127.0.0.1 and an on-prem cluster file derived from ``cluster.yaml``.

Used by ``test_ray_up.py`` to run ``ray up`` for real on this machine (see
``/work/shared/notes/ray-up-local.md`` for the four traps this works around):

- ``PrivateSshd``: key-only sshd with its own config, host key, authorized keys and pid
  file, all in a temp dir; started as a child process and killed by its pid.
- ``derive_onprem(cluster, ...)``: the repo's ``cluster.yaml`` with the cloud parts
  swapped for this machine: ``provider`` (local, head 127.0.0.1, no workers) and
  ``auth`` (the test key, SSH through ``nc`` to the private port: Ray has no ssh port
  setting), the cloud node types dropped (the on-prem provider rejects them), and the
  fixed ports / temp dir of the start commands moved off Ray's defaults so other Ray
  instances on the machine are not touched. Setup commands are kept as they are.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

__all__ = ["PrivateSshd", "derive_onprem", "free_port", "sshd_unavailable"]


def free_port(lo: int = 20000, hi: int = 32000) -> int:
    """A free loopback port outside Ray's worker range and the ephemeral range."""
    import random

    for _ in range(500):
        port = random.randrange(lo, hi)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port")


def sshd_unavailable() -> str | None:
    """Why a private sshd cannot run here (None: it can)."""
    for tool in ("/usr/sbin/sshd", "ssh", "ssh-keygen", "rsync", "nc"):
        if shutil.which(tool) is None and not Path(tool).exists():
            return (f"{tool} not installed (apt-get install openssh-server rsync "
                    f"netcat-openbsd)")
    if os.geteuid() != 0:
        return "a private sshd that logs in as the cluster's ssh_user needs root"
    return None


class PrivateSshd:
    """sshd on 127.0.0.1:``port``, key logins for ``user`` only, files under ``root``."""

    def __init__(self, root: Path, user: str = "root", env: dict[str, str] | None = None):
        self.root = Path(root)
        self.user = user
        self.port = free_port(26100, 32000)  # above the test's Ray worker range
        self.key = self.root / "id_ed25519"
        self.process: subprocess.Popen | None = None
        self._env = dict(env or {})

    def start(self, timeout: float = 30) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        host_key = self.root / "host_ed25519"
        for key in (host_key, self.key):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                           check=True)
        (self.root / "authorized_keys").write_text(Path(f"{self.key}.pub").read_text())
        set_env = " ".join(f"{k}={v}" for k, v in self._env.items())
        config = self.root / "sshd_config"
        config.write_text("\n".join([
            f"Port {self.port}", "ListenAddress 127.0.0.1", f"HostKey {host_key}",
            f"AuthorizedKeysFile {self.root / 'authorized_keys'}",
            "PubkeyAuthentication yes", "PasswordAuthentication no",
            "KbdInteractiveAuthentication no", "PermitRootLogin prohibit-password",
            f"AllowUsers {self.user}", "UsePAM no",
            "StrictModes no",  # the temp dir is world-writable: sshd would refuse the key
            f"PidFile {self.root / 'sshd.pid'}", "Subsystem sftp internal-sftp",
            *([f"SetEnv {set_env}"] if set_env else []), "",
        ]))
        Path("/run/sshd").mkdir(parents=True, exist_ok=True)
        log = (self.root / "sshd.log").open("ab")
        self.process = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(config)],
                                        stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sshd exited: {(self.root / 'sshd.log').read_text()[-500:]}")
            if self.ssh("true", timeout=10).returncode == 0:
                return
            time.sleep(0.5)
        raise TimeoutError("sshd did not accept the key login")

    def ssh(self, command: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["ssh", "-i", str(self.key), "-p", str(self.port), "-o", "BatchMode=yes",
             "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
             "-o", "LogLevel=ERROR", f"{self.user}@127.0.0.1", command],
            capture_output=True, text=True, timeout=timeout, check=False)

    def stop(self) -> None:
        """Kill exactly our sshd (and the session children it forked) by pid."""
        if self.process is None:
            return
        children = _children(self.process.pid)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    return out


def derive_onprem(cluster: dict[str, Any], *, name: str, key: Path, ssh_port: int,
                  ports: dict[str, int], temp_dir: Path) -> dict[str, Any]:
    """The on-prem twin of ``cluster.yaml`` for this machine (see the module docstring)."""
    out = copy.deepcopy(cluster)
    out["cluster_name"] = name
    out["provider"] = {"type": "local", "head_ip": "127.0.0.1", "worker_ips": []}
    out["auth"] = {"ssh_user": "root", "ssh_private_key": str(key),
                   "ssh_proxy_command": f"nc 127.0.0.1 {ssh_port}"}
    for cloud_only in ("available_node_types", "head_node_type"):
        out.pop(cloud_only, None)
    out["max_workers"] = 0

    def move_ports(cmd: str) -> str:
        cmd = cmd.replace("--port=6379", f"--port={ports['gcs']}")
        cmd = cmd.replace("--dashboard-port=8265", f"--dashboard-port={ports['dashboard']}")
        cmd = cmd.replace(":6379", f":{ports['gcs']}")
        extra = (f" --ray-client-server-port={ports['client']}"
                 f" --dashboard-agent-listen-port={ports['agent']}"
                 f" --dashboard-agent-grpc-port={ports['agent_grpc']}"
                 f" --runtime-env-agent-port={ports['runtime_env']}"
                 f" --metrics-export-port={ports['metrics']}"
                 f" --node-manager-port={ports['node_manager']}"
                 f" --object-manager-port={ports['object_manager']}"
                 f" --min-worker-port={ports['min_worker']} --max-worker-port={ports['max_worker']}"
                 f" --temp-dir={temp_dir}")
        # Trap 4: the head keeps its state apart from the launcher's (same host).
        cmd = re.sub(r"(ray start --head[^\n]*)", lambda m: m.group(1) + extra, cmd)
        return cmd.replace("export PATH=", f"export RAY_TMPDIR={temp_dir} PATH=")

    out["head_start_ray_commands"] = [move_ports(c) for c in cluster["head_start_ray_commands"]]
    out["worker_start_ray_commands"] = []
    return out
