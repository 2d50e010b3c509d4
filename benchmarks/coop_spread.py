"""IPPO vs MAPPO vs COMA on cooperative/spread (3 agents, 25-step episodes), same steps and
seeds.

How to run:
    .venv/bin/python benchmarks/coop_spread.py [--steps 200000] [--seeds 0 1 2]
        [--algorithms ippo mappo coma] [--out benchmarks/results/coop_spread.json] [--resume]

``--resume`` keeps the runs already in ``--out`` whose spec is the one this script builds
for the same algorithm and seed, and trains only the missing ones.

Expect: about 55 s per 60k-step run on 2 idle cores (measured; load from other
processes stretches it). Prints the mean episode return (sum over the 3 agents, RLlib's
``episode_return_mean``: mean over the last 100 training episodes) at fixed env-step
counts for each algorithm and seed, then the mean over seeds; writes the JSON (per-
iteration curves included, rewritten after every run) and a PNG of the learning curves
next to it.

All algorithms run through the normal spec -> builder path with identical settings;
the only difference is ``algorithm.name``: ippo's critic sees the agent's own
observation, mappo's the concatenated observations of all three agents plus the agent's
one-hot id; coma's critic is mappo's input plus the two teammates' one-hot actions and gives
Q(s, u_-i, a) for each of the agent's 5 actions, its advantage Q(s, u) - sum_a pi(a|o)
Q(s, (u_-i, a)) (``marl.rllib.learners.coma``). All use the MAPPO learner: running value
normalization, Huber value loss (delta 10), value clip 0.2, one parameter-shared actor,
separate 64x64 critic, and MAPPO's MPE settings where RLlib allows them (lr 7e-4, 10
epochs, no KL penalty).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "coop_spread.json"


def spec_for(algorithm: str, seed: int, steps: int) -> Any:
    from marl.spec import spec_from_dict

    return spec_from_dict({
        "name": f"coop_spread_{algorithm}",
        "seed": seed,
        "env": {"id": "cooperative/spread-v0", "config": {"N": 3, "max_cycles": 25}},
        "policies": {"mode": "shared", "model": {"hidden": [64, 64]}},
        "algorithm": {
            "name": algorithm, "lr": 7e-4, "gamma": 0.99, "lambda": 0.95,
            "clip_param": 0.2, "entropy_coeff": 0.01, "kl_coeff": 0.0, "grad_clip": 10.0,
            "vf_loss_coeff": 1.0, "train_batch_size": 2000, "minibatch_size": 2000,
            "num_epochs": 10,
        },
        "resources": {"num_env_runners": 0, "num_envs_per_env_runner": 16, "num_cpus": 2,
                      "sampler": "stock"},  # the figures in docs/benchmarks.md used it
        "stop": {"env_steps": steps},
        "tracking": {"wandb": {"mode": "disabled"}, "tensorboard": False},
    })


def run_one(algorithm: str, seed: int, steps: int) -> dict[str, Any]:
    """Train one algorithm/seed to ``steps`` env steps; the per-iteration curve."""
    from marl.rllib.trainer import RLlibTrainer

    trainer = RLlibTrainer.from_spec(spec_for(algorithm, seed, steps))
    curve: list[tuple[int, float]] = []
    start = time.perf_counter()
    try:
        while trainer.env_steps < steps:
            flat, _ = trainer.train()
            if "rollout/episode_return_mean" in flat:
                curve.append((trainer.env_steps, flat["rollout/episode_return_mean"]))
            print(f"  {algorithm} seed {seed}: {trainer.env_steps:>7,} steps  "
                  f"return {curve[-1][1] if curve else float('nan'):8.2f}", flush=True)
    finally:
        trainer.stop()
    return {"algorithm": algorithm, "seed": seed, "wall_s": time.perf_counter() - start,
            "spec": spec_for(algorithm, seed, steps).to_dict(), "curve": curve}


def return_at(curve: list[tuple[int, float]], step: int) -> float | None:
    """Return of the first iteration that reached ``step`` env steps."""
    return next((r for s, r in curve if s >= step), None)


def final_return(curve: list[tuple[int, float]], last: int = 5) -> float:
    """Mean over the last ``last`` iterations (10k env steps at 2,000 per iteration)."""
    return statistics.fmean(r for _, r in curve[-last:])


def summarize(runs: list[dict[str, Any]], checkpoints: list[int]) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for algorithm in dict.fromkeys(r["algorithm"] for r in runs):
        mine = [r for r in runs if r["algorithm"] == algorithm]
        at = {}
        for step in checkpoints:
            vals = [v for r in mine if (v := return_at(r["curve"], step)) is not None]
            at[str(step)] = ({"mean": statistics.fmean(vals), "per_seed": vals}
                             if vals else None)
        finals = [final_return(r["curve"]) for r in mine]
        table[algorithm] = {"at_steps": at, "final_mean": statistics.fmean(finals),
                            "final_std": statistics.pstdev(finals), "final_per_seed": finals,
                            "seeds": [r["seed"] for r in mine]}
    return table


def plot(runs: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(7, 4.2))
    colors = {"ippo": "tab:blue", "mappo": "tab:red", "coma": "tab:green"}
    for algorithm in dict.fromkeys(r["algorithm"] for r in runs):
        mine = [r for r in runs if r["algorithm"] == algorithm]
        for r in mine:
            s, v = zip(*r["curve"])
            ax.plot(s, v, color=colors.get(algorithm), alpha=0.25, lw=0.8)
        n = min(len(r["curve"]) for r in mine)
        steps = [s for s, _ in mine[0]["curve"][:n]]
        mean = np.mean([[r["curve"][i][1] for i in range(n)] for r in mine], axis=0)
        ax.plot(steps, mean, color=colors.get(algorithm), lw=2,
                label=f"{algorithm} (mean of {len(mine)} seeds)")
    ax.set_xlabel("env steps")
    ax.set_ylabel("episode return (sum over 3 agents)")
    ax.set_title("cooperative/spread-v0: " + " vs ".join(
        a.upper() for a in dict.fromkeys(r["algorithm"] for r in runs)))
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--algorithms", nargs="+", default=["ippo", "mappo", "coma"])
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--resume", action="store_true",
                        help="keep matching runs from --out and train only the missing ones")
    args = parser.parse_args()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import torch

    # Sampling and learning both run in this process (num_env_runners=0): one torch
    # thread, as RLlib's own env runners use; on a shared 2-core machine two threads
    # mostly wait on each other.
    torch.set_num_threads(1)
    os.environ.setdefault("WANDB_MODE", "disabled")
    checkpoints = [s for s in (25_000, 50_000, 100_000, 150_000, 200_000, 300_000)
                   if s <= args.steps]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    runs: list[dict[str, Any]] = []
    if args.resume and args.out.is_file():
        runs = [r for r in json.loads(args.out.read_text())["runs"]
                if r["algorithm"] in args.algorithms and r["seed"] in args.seeds
                and r.get("spec") == spec_for(r["algorithm"], r["seed"], args.steps).to_dict()]
    for seed in args.seeds:  # seeds outer, so a stopped benchmark holds both algorithms
        for algorithm in args.algorithms:
            if any(r["algorithm"] == algorithm and r["seed"] == seed for r in runs):
                print(f"{algorithm}, seed {seed}: kept from {args.out}", flush=True)
                continue
            print(f"{algorithm}, seed {seed}", flush=True)
            runs.append(run_one(algorithm, seed, args.steps))
            payload = {"env": "cooperative/spread-v0", "steps": args.steps,
                       "checkpoints": checkpoints, "machine": platform.platform(),
                       "cpus": os.cpu_count(), "summary": summarize(runs, checkpoints),
                       "runs": runs}
            args.out.write_text(json.dumps(payload, indent=1))
            plot(runs, args.out.with_suffix(".png"))
    summary = summarize(runs, checkpoints)
    header = (f"{'algorithm':<10}" + "".join(f"{s:>10,}" for s in checkpoints)
              + "   final (last 5 iters)")
    print("\nmean episode return over seeds " + str(args.seeds))
    print(header)
    for algorithm, row in summary.items():
        cells = "".join(f"{row['at_steps'][str(s)]['mean']:>10.2f}" if row["at_steps"][str(s)]
                        else f"{'-':>10}" for s in checkpoints)
        print(f"{algorithm:<10}{cells}   {row['final_mean']:.2f} +- {row['final_std']:.2f}")
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
