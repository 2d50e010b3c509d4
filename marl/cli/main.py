"""The ``marl`` command line: thin commands over the library.

Every user error (``MarlError``) is caught in one place: one line on stderr, exit 2.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from marl.cli.cluster import register as _register_cluster
from marl.cli.common import SetOpt, defaults_for_headless, user_errors
from marl.cli.ladder import ladder_app
from marl.cli.league import league_app
from marl.cli.play import register as _register_play
from marl.cli.runs import register as _register_runs
from marl.cli.sweep import register as _register_sweep
from marl.errors import MarlError

app = typer.Typer(
    help="Train teams and leagues of RL agents in PettingZoo envs with RLlib PPO, from one "
    "YAML spec.\n\nQuickstart: `marl train experiments/quickstart.yaml`, then "
    "`marl eval runs/<run-id>`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
spec_app = typer.Typer(help="Validate specs and print their JSON schema.", no_args_is_help=True)
envs_app = typer.Typer(help="The registered environments.", no_args_is_help=True)
app.add_typer(spec_app, name="spec")
app.add_typer(envs_app, name="envs")
app.add_typer(league_app, name="league")  # marl league show (marl/cli/league.py)
app.add_typer(ladder_app, name="ladder")  # marl ladder add | play | show (marl/cli/ladder.py)

@app.command()
@user_errors
def train(
    spec_path: Annotated[Path | None, typer.Argument(metavar="SPEC", help="Experiment YAML.")] = None,
    overrides: SetOpt = None,
    resume: Annotated[str | None, typer.Option(
        "--resume", metavar="RUN_DIR", help="Continue a run from its latest checkpoint "
        "(a run dir, or its cloud URI: s3://bucket/marl/<run-id>).")] = None,
    run_id: Annotated[str | None, typer.Option(
        "--run-id", hidden=True, help="Run id to use (marl submit passes the job id).")] = None,
    verbose: Annotated[bool, typer.Option(
        "--verbose", "-v", help="Show everything Ray and RLlib log, and every marl event.")] = False,
) -> None:
    """Train a spec locally on an embedded Ray; checkpoints and metrics go to runs/<run-id>.

    Stops at stop.iterations / stop.env_steps / stop.time_s; Ctrl-C (or SIGTERM) finishes
    the iteration, saves a checkpoint and exits with code 130. Resume explicitly with
    --resume RUN_DIR (runs never resume on their own).
    """
    from marl.experiment import resolve
    from marl.run import create_run_dir, open_run_dir
    from marl.spec import load_spec
    from marl.tracking.console import console

    defaults_for_headless()
    if verbose:
        os.environ["MARL_VERBOSE"] = "1"
    if resume is not None and spec_path is not None:
        raise MarlError("give either SPEC (a new run) or --resume RUN_DIR, not both")
    if resume is not None:
        from marl.storage import is_remote, pull

        run_dir = pull(resume) if is_remote(resume) else Path(resume)
        spec, run_id = open_run_dir(run_dir, overrides)
    elif spec_path is not None:
        spec = load_spec(spec_path, overrides)
        run_dir = None
    else:
        raise MarlError("missing SPEC: run `marl train experiments/quickstart.yaml` or "
                        "`marl train --resume runs/<run-id>`")
    # Resolved once (builds the env once, no Ray): policy, team and critic errors surface
    # here, before Ray starts or a run dir exists; everything below takes this.
    exp = resolve(spec)
    if run_dir is None:
        run_dir = create_run_dir(spec, run_id=run_id)
    run_id = run_dir.name if run_id is None else run_id
    console.print(f"run [bold]{run_id}[/] -> {run_dir}", soft_wrap=True)
    from marl.tracking.quiet import filter_stderr

    with contextlib.nullcontext() if verbose else filter_stderr():
        _train_and_report(exp, run_dir, run_id, resume is not None)


def _train_and_report(exp: Any, run_dir: Path, run_id: str, resume: bool) -> None:
    """Train, evaluate at the end, write summary.json (the body of ``marl train``)."""
    from marl.run import train as run_train
    from marl.tracking.console import console

    spec = exp.spec
    outcome = run_train(exp, run_dir, run_id, resume=resume)
    console.print(f"checkpoint: {outcome.checkpoint}", soft_wrap=True)
    summary: dict[str, Any] = {"run_id": run_id, "iteration": outcome.iteration,
                               "env_steps": outcome.env_steps, "checkpoint": str(outcome.checkpoint),
                               "metrics": outcome.metrics, "interrupted": outcome.interrupted}
    if spec.evaluation.at_end and not outcome.interrupted:
        from marl.evaluate import evaluate_run

        rows = evaluate_run(run_dir, exp=exp)
        _print_eval(rows, f"results after {outcome.iteration} iterations, "
                          f"{outcome.env_steps:,} env steps")
        summary["evaluation"] = [r.to_dict() for r in rows]
    from marl.run import atomic_write_text

    atomic_write_text(run_dir / "summary.json", json.dumps(summary, indent=2, default=float))
    from marl.storage import push

    push(run_dir, spec.storage)  # cloud storage: the final files (no-op for a local path)
    if outcome.interrupted:
        console.print(f"interrupted: continue with `marl train --resume {run_dir}`")
        raise typer.Exit(130)


def eval_table(rows: list[Any], title: str) -> Any:
    """The results table: readable at 80 columns (short headers, labels never wrap),
    full width on wider terminals."""
    from marl.tracking.console import compact_table

    teams = list(dict.fromkeys(t for r in rows for t in r.team_returns))
    table = compact_table(title, "returns per team; score = (W + D/2) / games, 95% Wilson "
                                 "interval")
    table.add_column("pairing", no_wrap=True)
    table.add_column("actions", no_wrap=True)
    for team in teams:
        table.add_column(team, justify="right", no_wrap=True)
    has_wdl = any(r.wins is not None for r in rows)
    if has_wdl:
        table.add_column("W/D/L", justify="right", no_wrap=True)
        table.add_column("score (CI)", justify="right", no_wrap=True)
    for r in rows:
        pairing = r.pairing.replace(" trained vs ", " vs ")
        actions = "-" if r.pairing == "random" else r.actions
        cells = [pairing, actions, *(f"{r.team_returns.get(t, float('nan')):.2f}" for t in teams)]
        if has_wdl:
            if r.wins is None:
                cells += ["", ""]
            else:
                score = (r.wins + 0.5 * r.draws) / r.episodes
                lo, hi = r.extra["score_ci_low"], r.extra["score_ci_high"]
                ci = f"{lo:.2f}-{hi:.2f}".replace("0.", ".")
                cells += [f"{r.wins}/{r.draws}/{r.losses}", f"{score:.2f} ({ci})"]
        table.add_row(*cells)
    return table


def _print_eval(rows: list[Any], title: str) -> None:
    from marl.tracking.console import console

    console.print(eval_table(rows, title))


@app.command("eval")
@user_errors
def eval_cmd(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN_DIR", help="A run directory.")],
    episodes: Annotated[int | None, typer.Option(min=1, help="Episodes per pairing.")] = None,
    actions: Annotated[str, typer.Option(
        help="How trained policies act: both (sampled rows, then greedy), sampled, or "
        "greedy (argmax over legal actions).")] = "both",
    greedy: Annotated[bool, typer.Option(help="Greedy only (same as --actions greedy).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    player: Annotated[str | None, typer.Option(
        help="Head to head: RUN_DIR's league player or policy (default: its first learner).")] = None,
    vs: Annotated[str | None, typer.Option(
        "--vs", metavar="OPPONENT", help="Head to head against random, alphabeta_d<k>, "
        "RUN_DIR[:player] or CHECKPOINT_DIR:player, half the games on each seat.")] = None,
    search: Annotated[str | None, typer.Option(
        "--search", metavar="mcts:N", help="With --vs: the run's player searches N MCTS "
        "simulations a move, its policy as prior and its value head at the leaves (turn-"
        "based two-player games: connect four, tic-tac-toe).")] = None,
    exploitability: Annotated[bool, typer.Option(
        "--exploitability", help="Two-player zero-sum OpenSpiel games (kuhn_poker, "
        "leduc_poker): the exact NashConv and exploitability of the trained policies (a "
        "league: also the average over the main agent's snapshots), by OpenSpiel's own "
        "best-response code, instead of playing games.")] = False,
) -> None:
    """Play the trained policies as trained, against random, and all-random; print a table.

    Each pairing is played with sampled and with greedy actions (--actions). Two-player
    competitive games (and turn-based team games) add wins/draws/losses with a 95% Wilson
    interval.
    The JSON is also written to RUN_DIR/eval.json. With --vs (and --player), play two
    players head to head instead: W/D/L per seat with 95% Wilson intervals.
    """
    if exploitability:
        _exploitability(run_dir, as_json)
        return
    from marl.search import search_spec

    simulations = search_spec(search)
    if vs is not None or player is not None or simulations:
        from marl.cli.league import head_to_head_cmd

        defaults_for_headless()
        ref = f"{run_dir}:{player}" if player else str(run_dir)
        head_to_head_cmd(ref, vs or "random", episodes or 100, greedy, as_json, simulations)
        return
    from marl.evaluate import evaluate_run
    from marl.run import atomic_write_text

    defaults_for_headless()
    if actions not in ("both", "sampled", "greedy"):
        raise MarlError(f"--actions {actions}: choose both, sampled or greedy")
    rows = evaluate_run(run_dir, episodes, "greedy" if greedy else actions)
    payload = json.dumps([r.to_dict() for r in rows], indent=2, default=float)
    atomic_write_text(run_dir / "eval.json", payload)
    if as_json:
        typer.echo(payload)
    else:
        _print_eval(rows, f"evaluation: {run_dir.name}")


def _exploitability(run_dir: Path, as_json: bool) -> None:
    from marl.evaluate import exploitability_rows
    from marl.tracking.console import compact_table, console

    defaults_for_headless()
    rows = exploitability_rows(run_dir)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = compact_table(f"exploitability: {run_dir.name}",
                          "exact (OpenSpiel best responses); 0 = a Nash equilibrium; "
                          "gain = best response's gain per seat")
    table.add_column("policy", no_wrap=True)
    for col in ("NashConv", "exploit.", "gain p0", "gain p1"):
        table.add_column(col, justify="right", no_wrap=True)
    for r in rows:
        gains = [f"{g:.4f}" for g in r["player_improvements"]]
        table.add_row(r["policy"], f"{r['nash_conv']:.4f}", f"{r['exploitability']:.4f}", *gains)
    console.print(table)


@spec_app.command("validate")
@user_errors
def spec_validate(
    spec_path: Annotated[Path, typer.Argument(metavar="SPEC")],
    overrides: SetOpt = None,
    resolved: Annotated[bool, typer.Option(
        "--resolved", help="Also say which settings came from the env's preset and what the "
        "spec resolved to (agents, spaces, teams, policies, critic).")] = False,
) -> None:
    """Check a spec (and overrides) without starting anything; print the effective spec.

    Every setting is printed: the spec's own, the env's preset for what the spec leaves
    out (see `marl envs list`), and the defaults for the rest.
    """
    import yaml

    from marl.experiment import resolve
    from marl.spec import preset_keys, read_spec_data, spec_from_dict

    data = read_spec_data(spec_path, overrides)
    spec = spec_from_dict(data, source=str(spec_path))
    exp = resolve(spec)  # builds the env once (no Ray): policies, teams, critic input
    typer.echo(yaml.safe_dump(spec.to_dict(), sort_keys=False), nl=False)
    if resolved:
        from_preset = preset_keys(data) if isinstance(data, dict) else []
        typer.echo(yaml.safe_dump({"from_env_preset": from_preset,
                                   "resolved": exp.summary()}, sort_keys=False), nl=False)
    typer.echo(f"ok: {spec_path} is valid", err=True)


@spec_app.command("schema")
def spec_schema_cmd() -> None:
    """Print the spec's JSON schema (for yaml-language-server and editors)."""
    from marl.spec import spec_schema

    typer.echo(spec_schema())


@envs_app.command("list")
@user_errors
def envs_list(
    spaces: Annotated[bool, typer.Option(help="Build each env to show agents and spaces.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Registered env ids with their setting, api, agents, spaces and the kinds of their
    actions (discrete, continuous) and observations (vector, image, board)."""
    import numpy as np

    from envs.factory import make_spec_env
    from envs.registry import check_env_id, env_ids
    from marl.tracking.console import console

    rows = []
    for env_id in env_ids():
        entry = check_env_id(env_id)
        row: dict[str, Any] = {"id": env_id, "setting": entry.setting, "api": entry.api,
                               "description": entry.description, "agents": [],
                               "observation": "", "action": "", "actions": entry.actions,
                               "observations": entry.observations,
                               "board": list(entry.board) if entry.board else None,
                               "features": list(entry.features),
                               "action_size": None}
        if spaces:
            env = make_spec_env({"id": env_id})
            first = env.possible_agents[0]
            obs = env.observation_space(first)
            obs = obs["observations"] if hasattr(obs, "spaces") and "observations" in obs.spaces else obs
            act = env.action_space(first)
            size = getattr(act, "n", None)
            row.update(agents=list(env.possible_agents), observation=str(getattr(obs, "shape", obs)),
                       action=str(act),
                       action_size=int(size) if size is not None else int(np.prod(act.shape)))
            env.close()
        rows.append(row)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    console.print(envs_table(rows, console.width))


def envs_table(rows: list[dict[str, Any]], width: int | None = None) -> Any:
    """``marl envs list``: ids never wrap (users copy them into specs); observations and
    actions show their kind and size (``board 6x7x2``, ``continuous 4``). The description
    folds into what a ``width``-column terminal leaves (None: any width); at 80 columns
    none is left, and ``--json`` has it."""
    import re

    from marl.tracking.console import compact_table

    cells = []
    for r in rows:
        dims = r.get("board") or re.findall(r"\d+", r.get("observation") or "")
        obs = " ".join([r.get("observations", ""), "x".join(str(d) for d in dims)]).strip()
        size = r.get("action_size")
        act = " ".join([r.get("actions", ""), "" if size is None else str(size)]).strip()
        api = "par" if r["api"] == "parallel" else r["api"]
        cells.append([r["id"], api, str(len(r["agents"]) or "-"), obs, act])
    headers = ["id", "api", "n", "observation", "action"]
    # Two spaces between columns and one at each edge (compact_table's padding).
    fixed = sum(max([len(h), *(len(c[i]) for c in cells)]) for i, h in enumerate(headers)) \
        + 2 * len(headers)
    described = width is None or width - fixed >= 20
    table = compact_table("environments (setting/name-vN)",
                          "n: agents; par: parallel; --json for agent ids, spaces"
                          + (" and descriptions" if not described else ""))
    for h in headers:
        table.add_column(h, no_wrap=True, justify="right" if h == "n" else "left")
    if described:
        table.add_column("description", overflow="fold", ratio=1)
    for r, c in zip(rows, cells):
        table.add_row(*c, *([r["description"]] if described else []))
    return table


_register_cluster(app, user_errors)
_register_play(app)  # marl play (marl/cli/play.py)
_register_runs(app, user_errors)  # marl runs | plot (marl/cli/runs.py)  # marl submit | jobs | logs | stop (marl/cli/cluster.py)
_register_sweep(app, user_errors)  # marl sweep (marl/cli/sweep.py)


def main() -> None:  # pragma: no cover
    import sys

    # As `python -m` does: a user's env module in the working directory imports
    # (env.entry_point: "mygames.duel:env").
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    app(prog_name="marl")


if __name__ == "__main__":  # pragma: no cover
    main()
