"""The league against plain self-play on connect four, same spec, same wall-clock budget.

Trains ``experiments/league_connect4.yaml`` as it is (the league) and the same spec with
its ``league:`` section removed (plain self-play of one shared policy, every other
setting equal), one after the other on the same machine, ``--minutes`` each. Then the
league's main agent (``main_0``, its final weights) and the self-play policy play, greedy
and sampled, each seat, against random and alpha-beta depth 1, 2 and 4 that vary their
play (random tie-breaks, ``--opening`` random plies for both sides first: an agent cannot
win by memorising one line; these searchers are not the league's training opponents,
whose ties break deterministically), and ``--h2h`` greedy games head to head (half on
each seat). Prints tables, writes JSON and a PNG of win rate vs depth.

    .venv/bin/python benchmarks/league_vs_selfplay.py --minutes 30 --games 50
    .venv/bin/python benchmarks/league_vs_selfplay.py --run league=runs/<id> --run selfplay=runs/<id>
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "experiments" / "league_connect4.yaml"
OPPONENTS = ("random", "alphabeta_d1", "alphabeta_d2", "alphabeta_d4")
Agent = Callable[[dict[str, Any]], int]


def train(kind: str, minutes: float, overrides: list[str],
          league_overrides: list[str] | None = None) -> Path:
    """One run of the league spec (``league``, with ``league_overrides`` on top) or of it
    without its league (``selfplay``)."""
    from marl.experiment import resolve
    from marl.rllib.trainer import init_ray
    from marl.run import create_run_dir
    from marl.run import train as train_run
    from marl.spec import read_spec_data, spec_from_dict

    extra = list(league_overrides or []) if kind == "league" else []
    data = read_spec_data(SPEC, [f"stop.time_s={minutes * 60}", "evaluation.at_end=false",
                                 "tracking.wandb.mode=disabled", *overrides, *extra])
    data["name"] = f"league_vs_selfplay_{kind}"
    if kind == "selfplay":
        data.pop("league", None)
    spec = spec_from_dict(data)
    init_ray(spec)
    run_dir = create_run_dir(spec)
    print(f"[{kind}] run {run_dir}", flush=True)
    train_run(resolve(spec), run_dir, run_dir.name)
    import ray

    ray.shutdown()
    return run_dir


def agent_of(run_dir: Path, greedy: bool, seed: int) -> tuple[str, Agent]:
    """The run's main agent as ``obs -> action``: ``main_0`` of a league, else ``shared``."""
    from marl.rllib.inference import checkpoint_policy
    from marl.run import latest_checkpoint

    ckpt, _ = latest_checkpoint(run_dir)
    module = "main_0" if (ckpt / "league.json").is_file() else "shared"
    policy = checkpoint_policy(ckpt, module, greedy=greedy, seed=seed)
    return module, lambda obs: int(policy([obs])[0])


def searcher(depth: int, rng: np.random.Generator) -> Agent:
    """Alpha-beta at ``depth`` with random tie-breaks; depth 0: uniform random."""
    from envs.connect_four_opponents import alphabeta_action

    def act(obs: dict[str, Any]) -> int:
        if depth == 0:
            return int(rng.choice(np.flatnonzero(obs["action_mask"])))
        board = np.asarray(obs["observations"]).reshape(6, 7, 2).astype(np.int8)
        return int(alphabeta_action({"observation": board, "action_mask": obs["action_mask"]},
                                    depth, rng))
    return act


def play(first: Agent, second: Agent, games: int, opening: int, seed: int) -> list[float]:
    """Scores of the first seat's player (1 win, 0.5 draw, 0 loss) over ``games`` games."""
    from envs.factory import make_spec_env

    env = make_spec_env({"id": "competitive/connect_four-v0"})
    rng = np.random.default_rng(seed)
    scores = []
    for game in range(games):
        env.reset(seed=seed + game)
        players = dict(zip(env.possible_agents, (first, second), strict=True))
        ply, total = 0, 0.0
        for name in env.agent_iter():
            obs, reward, term, trunc, _ = env.last()
            if name == env.possible_agents[0]:
                total += float(reward)
            if term or trunc:
                env.step(None)
                continue
            if ply < 2 * opening:
                action = int(rng.choice(np.flatnonzero(obs["action_mask"])))
            else:
                action = players[name](obs)
            env.step(action)
            ply += 1
        scores.append(1.0 if total > 0 else 0.5 if total == 0 else 0.0)
    env.close()
    return scores


def _row(scores: list[float]) -> dict[str, Any]:
    from marl.play import wilson_interval

    wins = sum(s == 1.0 for s in scores)
    lo, hi = wilson_interval(wins, len(scores))
    return {"games": len(scores), "wins": wins, "draws": sum(s == 0.5 for s in scores),
            "win_rate": wins / len(scores), "ci95": [lo, hi]}


def evaluate(run_dir: Path, games: int, opening: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for mode in ("greedy", "sampled"):
        _, me = agent_of(run_dir, greedy=mode == "greedy", seed=7)
        for opp in OPPONENTS:
            depth = 0 if opp == "random" else int(opp.removeprefix("alphabeta_d"))
            for seat in (0, 1):
                start = time.perf_counter()
                other = searcher(depth, np.random.default_rng(90_000 + 10 * depth + seat))
                seed = 50_000 + 1_000 * seat
                if seat == 0:
                    scores = play(me, other, games, opening, seed)
                else:
                    scores = [1.0 - s for s in play(other, me, games, opening, seed)]
                out[f"{mode}/{opp}/seat{seat}"] = {
                    **_row(scores), "eval_s": round(time.perf_counter() - start, 1)}
    return out


def head_to_head(league_run: Path, selfplay_run: Path, games: int, opening: int
                 ) -> dict[str, Any]:
    """The league's main agent vs the self-play agent, greedy, half the games on each seat."""
    _, a = agent_of(league_run, greedy=True, seed=11)
    _, b = agent_of(selfplay_run, greedy=True, seed=12)
    first = play(a, b, games // 2, opening, seed=70_000)
    second = [1.0 - s for s in play(b, a, games // 2, opening, seed=80_000)]
    return {"league_seat0": _row(first), "league_seat1": _row(second),
            "league_both": _row(first + second),
            "league_score": float(np.mean(first + second))}


def curves(run_dir: Path) -> dict[str, list[float]]:
    rows = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    module = "main_0" if any("train/main_0/entropy" in r for r in rows) else "shared"
    return {"env_steps": [r.get("perf/env_steps_total", 0.0) for r in rows],
            "entropy": [r.get(f"train/{module}/entropy", float("nan")) for r in rows],
            "main_train_share": [r.get("league/main_0/train_share", float("nan"))
                                 for r in rows],
            "ladder_unlocked": [r.get("league/ladder_unlocked", float("nan")) for r in rows]}


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    depths = [0, 1, 2, 4]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for ax, seat in zip(axes, (0, 1), strict=True):
        for kind, r in results.items():
            for mode, style in (("greedy", "-o"), ("sampled", ":x")):
                rates = [r["vs"][f"{mode}/{opp}/seat{seat}"]["win_rate"] for opp in OPPONENTS]
                ax.plot(depths, rates, style, label=f"{kind} ({mode})")
        ax.set_xticks(depths, ["random", "d1", "d2", "d4"])
        ax.set_title(f"seat {seat} ({'first' if seat == 0 else 'second'} to move)")
        ax.set_xlabel("opponent (alpha-beta depth)")
    axes[0].set_ylabel("win rate")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="training budget of each")
    parser.add_argument("--games", type=int, default=50, help="games per seat per opponent")
    parser.add_argument("--h2h", type=int, default=200, help="head-to-head games in total")
    parser.add_argument("--opening", type=int, default=2,
                        help="random plies per side at the start of every game")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override for both runs, e.g. --set seed=3")
    parser.add_argument("--league-set", action="append", default=[], metavar="KEY=VALUE",
                        help="override for the league run only, e.g. "
                             "--league-set league.num_main_exploiters=0")
    parser.add_argument("--run", action="append", default=[], metavar="KIND=RUN_DIR",
                        help="evaluate existing runs (league=..., selfplay=...) instead")
    parser.add_argument("--out", type=Path,
                        default=REPO / "benchmarks" / "results" / "league_vs_selfplay.json")
    args = parser.parse_args()
    os.environ.setdefault("WANDB_MODE", "disabled")
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.chdir(REPO)
    load = os.getloadavg()[0]
    runs = {k: Path(v) for k, v in (r.split("=", 1) for r in args.run)}
    for kind in ("league", "selfplay"):
        if kind not in runs:
            runs[kind] = train(kind, args.minutes, args.set, args.league_set)
    results: dict[str, Any] = {}
    for kind, run_dir in runs.items():
        meta = json.loads((run_dir / "checkpoints" / "latest").read_text())
        results[kind] = {"run": str(run_dir), "iterations": meta["iteration"],
                         "env_steps": meta["env_steps"], "curves": curves(run_dir),
                         "vs": evaluate(run_dir, args.games, args.opening)}
        if (run_dir / "checkpoints").is_dir() and kind == "league":
            from marl.league import League
            from marl.run import latest_checkpoint

            league = League.load(latest_checkpoint(run_dir)[0] / "league.json")
            results[kind]["league"] = {
                "size": len(league.players), "ladder": league.ladder,
                "row_shares": league.row_shares(), "main_split": league.row_split("main_0")}
    h2h = head_to_head(runs["league"], runs["selfplay"], args.h2h, args.opening)
    print(f"\nload before: {load:.2f}; {args.games} games per seat, {args.opening} random "
          f"opening plies per side; win rate (95% CI)")
    for kind, r in results.items():
        print(f"\n{kind}: {r['iterations']} iterations, {r['env_steps']:,} env steps")
        print(f"  {'opponent':<14}{'greedy seat 0':>20}{'greedy seat 1':>20}"
              f"{'sampled seat 0':>20}{'sampled seat 1':>20}")
        for opp in OPPONENTS:
            cells = []
            for mode in ("greedy", "sampled"):
                for seat in (0, 1):
                    v = r["vs"][f"{mode}/{opp}/seat{seat}"]
                    cells.append(f"{v['win_rate']:.2f} ({v['ci95'][0]:.2f}-{v['ci95'][1]:.2f})")
            print(f"  {opp:<14}" + "".join(f"{c:>20}" for c in cells))
        if "league" in r:
            print(f"  league: {r['league']}")
    print(f"\nhead to head (greedy, {args.h2h} games): league score "
          f"{h2h['league_score']:.3f}; league first seat {h2h['league_seat0']['win_rate']:.2f}, "
          f"second seat {h2h['league_seat1']['win_rate']:.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {"budget_minutes": args.minutes, "games_per_seat": args.games,
               "opening_plies": args.opening, "overrides": args.set,
               "league_overrides": args.league_set, "load_before": load,
               "results": results, "head_to_head": h2h}
    args.out.write_text(json.dumps(payload, indent=2, default=float))
    plot(results, args.out.with_suffix(".png"))
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
