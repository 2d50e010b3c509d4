"""``marl sweep``: a hyperparameter sweep on Ray Tune, each trial a normal marl run
(``marl/sweep.py``), locally on an embedded Ray or as a Ray Job on a cluster."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from marl.cli.common import SetOpt, defaults_for_headless

__all__ = ["register"]


def sweep(
    spec_path: Annotated[Path | None, typer.Argument(metavar="SPEC", help="Experiment YAML.")] = None,
    params: Annotated[list[str] | None, typer.Option(
        "--param", "-p", metavar="PATH=FORM", help="A swept spec key (repeatable): "
        "loguniform:LOW:HIGH, uniform:LOW:HIGH, randint:LOW:HIGH (both included), "
        "choice:A,B,C or grid:A,B,C (every value, in every sample).")] = None,
    samples: Annotated[int, typer.Option(
        "--samples", "-n", min=1, help="Trials to draw (with grid params: times the grid).")] = 8,
    metric: Annotated[str | None, typer.Option(
        "--metric", "-m", metavar="KEY", help="A metrics.jsonl key the trials are ranked by "
        "(its last value), e.g. rollout/episode_return_mean, eval/win_rate_vs_random, "
        "league/main_0/elo, league/main_vs_hardest.")] = None,
    mode: Annotated[str, typer.Option(help="max or min the metric.")] = "max",
    scheduler: Annotated[str, typer.Option(
        help="fifo (every trial to its stop) or asha (stop poor trials early, by iteration).")]
        = "fifo",
    max_concurrent: Annotated[int, typer.Option(
        "--max-concurrent", min=0, help="At most this many trials at once (0: as Ray's CPUs "
        "allow; each trial takes 1 CPU plus its env runners and learners).")] = 0,
    overrides: SetOpt = None,
    name: Annotated[str | None, typer.Option(
        "--name", help="The sweep dir's name under storage (default: <spec name>-sweep-"
        "<time>-<id>).")] = None,
    resume: Annotated[Path | None, typer.Option(
        "--resume", metavar="SWEEP_DIR", help="Finish an interrupted sweep: finished trials "
        "stay, the others continue from their run dirs' last checkpoints.")] = None,
    address: Annotated[str | None, typer.Option(
        "--address", "-a", metavar="URL", help="Run the sweep as a Ray Job on the cluster "
        "behind this dashboard (e.g. http://127.0.0.1:8265), as `marl submit` does; storage "
        "must be an absolute path on the head, the sweep dir is <storage>/<job id> there and "
        "the job's log ends with the table.")] = None,
    follow: Annotated[bool, typer.Option(
        "--follow", "-f", help="With --address: stream the job's logs until it ends.")] = False,
    check_resources: Annotated[bool, typer.Option(
        help="Check one trial (1 CPU + its env runners and learners) fits Ray's alive "
        "nodes.")] = True,
) -> None:
    """Sweep hyperparameters of SPEC on Ray Tune; each trial is a normal marl run.

    Example (4 trials of the quickstart, ranked by their win rate against random):

        marl sweep experiments/quickstart.yaml -p algorithm.lr=loguniform:1e-4:3e-3
          -p algorithm.num_epochs=choice:5,10 --samples 4 --metric eval/win_rate_vs_random
          --set stop.iterations=20 [--scheduler asha]

    Trials land in <storage>/<sweep>/trials/<run id> (checkpoints, metrics.jsonl, W&B in
    one group named after the sweep); at the end a table of the trials, best first, and
    results.csv and results.png in the sweep dir. A killed sweep continues with
    --resume <sweep dir>. With --address the sweep runs as a Ray Job: its sweep dir is
    <storage>/<job id> on the head, and its log (--follow, marl logs) ends with the
    table. See docs/sweeps.md.
    """
    from marl.errors import MarlError
    from marl.sweep import SweepPlan

    defaults_for_headless()
    if (spec_path is None) == (resume is None):
        raise MarlError("give SPEC (a new sweep) or --resume SWEEP_DIR, one of them")
    if not check_resources:
        os.environ["MARL_CHECK_RESOURCES"] = "0"
    if address is not None:
        _submit(spec_path, resume, params or [], overrides, metric, mode, scheduler, samples,
                max_concurrent, address, follow, check_resources)
        return
    from marl.tracking.console import console

    if resume is not None:
        if params or overrides or metric:
            raise MarlError("--resume continues the sweep as it was made: drop --param, --set "
                            "and --metric")
        plan = SweepPlan.load(resume)
    else:
        assert spec_path is not None
        from marl.spec import read_spec_data

        base = read_spec_data(spec_path, overrides)
        plan = SweepPlan.create(base if isinstance(base, dict) else {}, params or [],
                                metric or "", mode=mode, samples=samples, scheduler=scheduler,
                                max_concurrent=max_concurrent, name=name, source=str(spec_path))
    console.print(f"sweep [bold]{plan.name}[/] -> {plan.dir}", soft_wrap=True)
    _run_local(plan, resume is not None)


def _run_local(plan: Any, restore: bool) -> None:
    from marl.sweep import execute, results_table
    from marl.tracking.console import console

    rows = execute(plan, restore=restore)
    console.print(results_table(plan, rows))
    console.print(f"trials: {plan.trials_dir}\nresults: {plan.dir / 'results.csv'}, "
                  f"{plan.dir / 'results.png'}", soft_wrap=True)
    failed = [r for r in rows if r.status == "error"]
    unfinished = [r for r in rows if r.status == "stopped"]
    if unfinished and plan.scheduler == "fifo":
        console.print(f"{len(unfinished)} trial(s) did not finish: continue with "
                      f"`marl sweep --resume {plan.dir}`", soft_wrap=True)
    if failed:
        typer.echo(f"error: {len(failed)} trial(s) failed; first: {failed[0].run_id}: "
                   f"{failed[0].error}", err=True)
        raise typer.Exit(1)
    if not rows or all(math.isnan(r.value) for r in rows):
        typer.echo(f"error: no trial logged {plan.metric}", err=True)
        raise typer.Exit(1)


def _submit(spec_path: Path | None, resume: Path | None, params: list[str],
            overrides: list[str] | None, metric: str | None, mode: str, scheduler: str,
            samples: int, max_concurrent: int, address: str, follow: bool,
            check_resources: bool) -> None:
    """The sweep as a Ray Job: validated here, the job runs ``marl sweep`` on the head."""
    import secrets

    import yaml

    from marl.cluster import (JOB_SPEC_PATH, Cluster, env_sources, new_run_id,
                              storage_for_cluster)
    from marl.sweep import check_trial_fits

    if resume is not None:
        target = str(resume)
        if not target.startswith("/"):
            from marl.errors import ClusterError

            raise ClusterError(f"--resume {target}: give the sweep dir's absolute path on the "
                               f"head (see `marl jobs`)")
        cluster = Cluster(address)
        job_id = f"{target.rstrip('/').rsplit('/', 1)[-1]}-resume-{secrets.token_hex(2)}"
        sub = cluster.submit_command(["sweep", "--resume", target], job_id, target, "sweep",
                                     check_resources=check_resources)
    else:
        assert spec_path is not None
        from marl.spec import read_spec_data, spec_from_dict
        from marl.sweep import SweepPlan

        base = read_spec_data(spec_path, overrides)
        spec = spec_from_dict(base, source=str(spec_path))
        storage = storage_for_cluster(spec.storage)
        job_id = new_run_id(f"{spec.name}-sweep")
        # Every check of a local sweep, here (params, metric, the env), without a sweep dir.
        SweepPlan.validate(base if isinstance(base, dict) else {}, params, metric or "", mode,
                           scheduler, source=str(spec_path))
        cluster = Cluster(address)
        if check_resources:
            check_trial_fits(spec.resources, cluster.nodes())
        args = ["sweep", JOB_SPEC_PATH, *(a for p in params for a in ("--param", p)),
                "--metric", metric or "", "--mode", mode, "--scheduler", scheduler,
                "--samples", str(samples), "--max-concurrent", str(max_concurrent),
                "--name", job_id]
        if not check_resources:
            args.append("--no-check-resources")
        sub = cluster.submit_command(args, job_id, f"{storage}/{job_id}", "sweep",
                                     spec_yaml=yaml.safe_dump(base, sort_keys=False),
                                     extra=env_sources(spec), check_resources=check_resources)
    typer.echo(sub.job_id)
    typer.echo(f"results: {sub.run_dir}", err=True)
    typer.echo(f"follow: marl logs {sub.job_id} --follow --address {cluster.url}", err=True)
    if follow:
        status = cluster.follow(sub.job_id, lambda text: typer.echo(text, nl=False))
        typer.echo(f"job {sub.job_id}: {status}", err=True)
        if status == "SUCCEEDED":  # the table is the end of the log above
            typer.echo(f"on the head: {sub.run_dir}/results.csv, results.png, trials/ (fetch "
                       f"them with `ray rsync-down cluster.yaml {sub.run_dir} .`)", err=True)
        raise typer.Exit(0 if status == "SUCCEEDED" else 1)


def register(app: typer.Typer, user_errors: Any) -> None:
    """Add ``marl sweep`` to the ``marl`` app (errors: one line, exit 2)."""
    app.command("sweep")(user_errors(sweep))
