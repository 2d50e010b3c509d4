"""The standard families for a fixed wall-clock budget each: pistonball (20 agents,
pixels through a declared SuperSuit pipeline, cnn), multiwalker and waterworld
(continuous actions) and hanabi (2 players) when it is registered; then fresh episodes
with greedy and sampled actions beside uniform random (``marl eval``'s rows).

Each run is a minimal spec (``name``, ``seed``, ``env.id``, ``stop.time_s``, plus the
overrides below): the env's registry preset does the rest. Runs go one after the other
on the same machine; run it on an idle machine (``uptime`` load < 1.5) and report the
load with the figures. Prints a table, writes JSON and a PNG (team return vs env steps
and vs wall-clock, one line per env).

    .venv/bin/python benchmarks/learn_families.py --minutes 8
    .venv/bin/python benchmarks/learn_families.py --envs multiwalker --minutes 2 --episodes 10
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

# name -> (env id, spec overrides beyond the preset). Nothing here is tuned to a result.
FAMILIES: dict[str, tuple[str, dict[str, Any]]] = {
    "pistonball": ("cooperative/pistonball-v0", {}),
    "multiwalker": ("cooperative/multiwalker-v0", {}),
    "waterworld": ("cooperative/waterworld-v0", {}),
    "hanabi": ("cooperative/hanabi-v0", {"algorithm": {"name": "mappo"}}),
}


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def train_one(name: str, env_id: str, over: dict[str, Any], minutes: float, seed: int,
              storage: Path) -> Path:
    from marl.experiment import resolve
    from marl.rllib.trainer import init_ray
    from marl.run import create_run_dir, train
    from marl.spec import spec_from_dict

    spec = spec_from_dict(_merge({
        "name": f"learn_{name}", "seed": seed, "env": {"id": env_id},
        "stop": {"time_s": minutes * 60}, "evaluation": {"at_end": False},
        "storage": str(storage), "tracking": {"wandb": {"mode": "disabled"}},
        "checkpoint": {"every": 100}}, over))
    init_ray(spec)
    run_dir = create_run_dir(spec)
    print(f"[{name}] run {run_dir}", flush=True)
    train(resolve(spec), run_dir, run_dir.name)
    return run_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--envs", nargs="+", default=list(FAMILIES), choices=list(FAMILIES))
    parser.add_argument("--minutes", type=float, default=8.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--episodes", type=int, default=30)
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "learn_families"))
    args = parser.parse_args()
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("WANDB_MODE", "disabled")

    import ray

    from envs.registry import env_ids
    from marl.evaluate import evaluate_run
    from marl.runs import read_metrics
    from marl.tracking.plots import curve, plot_curves

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    results: dict[str, Any] = {"minutes": args.minutes, "seed": args.seed,
                               "episodes": args.episodes, "load_before": load, "envs": {}}
    series: dict[str, dict[str, Any]] = {"rollout/episode_return_mean": {}}
    print(f"load before: {load:.2f}", flush=True)
    for name in args.envs:
        env_id, over = FAMILIES[name]
        if env_id not in env_ids():
            print(f"[{name}] {env_id} is not registered here: skipped", flush=True)
            results["envs"][name] = {"skipped": f"{env_id} not registered"}
            continue
        t0 = time.perf_counter()
        run_dir = train_one(name, env_id, over, args.minutes, args.seed, out / "runs")
        wall = time.perf_counter() - t0
        rows = evaluate_run(run_dir, args.episodes)
        ray.shutdown()
        metrics = read_metrics(run_dir)
        by = {(r.pairing, r.actions if r.pairing != "random" else "-"):
              sum(r.team_returns.values()) / max(1, len(r.team_returns)) for r in rows}
        results["envs"][name] = {
            "env": env_id, "run_dir": str(run_dir), "train_wall_s": wall,
            "env_steps": metrics[-1].get("perf/env_steps_total") if metrics else 0,
            "iterations": len(metrics),
            "return_greedy": by.get(("trained", "greedy")),
            "return_sampled": by.get(("trained", "sampled")),
            "return_random": by.get(("random", "-")),
            "team_returns": [r.__dict__ for r in rows],
        }
        series["rollout/episode_return_mean"][name] = curve(metrics, "rollout/episode_return_mean")
        print(json.dumps({k: v for k, v in results["envs"][name].items()
                          if k != "team_returns"}), flush=True)
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str))
    if any(series["rollout/episode_return_mean"].values()):
        plot_curves(series, out / "curves.png")
    print(f"\n{'env':12} {'env steps':>10} {'greedy':>9} {'sampled':>9} {'random':>9}")
    for name, r in results["envs"].items():
        if "skipped" in r:
            print(f"{name:12} skipped: {r['skipped']}")
            continue
        print(f"{name:12} {r['env_steps'] or 0:>10,.0f} {r['return_greedy'] or 0:>9.2f} "
              f"{r['return_sampled'] or 0:>9.2f} {r['return_random'] or 0:>9.2f}")
    print(f"\nteam return per episode (mean over teams); JSON and PNG in {out}")


if __name__ == "__main__":
    main()
