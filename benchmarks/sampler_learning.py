"""Does the lean sampler change learning? Mean return vs env steps and vs wall-clock,
stock and lean samplers, same seeds, same learning settings.

Spread (shared policy, return summed over agents) and connect four against the masked
uniform-random policy (the learner plays first; return = wins - losses per game). All
setups of one env and seed are alive at once and trained in turns, one iteration each,
so load from other processes hits them alike. A setup's wall-clock is the sum of its own
iterations; for the overlapping sampler that includes waiting, after its iteration, for
the batch it samples in the background (so nothing it does is left uncounted).

    .venv/bin/python benchmarks/sampler_learning.py                      # both envs
    .venv/bin/python benchmarks/sampler_learning.py --env cooperative/spread-v0 \\
        --setup stock-local --setup lean-local --seeds 0 1 2 \\
        --out benchmarks/results/sampler_learning_spread_same_layout.json
    .venv/bin/python benchmarks/sampler_learning.py --env cooperative/spread-v0 \\
        --setup stock-local --setup lean-local --seeds 0 1 2 \\
        --learning-from experiments/mappo_spread.yaml --out FILE.json   # tuned MAPPO
    .venv/bin/python benchmarks/sampler_learning.py --summary FILE.json   # table + FILE.png

Writes ``benchmarks/results/sampler_learning.json`` (``--out``): per env, setup and seed,
one row per iteration (env steps, own wall-clock seconds, mean return); and a plot of the
mean over seeds vs env steps and vs wall-clock beside it (``.png``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ENVS: dict[str, dict[str, Any]] = {
    "cooperative/spread-v0": {"policies": {"mode": "shared"},
                              "metric": "rollout/episode_return_mean"},
    "competitive/connect_four-v0": {
        "policies": {"mode": "groups", "groups": {"player_0": "main", "player_1": "opponent"},
                     "frozen": {"opponent": "random"}},
        "metric": "rollout/main/episode_return_mean"},
}
FIXED = {"algorithm": {"train_batch_size": 2000, "minibatch_size": 256, "num_epochs": 5}}
SETUPS: dict[str, dict[str, Any]] = {
    "stock-best": {"sampler": "stock", "num_env_runners": 2, "num_cpus_per_env_runner": 0.5},
    # Same env layout as lean-local (one sampling process, registry envs): only the
    # sampler differs.
    "stock-local": {"sampler": "stock", "num_env_runners": 0},
    "lean-local": {"sampler": "lean", "num_env_runners": 0},
    "lean-overlap": {"sampler": "lean", "overlap": True, "num_env_runners": 1,
                     "num_cpus_per_env_runner": 0.5},
}


def make_trainer(env_id: str, setup: dict[str, Any], seed: int,
                 learning: dict[str, Any] | None = None):
    """``learning``: ``algorithm`` and ``model`` taken from a spec (``--learning-from``)
    in place of the fixed settings."""
    from marl.rllib.trainer import RLlibTrainer
    from marl.spec import spec_from_dict

    learning = learning or {"algorithm": FIXED["algorithm"], "model": {"hidden": [256, 256]}}
    policies = {**ENVS[env_id]["policies"], "model": learning["model"]}
    return RLlibTrainer.from_spec(spec_from_dict({
        "name": "sampler-learning", "seed": seed, "env": {"id": env_id},
        "algorithm": learning["algorithm"],
        "policies": policies, "resources": {**setup, "num_cpus": 16},
        "tracking": {"wandb": {"mode": "disabled"}, "tensorboard": False}}))


def learning_from(path: str) -> dict[str, Any]:
    """The ``algorithm`` section and ``policies.model`` of the spec at ``path``."""
    import yaml

    data = yaml.safe_load(Path(path).read_text())
    return {"algorithm": data["algorithm"], "model": data.get("policies", {}).get("model", {})}


def run_env(env_id: str, setups: list[str], seeds: list[int], iterations: int,
            learning: dict[str, Any] | None = None) -> list[dict]:
    from marl.rllib.perf import settle_env_runners

    metric = ENVS[env_id]["metric"]
    rows = []
    for seed in seeds:
        trainers = {name: make_trainer(env_id, SETUPS[name], seed, learning)
                    for name in setups}
        curves: dict[str, list[dict]] = {name: [] for name in setups}
        wall = dict.fromkeys(setups, 0.0)
        try:
            for it in range(iterations):
                for name, trainer in trainers.items():
                    start = time.perf_counter()
                    metrics, _ = trainer.train()
                    settle_env_runners(trainer.algo)  # overlap: its next batch, counted
                    wall[name] += time.perf_counter() - start
                    curves[name].append({"iteration": it + 1, "env_steps": trainer.env_steps,
                                         "wall_s": round(wall[name], 3),
                                         "return": metrics.get(metric)})
                print(f"  seed {seed} it {it + 1}: " + "  ".join(
                    f"{n} {c[-1]['return']:.2f}@{c[-1]['wall_s']:.0f}s" for n, c in curves.items()
                    if c[-1]["return"] is not None) + f"  load {os.getloadavg()[0]:.1f}",
                    flush=True)
        finally:
            for trainer in trainers.values():
                trainer.stop()
        rows += [{"env": env_id, "setup": n, "seed": seed, "metric": metric, "curve": c}
                 for n, c in curves.items()]
    return rows


def _mean_return(points: list[dict]) -> float:
    return statistics.mean(p["return"] for p in points)


def summary(rows: list[dict], last: int = 5) -> list[str]:
    """Per env and setup (means over seeds): return of the last ``last`` iterations, env
    steps and own wall-clock at the end; and the return (last ``last`` iterations up to
    then) at the wall-clock where the fastest setup of the same seed finished."""
    lines = []
    for env_id in dict.fromkeys(r["env"] for r in rows):
        runs = [r for r in rows if r["env"] == env_id]
        # Per seed: the wall-clock at which the fastest setup finished.
        budget = {seed: min(r["curve"][-1]["wall_s"] for r in runs if r["seed"] == seed)
                  for seed in {r["seed"] for r in runs}}
        for setup in dict.fromkeys(r["setup"] for r in runs):
            mine = [r for r in runs if r["setup"] == setup]
            finals = [_mean_return(r["curve"][-last:]) for r in mine]
            timed = []
            for r in mine:
                upto = [p for p in r["curve"] if p["wall_s"] <= budget[r["seed"]] + 1e-9]
                timed.append((_mean_return(upto[-last:]), upto[-1]["env_steps"]))
            lines.append(
                f"{env_id:28s} {setup:12s} end: return {statistics.mean(finals):8.3f} "
                f"(seeds {', '.join(f'{f:.3f}' for f in finals)}), "
                f"{statistics.mean(r['curve'][-1]['env_steps'] for r in mine):,.0f} steps, "
                f"{statistics.mean(r['curve'][-1]['wall_s'] for r in mine):,.0f} s | "
                f"at the fastest setup's wall-clock "
                f"({statistics.mean(budget[r['seed']] for r in mine):,.0f} s): return "
                f"{statistics.mean(t[0] for t in timed):8.3f}, "
                f"{statistics.mean(t[1] for t in timed):,.0f} steps")
    return lines


def plot(rows: list[dict], png: Path) -> None:
    """Mean return over seeds vs env steps (left) and vs own wall-clock (right), per env."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    envs = list(dict.fromkeys(r["env"] for r in rows))
    fig, axes = plt.subplots(len(envs), 2, figsize=(11, 3.6 * len(envs)), squeeze=False)
    for row_axes, env_id in zip(axes, envs, strict=True):
        runs = [r for r in rows if r["env"] == env_id]
        for setup in dict.fromkeys(r["setup"] for r in runs):
            mine = [r["curve"] for r in runs if r["setup"] == setup]
            n = min(len(c) for c in mine)
            mean = [statistics.mean(c[i]["return"] for c in mine) for i in range(n)]
            for ax, x_key in zip(row_axes, ("env_steps", "wall_s"), strict=True):
                x = [statistics.mean(c[i][x_key] for c in mine) for i in range(n)]
                ax.plot(x, mean, label=f"{setup} ({len(mine)} seeds)")
        for ax, label in zip(row_axes, ("env steps", "own wall-clock (s)"), strict=True):
            ax.set_xlabel(label)
            ax.set_ylabel(ENVS[env_id]["metric"].split("/", 1)[1])
            ax.set_title(env_id)
            ax.grid(alpha=0.3)
        row_axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=90)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--summary":  # re-print (and plot) a JSON file
        path = Path(sys.argv[2] if len(sys.argv) > 2
                    else "benchmarks/results/sampler_learning.json")
        rows = json.loads(path.read_text())
        print("\n".join(summary(rows)))
        plot(rows, path.with_suffix(".png"))
        print(f"wrote {path.with_suffix('.png')}")
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", action="append", choices=sorted(ENVS))
    parser.add_argument("--setup", action="append", choices=sorted(SETUPS),
                        help="repeatable; default: stock-best, lean-local, lean-overlap")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--learning-from", metavar="SPEC",
                        help="take algorithm and policies.model from this spec (e.g. "
                             "experiments/mappo_spread.yaml) instead of the fixed settings")
    parser.add_argument("--out", default="benchmarks/results/sampler_learning.json")
    args = parser.parse_args()
    learning = learning_from(args.learning_from) if args.learning_from else None
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import torch

    torch.set_num_threads(1)  # as benchmarks/throughput.py: one learner thread for all
    rows = []
    for env_id in args.env or ENVS:
        print(f"{env_id} (load {os.getloadavg()})", flush=True)
        setups = args.setup or ["stock-best", "lean-local", "lean-overlap"]
        rows += run_env(env_id, setups, args.seeds, args.iterations, learning)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(out.read_text()) if out.exists() else []
    keys = {(r["env"], r["setup"], r["seed"]) for r in rows}
    previous = [r for r in previous if (r["env"], r["setup"], r["seed"]) not in keys]
    out.write_text(json.dumps(previous + rows, indent=1))
    print("\n".join(summary(rows)))
    plot(previous + rows, out.with_suffix(".png"))
    print(f"wrote {out} and {out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
