"""League training on connect four for a fixed wall-clock budget, then head-to-head tests.

Trains ``experiments/league_connect4.yaml`` for ``--minutes`` (``stop.time_s``), then
takes the best main agent (the main learner or one of its snapshots, highest openskill
ordinal mu - 3 sigma) and plays it against uniform random and depth-1, 2 and 4 alpha-beta
(``envs/connect_four_opponents.py``), ``--games`` games on each seat, sampling its
actions. Prints and writes (JSON) the win/draw/loss counts per seat with 95 % Wilson
intervals, the league size and the rating spread.

    .venv/bin/python benchmarks/league_connect4.py --minutes 15 --games 50
    .venv/bin/python benchmarks/league_connect4.py --run runs/<id>   # evaluate only
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OPPONENTS = ("random", "alphabeta_d1", "alphabeta_d2", "alphabeta_d4")


def train_league(minutes: float, overrides: list[str]) -> Path:
    from marl.experiment import resolve
    from marl.run import create_run_dir, train
    from marl.spec import load_spec

    spec = load_spec(REPO / "experiments" / "league_connect4.yaml",
                     [f"stop.time_s={minutes * 60}", "evaluation.at_end=false", *overrides])
    _start_ray(spec)
    run_dir = create_run_dir(spec)
    print(f"run {run_dir}", flush=True)
    train(resolve(spec), run_dir, run_dir.name)
    return run_dir


def _start_ray(spec, attempts: int = 5) -> None:
    """Ray's raylet has 30 s to register; on a busy shared machine that can time out."""
    from marl.rllib.trainer import init_ray

    for attempt in range(attempts):
        try:
            init_ray(spec)
            return
        except Exception as err:  # noqa: BLE001  (ray raises a bare Exception here)
            print(f"ray start failed ({err}); retrying", flush=True)
            import ray

            ray.shutdown()
            time.sleep(10 * (attempt + 1))
    init_ray(spec)


def best_main(league) -> str:
    """The main learner or a snapshot of it with the highest conservative skill."""
    lineage = [p.id for p in league.players.values()
               if p.role == "main" or (p.role == "frozen" and p.frozen_from == "main")]
    return max(lineage, key=lambda pid: league.ratings.get(pid).ordinal)


def evaluate(run_dir: Path, games: int) -> dict:
    from marl.evaluate import PlayerRef, load_player, run_experiment
    from marl.league import League
    from marl.league.play import head_to_head
    from marl.run import latest_checkpoint

    exp = run_experiment(run_dir)
    ckpt, info = latest_checkpoint(run_dir)
    league = League.load(ckpt / "league.json")
    env_config = exp.play_config()
    pid = best_main(league)
    me = (pid, load_player(PlayerRef(pid, "module", ckpt, pid), exp, seed=1))
    results = {}
    for opp in OPPONENTS:
        t0 = time.perf_counter()
        opponent = (opp, load_player(PlayerRef(opp, "scripted"), exp, seed=2))
        r = head_to_head(env_config, exp.seats, me, opponent, 2 * games, seed=10_000)
        results[opp] = {**r.to_dict(), "eval_s": round(time.perf_counter() - t0, 1)}
    board = league.leaderboard()
    elos = [r.elo for r in board]
    ordinals = [r.ordinal for r in board]
    metrics = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return {
        "run": str(run_dir), "checkpoint": ckpt.name, "iterations": info["iteration"],
        "env_steps": info["env_steps"], "best_main": pid,
        "league_size": len(league.players),
        "frozen": sum(p.role == "frozen" for p in league.players.values()),
        "games_in_league": league.matches,
        "elo_spread": round(max(elos) - min(elos), 1),
        "ordinal_spread": round(max(ordinals) - min(ordinals), 2),
        "leaderboard": [r.to_dict() for r in board],
        "train_wall_s": round(sum(m.get("perf/iter_time_s", 0.0) for m in metrics), 1),
        "games_per_seat": games, "vs": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--games", type=int, default=50, help="games per seat per opponent")
    parser.add_argument("--run", type=Path, help="evaluate this run instead of training")
    parser.add_argument("--set", action="append", default=[], help="spec override a.b=c")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results"
                        / "league_connect4.json")
    args = parser.parse_args()
    os.environ.setdefault("WANDB_MODE", "offline")
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.chdir(REPO)
    run_dir = args.run or train_league(args.minutes, args.set)
    out = evaluate(run_dir, args.games)
    out["budget_minutes"] = None if args.run else args.minutes
    print(f"\nbest main agent {out['best_main']} after {out['iterations']} iterations, "
          f"{out['env_steps']:,} env steps; league: {out['league_size']} players "
          f"({out['frozen']} frozen), Elo spread {out['elo_spread']}, "
          f"ordinal spread {out['ordinal_spread']}")
    print(f"{'opponent':<14}{'seat':>5}{'W/D/L':>12}{'win rate (95% CI)':>24}")
    for opp, r in out["vs"].items():
        for seat, s in r["by_seat"].items():
            from marl.league.play import wilson

            lo, hi = wilson(s["wins"], s["games"])
            print(f"{opp:<14}{seat:>5}{s['wins']:>5}/{s['draws']}/{s['losses']:<4}"
                  f"{s['wins'] / s['games']:>10.2f} ({lo:.2f}-{hi:.2f})")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2, default=float))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
