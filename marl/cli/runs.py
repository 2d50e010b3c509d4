"""``marl runs`` and ``marl plot``: list runs, draw and compare their learning curves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from marl.errors import RunError

__all__ = ["register"]

_SHORT = {"episode_return_mean": "return", "episode_len_mean": "ep len", "elo": "elo",
          "efficiency": "effic.", "raw_return": "return"}


def runs(
    storage: Annotated[Path, typer.Argument(help="Where run dirs are (a spec's storage).")] = Path("runs"),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the runs under STORAGE, newest first: id, spec, env, status
    (running / finished / interrupted), iterations, env steps, the setting's key metric."""
    from marl.runs import list_runs
    from marl.tracking.console import compact_table, console

    infos = list_runs(storage)
    if as_json:
        typer.echo(json.dumps([i.to_dict() for i in infos], indent=2))
        return
    if not infos:
        typer.echo(f"no runs under {storage} (train one: marl train experiments/quickstart.yaml)")
        return
    table = compact_table(f"runs in {storage}", "run dirs: marl runs --json")
    table.add_column("run", no_wrap=True)
    table.add_column("env", overflow="fold", ratio=1)
    table.add_column("status", no_wrap=True)
    table.add_column("iters", justify="right", no_wrap=True)
    table.add_column("env steps", justify="right", no_wrap=True)
    table.add_column("key metric", justify="right", no_wrap=True)
    for i in infos:
        value = "-" if i.value is None else f"{i.value:.3g}"
        name = _SHORT.get(i.metric.split("/")[-1], i.metric.split("/")[-1])
        table.add_row(i.run_id, i.env.split("/")[-1].rsplit("-v", 1)[0], i.status,
                      str(i.iterations), f"{i.env_steps:,}", f"{name} {value}")
    console.print(table)


def plot(
    run_dirs: Annotated[list[Path], typer.Argument(metavar="RUN...", help="Run dirs to compare.")],
    metric: Annotated[list[str] | None, typer.Option(
        "--metric", "-m", help="A metrics.jsonl key (repeatable); default: the setting's "
        "own, e.g. rollout/episode_return_mean for cooperative runs.")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="The PNG to write (default: plot.png in the first run dir).")] = None,
) -> None:
    """Draw learning curves of one or more runs on one figure, against env steps and
    against training wall-clock, one line per run."""
    from marl.runs import read_metrics, run_info
    from marl.tracking.plots import DEFAULT_METRICS, curve, plot_curves

    infos = []
    for run_dir in run_dirs:
        info = run_info(run_dir)
        if info is None:
            raise RunError(f"{run_dir} is not a run directory (no spec.yaml/meta.json); pass "
                           f"dirs created by `marl train` (see `marl runs`)")
        infos.append(info)
    metrics = list(metric or [])
    if not metrics:
        rows = read_metrics(run_dirs[0])
        policy = next((k.split("/")[1] for k in (rows[-1] if rows else {})
                       if k.startswith("train/") and k.endswith("/entropy")), "shared")
        setting = infos[0].env.split("/")[0]
        metrics = [m.format(policy=policy) for m in DEFAULT_METRICS.get(setting, [])]
        metrics = metrics or ["rollout/episode_return_mean"]
    series: dict[str, dict[str, dict[str, list[float]]]] = {m: {} for m in metrics}
    for run_dir, info in zip(run_dirs, infos, strict=True):
        rows = read_metrics(run_dir)
        for m in metrics:
            series[m][info.run_id] = curve(rows, m)
    if all(not c["value"] for m in metrics for c in series[m].values()):
        known = sorted({k for r in read_metrics(run_dirs[0]) for k in r})
        raise RunError(f"no run has {', '.join(metrics)}; keys in {run_dirs[0].name}: "
                       f"{', '.join(known[:12])}{' ...' if len(known) > 12 else ''}")
    path = plot_curves(series, out or run_dirs[0] / "plot.png")
    typer.echo(f"wrote {path}")


def register(app: typer.Typer, user_errors) -> None:  # noqa: ANN001
    app.command("runs")(user_errors(runs))
    app.command("plot")(user_errors(plot))
