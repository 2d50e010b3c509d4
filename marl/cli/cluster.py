"""``marl submit | jobs | logs | stop``: experiments on a Ray cluster through Ray Jobs.

The address is the cluster's dashboard (``--address`` or ``RAY_ADDRESS``); on a
``ray up`` cluster forward it to your machine first: ``ray dashboard cluster.yaml``,
then ``--address http://127.0.0.1:8265``. See ``marl/cluster.py`` for what ``submit``
checks before the cluster runs anything.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["register"]

AddressOpt = Annotated[str | None, typer.Option(
    "--address", "-a", metavar="URL", envvar="RAY_ADDRESS",
    help="The cluster's dashboard, e.g. http://127.0.0.1:8265 (default: $RAY_ADDRESS).")]
JobArg = Annotated[str, typer.Argument(metavar="JOB", help="Job id (printed by marl submit).")]


def submit(
    spec_path: Annotated[Path | None, typer.Argument(metavar="SPEC", help="Experiment YAML.")] = None,
    overrides: Annotated[list[str] | None, typer.Option(
        "--set", "-s", help="Override a spec value: --set storage=s3://bucket/marl (repeatable).")] = None,
    address: AddressOpt = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Stream the job's logs until it "
                                         "ends; exit 0 only if it succeeded.")] = False,
    resume: Annotated[str | None, typer.Option(
        "--resume", metavar="JOB_OR_RUN_DIR", help="Resubmit a run from its latest checkpoint: "
        "a job id of this cluster or the run dir on it.")] = None,
    check_resources: Annotated[bool, typer.Option(
        help="Check the spec's env runners and learners fit the alive nodes (turn off for an "
        "autoscaling cluster that grows on demand).")] = True,
) -> None:
    """Validate SPEC here, then run it on the cluster as a Ray Job; print the job id.

    The job id is the run id: results (checkpoints, league state, metrics, W&B) go to
    <storage>/<job id>, with storage an absolute path on the head node or a cloud URI.
    """
    from marl.cluster import Cluster
    from marl.errors import MarlError

    if (spec_path is None) == (resume is None):
        raise MarlError("give SPEC (a new run) or --resume JOB_OR_RUN_DIR, one of them")
    if resume is not None:
        cluster = Cluster(address)
        sub = cluster.resume(resume)
    else:
        from marl.cluster import storage_for_cluster
        from marl.experiment import load_experiment

        spec = load_experiment(spec_path, overrides).spec  # 1. spec + env, on this machine
        storage_for_cluster(spec.storage)  # 2. results must outlive the job
        cluster = Cluster(address)  # 3. reachable (fails in seconds)
        sub = cluster.submit(spec, check_resources=check_resources)  # 4.+5.
    typer.echo(sub.job_id)
    typer.echo(f"results: {sub.run_dir}", err=True)
    typer.echo(f"follow: marl logs {sub.job_id} --follow --address {cluster.url}", err=True)
    if follow:
        status = cluster.follow(sub.job_id, lambda text: typer.echo(text, nl=False))
        typer.echo(f"job {sub.job_id}: {status}", err=True)
        raise typer.Exit(0 if status == "SUCCEEDED" else 1)


def jobs(
    address: AddressOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the cluster's jobs: id, status, start time, run dir."""
    from rich.table import Table

    from marl.cluster import Cluster
    from marl.tracking.console import console

    rows = Cluster(address).jobs()
    if as_json:
        typer.echo(json.dumps([r.__dict__ for r in rows], indent=2))
        return
    table = Table(title="jobs")
    for col in ("job", "status", "started (UTC)", "run dir", "message"):
        table.add_column(col, no_wrap=col == "job")
    for r in rows:
        table.add_row(r.job_id, r.status, r.start_time, r.run_dir, r.message[:60])
    console.print(table)


def logs(
    job_id: JobArg,
    address: AddressOpt = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Stream until the job ends.")] = False,
) -> None:
    """Print a job's logs (the driver's stdout/stderr: progress, events, results)."""
    from marl.cluster import Cluster

    cluster = Cluster(address)
    if follow:
        status = cluster.follow(job_id, lambda text: typer.echo(text, nl=False))
        typer.echo(f"job {job_id}: {status}", err=True)
        raise typer.Exit(0 if status == "SUCCEEDED" else 1)
    typer.echo(cluster.logs(job_id), nl=False)


def stop(
    job_id: JobArg,
    address: AddressOpt = None,
    wait: Annotated[bool, typer.Option(help="Wait until the job has stopped.")] = True,
) -> None:
    """Stop a job: it finishes the iteration, saves a checkpoint and exits (resumable)."""
    from marl.cluster import Cluster

    cluster = Cluster(address)
    if not cluster.stop(job_id):
        typer.echo(f"job {job_id} already ended: {cluster.status(job_id)}", err=True)
        return
    status = cluster.wait(job_id, timeout=600) if wait else "STOPPING"
    typer.echo(f"job {job_id}: {status}; resume with `marl submit --resume {job_id} "
               f"--address {cluster.url}`", err=True)


def register(app: typer.Typer, user_errors: Any) -> None:
    """Add the cluster commands to the ``marl`` app (errors: one line, exit 2)."""
    app.command("submit")(user_errors(submit))
    app.command("jobs")(user_errors(jobs))
    app.command("logs")(user_errors(logs))
    app.command("stop")(user_errors(stop))
