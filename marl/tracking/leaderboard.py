"""League leaderboards: a rich table for the console, and W&B media.

W&B gets, every ``league.leaderboard_every`` iterations (``log_league_media``):

    league/leaderboard   wandb.Table, one row per player (columns: ``COLUMNS``)
    league/payoff        heatmap PNG of the decayed win rates, row player vs column
    league/replay        GIF of one match (board games with rgb rendering)

Rating curves are plain scalars, ``league/<player>/{elo, mu, sigma}``, logged every
iteration with the other metrics.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["COLUMNS", "leaderboard_rows", "leaderboard_table", "log_league_media",
           "payoff_heatmap"]

COLUMNS = ["player", "role", "generation", "elo", "mu", "sigma", "ordinal", "games",
           "win_rate_vs_random", "vs_scripted", "win_rate_vs_scripted", "nash_weight",
           "nash_skill", "alpha_rank"]


def _scripted_id(league: Any) -> str | None:
    return next((p.id for p in league.players.values() if p.role == "scripted"), None)


def leaderboard_rows(league: Any, evals: dict[str, dict[str, float]] | None = None,
                     scripted: str | None = None) -> list[list[Any]]:
    """One row per player (``COLUMNS``), best conservative skill first.

    Win rates come from the league's payoff table (training games, decayed; draws
    half), or from ``evals`` (player -> {"random": rate, scripted: rate}) when given.
    """
    scripted = scripted or _scripted_id(league)
    ranks = league.alpha_rank()
    rows = []
    for r in league.leaderboard():
        ev = (evals or {}).get(r.player, {})
        vs_random = ev.get("random", r.win_rate_vs_random)
        vs_scripted = ev.get(scripted) if scripted else None
        if vs_scripted is None and scripted and r.player != scripted and \
                league.payoff.count(r.player, scripted):
            vs_scripted = league.payoff.win_rate(r.player, scripted)
        rows.append([r.player, r.role, r.generation, round(r.elo, 1), round(r.mu, 2),
                     round(r.sigma, 2), round(r.ordinal, 2), r.games,
                     None if vs_random is None else round(vs_random, 3), scripted or "",
                     None if vs_scripted is None else round(vs_scripted, 3),
                     round(r.nash_weight, 4), round(r.nash_skill, 4),
                     round(ranks.get(r.player, 0.0), 4)])
    return rows


def leaderboard_table(league: Any, title: str, evals: dict[str, dict[str, float]] | None = None,
                      scripted: str | None = None) -> Any:
    """A rich Table: player, role, generation, ratings ± uncertainty, games, win rates."""
    rows = leaderboard_rows(league, evals, scripted)
    scripted = next((r[9] for r in rows if r[9]), scripted or "scripted")
    source = "fresh games" if evals else "training games, decayed"
    from marl.tracking.console import compact_table

    short = scripted.replace("alphabeta_d", "ab") if scripted else "scripted"
    table = compact_table(title, f"win rates (draws half): {source}; {short} = {scripted}; "
                                 f"Nash = Nash-averaged skill (0: in the max-entropy Nash)")
    table.add_column("player", no_wrap=True)
    table.add_column("role", no_wrap=True)
    for col in ("gen", "Elo", "μ ± σ", "games", "vs rand", f"vs {short}", "Nash"):
        table.add_column(col, justify="right", no_wrap=True)
    for player, role, gen, elo, mu, sigma, _, games, vs_r, _, vs_s, _, skill, _ in rows:
        table.add_row(player, _ROLE_SHORT.get(role, role), str(gen), f"{elo:.0f}",
                      f"{mu:.1f}±{sigma:.1f}", str(games), "-" if vs_r is None else f"{vs_r:.2f}",
                      "-" if vs_s is None else f"{vs_s:.2f}", f"{skill:+.2f}")
    return table


_ROLE_SHORT = {"main_exploiter": "main-x", "league_exploiter": "league-x"}


def payoff_heatmap(league: Any, path: Path) -> Path:
    """PNG heatmap of win_rate(row, column) over all players (0.5 where unseen)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ids = league.player_ids
    grid = [[league.win_rate(p, q) for q in ids] for p in ids]
    size = max(4.0, 0.5 * len(ids) + 2)
    fig, ax = plt.subplots(figsize=(size, size * 0.85))
    im = ax.imshow(grid, vmin=0.0, vmax=1.0, cmap="RdBu")
    ax.set_xticks(range(len(ids)), ids, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(ids)), ids, fontsize=8)
    if len(ids) <= 16:
        for i in range(len(ids)):
            for j in range(len(ids)):
                if league.payoff.count(ids[i], ids[j]):
                    ax.text(j, i, f"{grid[i][j]:.2f}", ha="center", va="center", fontsize=6)
    ax.set_title("win rate of row vs column (decayed; draws half)")
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def log_league_media(sinks: list[Any], iteration: int, league: Any, heatmap: Path | None,
                     replay: Path | None) -> bool:
    """Log the leaderboard table, heatmap and replay to every W&B sink; True if any."""
    from marl.tracking.sinks import WandbSink

    wandb_sinks = [s for s in sinks if isinstance(s, WandbSink)]
    if not wandb_sinks:
        return False
    import wandb

    for sink in wandb_sinks:
        media: dict[str, Any] = {"league/leaderboard": wandb.Table(
            columns=list[str | int](COLUMNS), data=leaderboard_rows(league))}
        if heatmap is not None:
            media["league/payoff"] = wandb.Image(str(heatmap))
        if replay is not None:
            media["league/replay"] = wandb.Video(str(replay))
        sink.log(media, iteration)
    return True
