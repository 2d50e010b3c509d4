"""Constrained MAPPO (MAPPO-Lagrangian) on cooperative/spread with a collision budget:
unconstrained vs two budgets, same steps and seeds.

How to run:
    .venv/bin/python benchmarks/constrained_spread.py [--steps 200000] [--seeds 0 1 2]
        [--limits 0.3 0.2] [--lambda-lr 1.0] [--advantage center|standardize]
        [--algorithm mappo]
        [--out benchmarks/results/constrained_spread.json] [--resume]

``--resume`` keeps the runs already in ``--out`` whose spec is the one this script builds
for the same variant and seed, and trains only the missing ones.

Expect: about 2 minutes per run on 2 idle cores at 200k steps (measured), three variants
per seed. Prints, per variant, the mean episode return (sum over the 3
agents, RLlib's ``episode_return_mean``), the mean per-agent episode collision cost
(``rollout/cost/collisions``) and the multiplier (``train/shared/lambda_collisions``)
at fixed env-step counts and over the last 5 iterations, then writes the JSON
(per-iteration curves, rewritten after every run) and a PNG (return, cost with the
limits dashed, multiplier) next to it. Measured figures: docs/benchmarks.md.

What is compared: every variant trains with the constraint machinery on, so all three
measure the same cost the same way (``envs.wrappers.costs``: per agent and step, the
other agents it overlaps; spread's reward already charges -1 each). ``unconstrained``
has ``lambda_lr: 0`` (lambda stays 0: the combined advantage is A_r, plain MAPPO; only
its cost critic's gradients join the global gradient-norm clip); the budgets use
``limit: <d>``. A constraint that holds shows a cost curve falling to and staying near
its limit, with a lower return than the unconstrained run. Pick the limits below the
unconstrained run's cost (printed); random play costs ~0.6 a per agent and episode. And
above the floor (``cost_floor``, printed first): agents that start overlapping cannot
separate at once, so even a policy that only flees pays ~0.14 per agent and episode; a
budget below it cannot be held (the 0.1 budget of an earlier run levelled at ~0.2).
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

RESULTS = Path(__file__).resolve().parent / "results" / "constrained_spread.json"
RETURN, COST, LAMBDA = ("rollout/episode_return_mean", "rollout/cost/collisions",
                        "train/shared/lambda_collisions")


def variants(limits: list[float], advantage: str = "center"
             ) -> list[tuple[str, float | None, str]]:
    """(name, limit, cost advantage) per variant; ``None``: unconstrained (lambda stays
    0). Budgets with standardized cost advantages are named ``limit_<d>_std``."""
    suffix = "_std" if advantage == "standardize" else ""
    return [("unconstrained", None, "center"),
            *((f"limit_{d:g}{suffix}", d, advantage) for d in limits)]


def spec_for(limit: float | None, seed: int, steps: int, lambda_lr: float,
             algorithm: str, advantage: str = "center") -> Any:
    from marl.spec import spec_from_dict

    constraint = ({"cost": "collisions", "limit": 0.0, "lambda_lr": 0.0} if limit is None
                  else {"cost": "collisions", "limit": limit, "lambda_lr": lambda_lr,
                        "advantage": advantage})
    return spec_from_dict({
        "name": "constrained_spread",
        "seed": seed,
        "env": {"id": "cooperative/spread-v0", "config": {"N": 3, "max_cycles": 25}},
        "policies": {"mode": "shared", "model": {"hidden": [64, 64]}},
        "algorithm": {
            "name": algorithm, "lr": 7e-4, "gamma": 0.99, "lambda": 0.95,
            "clip_param": 0.2, "entropy_coeff": 0.01, "kl_coeff": 0.0, "grad_clip": 10.0,
            "vf_loss_coeff": 1.0, "train_batch_size": 2000, "minibatch_size": 2000,
            "num_epochs": 10, "constraints": [constraint],
        },
        "resources": {"num_env_runners": 0, "num_envs_per_env_runner": 16, "num_cpus": 2},
        "stop": {"env_steps": steps},
        "tracking": {"wandb": {"mode": "disabled"}, "tensorboard": False},
    })


def cost_floor(episodes: int = 500, seed: int = 10_000) -> dict[str, float]:
    """What no policy can avoid: agents that start overlapping stay overlapping for a
    step or two. Measures (a) the initial overlaps per agent (before any action) and (b)
    the episode cost of a scripted policy that only flees (each step, every agent moves
    away from its nearest agent along the larger axis), counted exactly as the training
    cost is (``envs.wrappers.costs.mpe_collisions`` after every step). A budget below
    (b) asks for less than fleeing alone achieves; one below (a) is infeasible."""
    import numpy as np
    from mpe2 import simple_spread_v3

    from envs.wrappers.costs import mpe_collisions

    env = simple_spread_v3.parallel_env(N=3, max_cycles=25, continuous_actions=False)
    start_total, flee_total, agent_episodes = 0.0, 0.0, 0
    for episode in range(episodes):
        env.reset(seed=seed + episode)
        raw = env.unwrapped
        start_total += sum(mpe_collisions(raw).values())
        while env.agents:
            actions = {}
            for agent in raw.world.agents:
                others = [b for b in raw.world.agents if b is not agent]
                away = agent.state.p_pos - min(
                    others, key=lambda b: float(np.linalg.norm(agent.state.p_pos - b.state.p_pos))
                ).state.p_pos
                axis = int(abs(away[1]) > abs(away[0]))  # 1 left, 2 right, 3 down, 4 up
                actions[agent.name] = 1 + 2 * axis + int(away[axis] > 0)
            env.step(actions)
            flee_total += sum(mpe_collisions(raw).values())
        agent_episodes += len(raw.world.agents)
    return {"episodes": episodes, "initial_overlaps_per_agent": start_total / agent_episodes,
            "flee_policy_cost_per_agent": flee_total / agent_episodes}


def run_one(name: str, limit: float | None, seed: int, steps: int, lambda_lr: float,
            algorithm: str, advantage: str = "center") -> dict[str, Any]:
    """Train one variant/seed to ``steps`` env steps; per-iteration curves."""
    from marl.rllib.trainer import RLlibTrainer

    spec = spec_for(limit, seed, steps, lambda_lr, algorithm, advantage)
    trainer = RLlibTrainer.from_spec(spec)
    curve: list[dict[str, float]] = []
    start = time.perf_counter()
    try:
        while trainer.env_steps < steps:
            flat, _ = trainer.train()
            if RETURN in flat and COST in flat:
                curve.append({"steps": trainer.env_steps, "return": flat[RETURN],
                              "cost": flat[COST], "lambda": flat.get(LAMBDA, 0.0)})
                last = curve[-1]
                print(f"  {name} seed {seed}: {trainer.env_steps:>7,} steps  return "
                      f"{last['return']:8.2f}  cost {last['cost']:6.3f}  "
                      f"lambda {last['lambda']:6.3f}", flush=True)
    finally:
        trainer.stop()
    return {"variant": name, "limit": limit, "advantage": advantage, "seed": seed,
            "wall_s": time.perf_counter() - start, "spec": spec.to_dict(), "curve": curve}


def at_step(curve: list[dict[str, float]], step: int, key: str) -> float | None:
    """``key`` of the first iteration that reached ``step`` env steps."""
    return next((row[key] for row in curve if row["steps"] >= step), None)


def final(curve: list[dict[str, float]], key: str, last: int = 5) -> float:
    return statistics.fmean(row[key] for row in curve[-last:])


def summarize(runs: list[dict[str, Any]], checkpoints: list[int]) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for name in dict.fromkeys(r["variant"] for r in runs):
        mine = [r for r in runs if r["variant"] == name]
        row: dict[str, Any] = {"limit": mine[0]["limit"], "seeds": [r["seed"] for r in mine]}
        for key in ("return", "cost", "lambda"):
            at = {}
            for step in checkpoints:
                vals = [v for r in mine if (v := at_step(r["curve"], step, key)) is not None]
                at[str(step)] = statistics.fmean(vals) if vals else None
            finals = [final(r["curve"], key) for r in mine if r["curve"]]
            row[key] = {"at_steps": at, "final_mean": statistics.fmean(finals) if finals else None,
                        "final_per_seed": finals}
        table[name] = row
    return table


def plot(runs: list[dict[str, Any]], path: Path, floor: dict[str, float]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    names = list(dict.fromkeys(r["variant"] for r in runs))
    colors = dict(zip(names, ["tab:gray", "tab:blue", "tab:red", "tab:green", "tab:purple"]))
    for name in names:
        mine = [r for r in runs if r["variant"] == name and r["curve"]]
        if not mine:
            continue
        n = min(len(r["curve"]) for r in mine)
        steps = [row["steps"] for row in mine[0]["curve"][:n]]
        for ax, key in zip(axes, ("return", "cost", "lambda")):
            for r in mine:
                ax.plot([row["steps"] for row in r["curve"]], [row[key] for row in r["curve"]],
                        color=colors[name], alpha=0.25, lw=0.8)
            mean = np.mean([[r["curve"][i][key] for i in range(n)] for r in mine], axis=0)
            ax.plot(steps, mean, color=colors[name], lw=2, label=f"{name} ({len(mine)} seeds)")
        if mine[0]["limit"] is not None:
            axes[1].axhline(mine[0]["limit"], color=colors[name], ls="--", lw=1)
    axes[1].axhline(floor["flee_policy_cost_per_agent"], color="black", ls=":", lw=1,
                    label="flee-only policy")
    axes[1].legend()
    for ax, label in zip(axes, ("episode return (sum over 3 agents)",
                                "collisions per agent and episode (limit dashed)",
                                "lambda_collisions")):
        ax.set_xlabel("env steps")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.suptitle("cooperative/spread-v0: MAPPO-Lagrangian, collision budget")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--limits", type=float, nargs="+", default=[0.3, 0.2])
    parser.add_argument("--lambda-lr", type=float, default=1.0)
    parser.add_argument("--advantage", choices=["center", "standardize"], default="center",
                        help="the budgets' cost advantage (algorithm.constraints[].advantage)")
    parser.add_argument("--algorithm", choices=["ppo", "ippo", "mappo"], default="mappo")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--resume", action="store_true",
                        help="keep matching runs from --out and train only the missing ones")
    args = parser.parse_args()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("WANDB_MODE", "disabled")
    import torch

    torch.set_num_threads(1)  # sampling and learning share this process (0 env runners)
    checkpoints = [s for s in (25_000, 50_000, 100_000, 150_000, 200_000, 300_000)
                   if s <= args.steps]
    args.out.parent.mkdir(parents=True, exist_ok=True)

    from marl.spec import spec_from_dict

    def spec_of(limit: float | None, seed: int, advantage: str) -> dict[str, Any]:
        return spec_for(limit, seed, args.steps, args.lambda_lr, args.algorithm,
                        advantage).to_dict()

    def same_spec(run: dict[str, Any]) -> bool:  # stored specs re-read: new fields defaulted
        return (spec_from_dict(run["spec"]).to_dict()
                == spec_of(run["limit"], run["seed"], run.get("advantage", "center")))

    floor = cost_floor()
    print(f"cost floor ({floor['episodes']} episodes): initial overlaps "
          f"{floor['initial_overlaps_per_agent']:.3f} per agent, a flee-only policy "
          f"{floor['flee_policy_cost_per_agent']:.3f} per agent and episode", flush=True)
    runs: list[dict[str, Any]] = []
    if args.resume and args.out.is_file():
        runs = [r for r in json.loads(args.out.read_text())["runs"]
                if r["seed"] in args.seeds and "spec" in r and same_spec(r)]
    for seed in args.seeds:
        for name, limit, advantage in variants(args.limits, args.advantage):
            if any(r["variant"] == name and r["seed"] == seed for r in runs):
                print(f"{name}, seed {seed}: kept from {args.out}", flush=True)
                continue
            print(f"{name}, seed {seed}", flush=True)
            runs.append(run_one(name, limit, seed, args.steps, args.lambda_lr, args.algorithm,
                                advantage))
            payload = {"env": "cooperative/spread-v0", "steps": args.steps,
                       "algorithm": args.algorithm, "lambda_lr": args.lambda_lr,
                       "checkpoints": checkpoints, "machine": platform.platform(),
                       "cpus": os.cpu_count(), "cost_floor": floor,
                       "summary": summarize(runs, checkpoints),
                       "runs": runs}
            args.out.write_text(json.dumps(payload, indent=1))
            plot(runs, args.out.with_suffix(".png"), floor)
    summary = summarize(runs, checkpoints)
    print(f"\nmeans over seeds {args.seeds} (final: last 5 iterations)")
    for key in ("return", "cost", "lambda"):
        print(f"\n{key}\n{'variant':<16}" + "".join(f"{s:>10,}" for s in checkpoints)
              + "     final")
        for name, row in summary.items():
            cells = "".join(f"{v:>10.3f}" if (v := row[key]["at_steps"][str(s)]) is not None
                            else f"{'-':>10}" for s in checkpoints)
            fm = row[key]["final_mean"]
            print(f"{name:<16}{cells}{fm:>10.3f}" if fm is not None else f"{name:<16}{cells}")
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
