"""Ray Jobs: submit a spec to a cluster, list jobs, read logs, stop; the cluster's resources.

``marl submit SPEC --address URL`` does, in order, before the cluster runs anything:

1. load and validate the spec (+ ``--set``) and its policies, here on the laptop;
2. check that the run dir can outlive the job: ``storage`` must be an absolute path on
   the head node or a cloud URI (``s3://``, ``gs://``, ...);
3. reach the dashboard (fails fast: a plain TCP connect with a timeout);
4. check the spec's env runners / learners fit the cluster's alive nodes
   (``marl.resources``; ``--no-check-resources`` for an autoscaling cluster that will
   grow on demand);
5. stage the project (``marl/``, ``envs/``, ``pyproject.toml``), the local module of a
   spec's own env (``env.entry_point``: a file or package of the working directory) and
   the resolved spec in a temp dir, and submit it as the job's ``working_dir``; the entrypoint is
   ``python -m marl.cli.main train .marl_job/spec.yaml --run-id <job id>``.

The job id is the run id, so the run's results are at ``<storage>/<job id>``. Resuming
(``--resume JOB_OR_RUN_DIR``) submits ``train --resume`` of that run dir as a new job.

Secrets never travel with a job: no ``env_vars`` carry them (Ray shows a job's
runtime env to anyone who can reach the dashboard). ``WANDB_API_KEY`` must be in the
environment of the cluster's ``ray start`` (see ``cluster.yaml``); jobs inherit it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from marl.errors import ClusterError, SpecError
from marl.resources import Node, check_fits

__all__ = ["Cluster", "JobRow", "Submission", "env_sources", "normalize_address", "stage_project",
           "JOB_SPEC_PATH", "TERMINAL"]

JOB_SPEC_PATH = ".marl_job/spec.yaml"
TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED")
_PROJECT_ITEMS = ("marl", "envs", "pyproject.toml", "README.md")
_STOP_WAIT_S = 300  # SIGTERM -> our loop saves a checkpoint before Ray's SIGKILL
_CONNECT_TIMEOUT_S = 5.0


def normalize_address(address: str | None) -> str:
    """The dashboard URL from ``--address`` or ``RAY_ADDRESS``.

    Raises:
        ClusterError: no address, or one that is not the dashboard's http(s) URL.
    """
    address = address or os.environ.get("RAY_ADDRESS")
    if not address:
        raise ClusterError("no cluster address: pass --address http://127.0.0.1:8265 (the "
                           "dashboard, forwarded by `ray dashboard cluster.yaml`) or set RAY_ADDRESS")
    if address.startswith("ray://") or address == "auto":
        raise ClusterError(f"--address {address!r}: give the dashboard's URL (Ray Jobs), e.g. "
                           f"http://127.0.0.1:8265, not a ray:// or GCS address")
    if "://" not in address:
        address = f"http://{address}"
    parsed = urlparse(address)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ClusterError(f"--address {address!r}: expected http://HOST:PORT of the dashboard")
    return address.rstrip("/")


def check_reachable(url: str, timeout: float = _CONNECT_TIMEOUT_S) -> None:
    """A TCP connect to the dashboard, so a wrong address fails in seconds, not minutes."""
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname, port), timeout=timeout):
            return
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise ClusterError(
            f"cannot reach the Ray dashboard at {url} ({reason}); is the cluster up "
            f"(`ray up cluster.yaml`) and the dashboard forwarded (`ray dashboard "
            f"cluster.yaml`, then --address http://127.0.0.1:8265)?") from None


def _project_root() -> Path:
    return Path(__file__).resolve().parent.parent  # this file is <root>/marl/cluster.py


def env_sources(spec: Any) -> list[Path]:
    """The local code of a spec's own env (``env.entry_point``) that a job must carry: its
    top-level module file or package dir, unless it is an installed package (then every
    node needs it installed, as any dependency).

    Raises:
        SpecError: the entry point's module cannot be found from here.
    """
    import importlib.util
    import sys

    entry_point = getattr(spec.env, "entry_point", None)
    if not entry_point:
        return []
    top = entry_point.split(":")[0].split(".")[0]
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `marl train` does
    found = importlib.util.find_spec(top)
    if found is None or not found.origin:
        raise SpecError(f"env.entry_point: module {top!r} not found; run marl submit from the "
                        f"directory that holds it, or pip install its package")
    origin = Path(found.origin)
    if "site-packages" in origin.parts or "dist-packages" in origin.parts:
        return []
    return [origin.parent if origin.name == "__init__.py" else origin]


def stage_project(spec_yaml: str, dest: Path | None = None,
                  extra: list[Path] | tuple[Path, ...] = ()) -> Path:
    """Copy the project, ``extra`` files or packages (a user's env) and the resolved spec
    into a fresh dir for the job's working_dir (which is on the job's ``sys.path``)."""
    root = _project_root()
    dest = Path(dest or tempfile.mkdtemp(prefix="marl-job-"))
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for item in _PROJECT_ITEMS:
        src = root / item
        if src.is_dir():
            shutil.copytree(src, dest / item, ignore=ignore)
        elif src.is_file():
            shutil.copy2(src, dest / item)
    for src in extra:
        if (dest / src.name).exists():
            raise SpecError(f"env.entry_point: your module {src.name} has the name of a marl "
                            f"package; rename it")
        if src.is_dir():
            shutil.copytree(src, dest / src.name, ignore=ignore)
        else:
            shutil.copy2(src, dest / src.name)
    if spec_yaml:
        spec_path = dest / JOB_SPEC_PATH
        spec_path.parent.mkdir(parents=True, exist_ok=True)
        spec_path.write_text(spec_yaml)
    return dest


def storage_for_cluster(storage: str) -> str:
    """``storage`` if a job on a remote head can write there and you can fetch it.

    Raises:
        SpecError: a relative path (it would land in the job's temporary working dir).
    """
    if "://" in storage or storage.startswith("/"):
        return storage.rstrip("/")
    raise SpecError(
        f"storage: {storage!r} is relative; a cluster job needs an absolute path on the head "
        f"node (fetch it with `ray rsync-down cluster.yaml`) or a cloud URI, e.g. "
        f"--set storage=/home/ubuntu/marl-runs or --set storage=s3://my-bucket/marl")


def new_run_id(name: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"{name}-{stamp}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class Submission:
    """A submitted job: its id and where its run dir will be."""

    job_id: str
    run_dir: str


@dataclass(frozen=True)
class JobRow:
    job_id: str
    status: str
    run_dir: str
    start_time: str
    message: str


class Cluster:
    """A Ray cluster reached through its dashboard (Ray Jobs API).

    Args:
        address: dashboard URL (``http://127.0.0.1:8265``) or ``None`` for ``RAY_ADDRESS``.

    Raises:
        ClusterError: the address is missing, malformed or unreachable.
    """

    def __init__(self, address: str | None = None):
        self.url = normalize_address(address)
        check_reachable(self.url)
        from ray.job_submission import JobSubmissionClient

        try:
            self._client = JobSubmissionClient(self.url)
        except (ConnectionError, RuntimeError) as err:
            raise ClusterError(f"the dashboard at {self.url} does not answer as Ray Jobs: "
                               f"{str(err).splitlines()[0]}") from None

    # -- resources ---------------------------------------------------------------------
    def nodes(self) -> list[Node]:
        """Alive nodes with their total resources."""
        from ray.util.state import list_nodes

        alive = [n for n in list_nodes(address=self.url, detail=True, timeout=30,
                                       raise_on_missing_output=False) if n.state == "ALIVE"]
        return [Node(("head " if n.is_head_node else "") + (n.node_name or n.node_id[:8])
                     + f" {n.node_id[:6]}", dict(n.resources_total or {})) for n in alive]

    def check_resources(self, spec: Any) -> None:
        """Raise ``ClusterError`` unless the spec's actors fit the alive nodes."""
        check_fits(spec.resources, self.nodes())

    # -- jobs --------------------------------------------------------------------------
    def _submit(self, entrypoint: str, job_id: str, working_dir: Path, run_dir: str,
                metadata: dict[str, str], check_resources: bool = True) -> Submission:
        # Not secrets (Ray shows these to anyone reaching the dashboard): how long
        # `marl stop` lets the run save a checkpoint, and whether the driver re-checks
        # resources (off for an autoscaling cluster).
        env_vars = {"RAY_JOB_STOP_WAIT_TIME_S": str(_STOP_WAIT_S), "RAY_JOB_STOP_SIGNAL": "SIGTERM",
                    "MARL_CHECK_RESOURCES": "1" if check_resources else "0"}
        runtime_env = {"working_dir": str(working_dir), "env_vars": env_vars}
        try:
            self._client.submit_job(entrypoint=entrypoint, submission_id=job_id,
                                    runtime_env=runtime_env,
                                    metadata={"marl_run_dir": run_dir, **metadata})
        except RuntimeError as err:
            raise ClusterError(f"the cluster refused the job: {str(err).splitlines()[0]}") from None
        return Submission(job_id, run_dir)

    def submit(self, spec: Any, check_resources: bool = True) -> Submission:
        """Submit a validated spec as a new run; returns the job (= run) id."""
        import yaml

        storage = storage_for_cluster(spec.storage)
        if check_resources:
            self.check_resources(spec)
        job_id = new_run_id(spec.name)
        with _staged(yaml.safe_dump(spec.to_dict(), sort_keys=False),
                     env_sources(spec)) as workdir:
            return self._submit(
                f"python -m marl.cli.main train {JOB_SPEC_PATH} --run-id {job_id}", job_id,
                workdir, f"{storage}/{job_id}", {"marl_spec": spec.name, "marl_kind": "train"},
                check_resources=check_resources)

    def resume(self, target: str) -> Submission:
        """Resubmit a run: ``target`` is a job id of this cluster or a run dir on it."""
        run_dir = target
        job = self._job_info(target)
        if job is not None:
            run_dir = (job.metadata or {}).get("marl_run_dir", "")
            if not run_dir:
                raise ClusterError(f"job {target} was not submitted by `marl submit`; pass its "
                                   f"run dir instead")
        elif "://" not in target and not target.startswith("/"):
            raise ClusterError(f"{target!r} is neither a job on this cluster nor an absolute run "
                               f"dir; see `marl jobs`")
        base = run_dir.rstrip("/").rsplit("/", 1)[-1]
        job_id = f"{base}-resume-{secrets.token_hex(2)}"
        with _staged("") as workdir:
            return self._submit(f"python -m marl.cli.main train --resume {run_dir}", job_id,
                                workdir, run_dir, {"marl_kind": "resume", "marl_resumes": target})

    def submit_command(self, args: list[str], job_id: str, run_dir: str, kind: str,
                       spec_yaml: str = "", extra: list[Path] | None = None,
                       check_resources: bool = True) -> Submission:
        """Submit ``marl <args>`` as a job with the project (and ``spec_yaml`` at
        ``JOB_SPEC_PATH``) as its working dir; ``marl sweep --address`` uses it."""
        import shlex

        with _staged(spec_yaml, extra) as workdir:
            return self._submit(f"python -m marl.cli.main {shlex.join(args)}", job_id, workdir,
                                run_dir, {"marl_kind": kind}, check_resources=check_resources)

    def _job_info(self, job_id: str) -> Any:
        try:
            return self._client.get_job_info(job_id)
        except RuntimeError:
            return None

    def status(self, job_id: str) -> str:
        info = self._job_info(job_id)
        if info is None:
            raise ClusterError(f"no job {job_id!r} on {self.url}; see `marl jobs`")
        return str(info.status.value if hasattr(info.status, "value") else info.status)

    def info(self, job_id: str) -> Any:
        info = self._job_info(job_id)
        if info is None:
            raise ClusterError(f"no job {job_id!r} on {self.url}; see `marl jobs`")
        return info

    def jobs(self) -> list[JobRow]:
        """All jobs, oldest first."""
        rows = []
        for job in self._client.list_jobs():
            start = (datetime.fromtimestamp(job.start_time / 1000, timezone.utc)
                     .strftime("%Y-%m-%d %H:%M:%S") if job.start_time else "")
            status = job.status.value if hasattr(job.status, "value") else str(job.status)
            rows.append(JobRow(job.submission_id or job.job_id or "", status,
                               (job.metadata or {}).get("marl_run_dir", ""), start,
                               (job.message or "").splitlines()[0] if job.message else ""))
        return sorted(rows, key=lambda r: r.start_time)

    def logs(self, job_id: str) -> str:
        self.info(job_id)
        return self._client.get_job_logs(job_id)

    def follow(self, job_id: str, write: Callable[[str], Any]) -> str:
        """Stream a job's logs until it ends; returns its final status."""
        self.info(job_id)

        async def tail() -> None:
            async for chunk in self._client.tail_job_logs(job_id):
                write(chunk)

        asyncio.run(tail())
        return self.wait(job_id, timeout=120)

    def wait(self, job_id: str, timeout: float = 3600, poll: float = 2.0) -> str:
        """Poll until the job is SUCCEEDED, FAILED or STOPPED; returns that status."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            status = self.status(job_id)
            if status in TERMINAL or time.monotonic() > deadline:
                return status
            time.sleep(poll)

    def stop(self, job_id: str) -> bool:
        """Ask a job to stop (SIGTERM: it saves a checkpoint, then exits)."""
        self.info(job_id)
        return bool(self._client.stop_job(job_id))


@contextmanager
def _staged(spec_yaml: str, extra: list[Path] | None = None) -> Iterator[Path]:
    workdir = stage_project(spec_yaml, extra=extra or [])
    try:
        yield workdir
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
