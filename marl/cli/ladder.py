"""``marl ladder add | play | show``: one rating list across runs (``marl.league.ladder``)."""

from __future__ import annotations

import json
import re
import zlib
from pathlib import Path
from typing import Annotated, Any

import typer

from marl.cli.common import defaults_for_headless, user_errors
from marl.errors import LeagueError

__all__ = ["ladder_app"]

ladder_app = typer.Typer(
    help="A rating list across runs: every agent from every run of one env on one scale "
    "(Elo with 95% error bars, openskill mu/sigma, W/D/L), random pinned at Elo 0.\n\n"
    "marl ladder add runs/a runs/b:main_0_g2 alphabeta_d2; marl ladder play --games 40; "
    "marl ladder show",
    no_args_is_help=True)

FileOpt = Annotated[Path, typer.Option("--file", "-f", help="The ladder's JSON file.")]
DEFAULT_FILE = Path("ladder.json")


def _entry_of(ref: str) -> tuple[str, dict[str, Any], str | None]:
    """(name, entry, env id or None for scripted players) of a player reference."""
    from marl.evaluate import resolve_player
    from marl.run import open_run_dir

    player = resolve_player(ref)
    if player.kind == "scripted":
        return player.name, {"ref": ref, "kind": "scripted", "checkpoint": None,
                             "player_id": player.name, "run_dir": None}, None
    assert player.checkpoint is not None
    run_dir = player.checkpoint.parent.parent
    spec, _ = open_run_dir(run_dir)
    # "<name>-<date>-<time>-<hex>:<player>" -> "<name>-<hex>:<player>": short, still unique.
    name = re.sub(r"-\d{8}-\d{6}-", "-", player.name)
    return name, {"ref": ref, "kind": "module",
                         "checkpoint": str(player.checkpoint.resolve()),
                         "player_id": player.player_id,
                         "run_dir": str(run_dir.resolve())}, spec.env.name


@ladder_app.command("add")
def add(
    refs: Annotated[list[str], typer.Argument(
        metavar="PLAYER...", help="RUN_DIR[:player], CHECKPOINT_DIR:player, random or "
        "alphabeta_d<k>; NAME=PLAYER names the entry. A run's latest checkpoint is pinned "
        "now: training the run on does not change its entry.")],
    search: Annotated[str | None, typer.Option(
        "--search", metavar="mcts:N", help="These trained players search N MCTS simulations "
        "a move (turn-based two-player games); the entry's name gets a +mctsN suffix.")] = None,
    file: FileOpt = DEFAULT_FILE,
) -> None:
    """Add players to the ladder (created with `random` as its anchor)."""
    from marl.league.ladder import Ladder
    from marl.league.play import scripted_depth

    from marl.search import search_spec

    @user_errors
    def run() -> None:
        simulations = search_spec(search)
        ladder = Ladder.load(file) if file.exists() else None
        added = []
        for raw in refs:
            name, _, ref = raw.rpartition("=") if "=" in raw else ("", "", raw)
            default_name, entry, env = _entry_of(ref)
            if ladder is None:
                if env is None:
                    raise LeagueError("a new ladder needs a run first (its env sets the "
                                      "ladder's game): marl ladder add RUN_DIR ...")
                ladder = Ladder(env)
                _, anchor, _ = _entry_of("random")
                ladder.add("random", anchor)
            if env is not None and env != ladder.env:
                raise LeagueError(f"{ref} plays {env}, the ladder plays {ladder.env}; use "
                                  f"another --file for that game")
            if scripted_depth(ref) is not None and ladder.env != "competitive/connect_four-v0":
                raise LeagueError(f"{ref} plays connect four only; the ladder plays {ladder.env}")
            name = name or default_name
            if simulations and entry["kind"] == "module":
                entry["search"] = simulations
                name = name if "=" in raw else f"{name}+mcts{simulations}"
            if name == "random" and name in ladder.entries:
                continue
            ladder.add(name, entry)
            added.append(name)
        assert ladder is not None
        ladder.save(file)
        typer.echo(f"{file}: {len(ladder.entries)} entries ({ladder.env}); added "
                   f"{', '.join(added) or 'nothing new'}")

    run()


@ladder_app.command("play")
def play(
    games: Annotated[int, typer.Option(min=2, help="Games per pair in all (half on each "
                                       "seat); pairs short of it are topped up.")] = 20,
    greedy: Annotated[bool, typer.Option(help="Trained agents play argmax actions (default: "
                                          "sampled, as they were trained).")] = False,
    seed: Annotated[int, typer.Option(help="Base seed of the games.")] = 0,
    file: FileOpt = DEFAULT_FILE,
) -> None:
    """Play a round robin among the entries, both seats, saving after every pair (an
    interrupted play resumes where it stopped)."""
    from marl.evaluate import PlayerRef, load_player, run_experiment
    from marl.league.ladder import Ladder
    from marl.league.play import head_to_head

    @user_errors
    def run() -> None:
        defaults_for_headless()
        ladder = Ladder.load(file)
        runs = [e["run_dir"] for e in ladder.entries.values() if e["kind"] == "module"]
        if not runs:
            raise LeagueError(f"{file} has no trained agents; add runs with marl ladder add")
        exp = run_experiment(Path(runs[0]))
        todo = ladder.schedule(games)
        if not todo:
            typer.echo(f"every pair has {games} games; raise --games to play more")
            return
        loaded: dict[str, Any] = {}

        def player(name: str) -> Any:
            if name not in loaded:
                e = ladder.entries[name]
                ref = (PlayerRef(name, "scripted") if e["kind"] == "scripted" else
                       PlayerRef(name, "module", Path(e["checkpoint"]), e["player_id"]))
                # Its own stream per entry: two players drawing from one seed mirror
                # each other's choices (random vs a near-uniform policy replays a line).
                loaded[name] = load_player(ref, exp, greedy, seed + zlib.crc32(name.encode()),
                                           search=int(e.get("search", 0)))
            return loaded[name]

        for k, (a, b, n) in enumerate(todo, 1):
            pair_seed = seed + zlib.crc32(f"{a}|{b}|{ladder.games(a, b)}".encode())
            result = head_to_head(exp.play_config(), exp.seats, (a, player(a)), (b, player(b)),
                                  n, seed=pair_seed)
            ladder.record(a, b, result.wins, result.draws, result.losses)
            ladder.save(file)
            typer.echo(f"[{k}/{len(todo)}] {a} vs {b}: {result.wins}/{result.draws}/"
                       f"{result.losses} ({ladder.games(a, b)} games)")

    run()


@ladder_app.command("show")
def show(
    file: FileOpt = DEFAULT_FILE,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """The rating list: Elo (maximum likelihood, random = 0) with 95% error bars,
    openskill mu ± sigma, games, W/D/L and score; best first."""
    from marl.league.ladder import Ladder
    from marl.tracking.console import compact_table, console

    @user_errors
    def run() -> None:
        ladder = Ladder.load(file)
        rows = ladder.ratings()
        if as_json:
            typer.echo(json.dumps({"env": ladder.env, "pinned": ladder.pinned(),
                                   "rows": [r.to_dict() for r in rows]}, indent=2))
            return
        table = compact_table(f"ladder {file} ({ladder.env}): {len(rows)} entries",
                              f"Elo: max likelihood, {ladder.pinned()} = 0, ± 95%; G: games; "
                              f"score = (W + D/2) / games")
        table.add_column("#", justify="right", no_wrap=True)
        table.add_column("player", no_wrap=True, overflow="ellipsis",
                         max_width=max(30, console.width - 50))
        for col in ("Elo", "μ ± σ", "G", "W/D/L", "score"):
            table.add_column(col, justify="right", no_wrap=True)
        for i, r in enumerate(rows, 1):
            elo = f"{r.elo:.0f}" + ("" if r.anchor and r.elo_ci == 0 else f" ±{r.elo_ci:.0f}")
            table.add_row(str(i), r.name, elo, f"{r.mu:.1f}±{r.sigma:.1f}", str(r.games),
                          f"{r.wins}/{r.draws}/{r.losses}", f"{r.score:.2f}")
        console.print(table)

    run()
