"""``marl league show`` and ``marl eval --vs``: league leaderboards and head-to-head games."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from marl.cli.common import defaults_for_headless, user_errors
from marl.errors import RunError

league_app = typer.Typer(help="Self-play leagues: leaderboards.", no_args_is_help=True)

__all__ = ["league_app", "head_to_head_cmd"]


def _league_checkpoint(run_dir: Path) -> tuple[Any, Path]:
    """The run's resolved experiment and latest league checkpoint."""
    from marl.evaluate import run_experiment
    from marl.run import latest_checkpoint

    exp = run_experiment(run_dir)
    found = latest_checkpoint(run_dir)
    if found is None:
        raise RunError(f"{run_dir} has no checkpoint yet; train first or wait for one")
    if not (found[0] / "league.json").is_file():
        raise RunError(f"{run_dir} is not a league run (no league.json in {found[0].name}); "
                       f"add a league: section to the spec")
    return exp, found[0]


@league_app.command("show")
def show(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN_DIR", help="A league run directory.")],
    games: Annotated[int, typer.Option(
        min=0, help="Play N fresh games per player vs random and vs the scripted opponent "
        "(both seats) instead of showing training win rates.")] = 0,
    scripted: Annotated[str | None, typer.Option(
        help="Scripted opponent for the last column (connect four: alphabeta_d<k>); default: "
        "the league's own, else alphabeta_d1 on connect four.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Leaderboard of a league run's latest checkpoint: player, role, generation, Elo,
    skill mu ± sigma (openskill), games, win rate vs random and vs a scripted opponent,
    and the Nash-averaged skill (Balduzzi et al. 2018: expected margin against the
    payoff table's max-entropy Nash; copies of a player cannot inflate it). --json adds
    each player's Nash weight and alpha-Rank mass (OpenSpiel's alpharank), as do the W&B
    leaderboard table and league.json."""
    from marl.league import League
    from marl.tracking.console import console
    from marl.tracking.leaderboard import COLUMNS, leaderboard_rows, leaderboard_table

    @user_errors
    def run() -> None:
        defaults_for_headless()
        exp, ckpt = _league_checkpoint(run_dir)
        league = League.load(ckpt / "league.json")
        opponent = scripted or next(
            (p.id for p in league.players.values() if p.role == "scripted"),
            "alphabeta_d1" if exp.env_id == "competitive/connect_four-v0" else None)
        evals = _fresh_win_rates(exp, ckpt, league, opponent, games) if games else None
        rows = leaderboard_rows(league, evals, opponent)
        if as_json:
            out = [dict(zip(COLUMNS, r, strict=True)) for r in rows]
            typer.echo(json.dumps(out, indent=2))
            return
        console.print(leaderboard_table(
            league, f"league {run_dir.name} @ {ckpt.name}: {len(league.players)} players, "
            f"{league.matches:,} games", evals, opponent))

    run()


def _fresh_win_rates(exp: Any, ckpt: Path, league: Any, scripted: str | None,
                     games: int) -> dict[str, dict[str, float]]:
    from marl.evaluate import PlayerRef, load_player
    from marl.league.play import head_to_head

    spec, env_config = exp.spec, exp.play_config()
    opponents = ["random"] + ([scripted] if scripted else [])
    out: dict[str, dict[str, float]] = {}
    for pid in league.player_ids:
        me = PlayerRef(pid, "module", ckpt, pid)
        policy = load_player(me, exp, seed=spec.seed)
        out[pid] = {}
        for opp in opponents:
            if opp == pid:
                continue
            result = head_to_head(env_config, exp.seats, (pid, policy),
                                  (opp, load_player(PlayerRef(opp, "scripted"), exp,
                                                    seed=spec.seed + 1)),
                                  games, seed=spec.seed + 10_000)
            out[pid][opp] = result.score
    return out


def head_to_head_cmd(ref_a: str, ref_b: str, episodes: int, greedy: bool, as_json: bool,
                     search: int = 0) -> None:
    """``marl eval A --vs B``: N games, both seats, W/D/L with 95 % Wilson intervals;
    ``search``: A plays MCTS with that many simulations a move (``marl.search``)."""
    from marl.evaluate import load_player, resolve_player, run_experiment
    from marl.league.play import head_to_head
    from marl.tracking.console import console

    a, b = resolve_player(ref_a), resolve_player(ref_b)
    source = next((r.checkpoint for r in (a, b) if r.checkpoint is not None), None)
    if source is None:
        raise RunError("give at least one run or checkpoint, e.g. "
                       "`marl eval runs/<id> --vs random`")
    exp = run_experiment(source.parent.parent)
    spec = exp.spec
    result = head_to_head(exp.play_config(), exp.seats,
                          (a.name, load_player(a, exp, greedy, spec.seed, search=search)),
                          (b.name, load_player(b, exp, greedy, spec.seed + 1)),
                          episodes, seed=spec.seed + 10_000)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    console.print(h2h_table(result, f"{a.name} vs {b.name}: {result.games} games, "
                                      f"{exp.env_id}"))


def h2h_table(result: Any, title: str) -> Any:
    """Head-to-head results per seat of A and over both, with 95 % Wilson intervals."""
    from marl.league.play import wilson
    from marl.tracking.console import compact_table

    table = compact_table(title, "A = the first player; score = (W + D/2) / games")
    for col in ("A's seat", "games", "W/D/L", "A's score (CI)", "A's win rate (CI)"):
        table.add_column(col, justify="right", no_wrap=True)
    rows = [(str(s), *wdl) for s, wdl in sorted(result.by_seat.items())]
    rows.append(("both", result.wins, result.draws, result.losses))
    for seat, w, d, lost in rows:
        n = w + d + lost
        slo, shi = wilson(w + 0.5 * d, n)
        wlo, whi = wilson(w, n)
        table.add_row(seat, str(n), f"{w}/{d}/{lost}",
                      f"{(w + 0.5 * d) / max(n, 1):.2f} ({slo:.2f}-{shi:.2f})",
                      f"{w / max(n, 1):.2f} ({wlo:.2f}-{whi:.2f})")
    return table
