"""ippo and mappo on MPE spread for a fixed wall-clock budget, several seeds, then 200
fresh episodes with greedy and with sampled actions, beside uniform random and a
scripted oracle (agents assigned to landmarks, then steered to them). The textbook
baselines ``reinforce`` and ``dqn`` (``--algorithms reinforce dqn``) are reference rows:
what PPO's clipped, multi-epoch updates and MAPPO's critic buy over them (a dqn policy
always acts greedily, so its "sampled" row is its greedy play).

Each run is a minimal spec (``name``, ``seed``, ``env.id``, ``algorithm.name``,
``stop.time_s``): the env's preset (MAPPO's MPE recipe) and the defaults do the rest.
Runs go one after the other on the same machine. Prints a table and writes JSON and a
PNG (team return vs env steps and vs wall-clock, one line per run).

    .venv/bin/python benchmarks/learn_spread.py --minutes 15 --seeds 0 1 2
    .venv/bin/python benchmarks/learn_spread.py --algorithms mappo --minutes 3 --seeds 0
    .venv/bin/python benchmarks/learn_spread.py --algorithms ippo mappo reinforce dqn
    .venv/bin/python benchmarks/learn_spread.py --baselines-only
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
ENV = {"id": "cooperative/spread-v0", "config": {"N": 3, "max_cycles": 25}}
EVAL_SEED = 900_000  # fresh episodes: no training run uses these env seeds


def train_one(algorithm: str, seed: int, minutes: float | None, storage: Path,
              overrides: dict[str, Any] | None = None, steps: int | None = None,
              name: str | None = None) -> Path:
    """One run of the minimal spec, stopped after ``minutes`` (or ``steps`` env steps);
    ``overrides`` are merged into its top-level sections (``benchmarks/ablation_spread.py``)."""
    from marl.experiment import resolve
    from marl.rllib.trainer import init_ray
    from marl.run import create_run_dir, train
    from marl.spec import spec_from_dict

    stop = {"env_steps": steps} if steps is not None else {"time_s": (minutes or 0) * 60}
    data: dict[str, Any] = {
        "name": f"learn_spread_{name or algorithm}", "seed": seed, "env": ENV,
        "algorithm": {"name": algorithm}, "stop": stop,
        "evaluation": {"at_end": False}, "storage": str(storage),
        "tracking": {"wandb": {"mode": "disabled"}}, "checkpoint": {"every": 100}}
    for key, value in (overrides or {}).items():
        data[key] = {**data.get(key, {}), **value}
    spec = spec_from_dict(data)
    init_ray(spec)
    run_dir = create_run_dir(spec)
    print(f"[{name or algorithm} seed {seed}] run {run_dir}", flush=True)
    train(resolve(spec), run_dir, run_dir.name)
    return run_dir


def team_returns(policy_of: dict[str, Any], episodes: int) -> list[float]:
    from marl.play import play_episodes

    config = {**ENV, "preprocess": "none"}
    return [sum(r.values()) for r in play_episodes(config, policy_of, episodes, EVAL_SEED)]


def evaluate_run(run_dir: Path, episodes: int) -> dict[str, float]:
    from marl.evaluate import run_experiment
    from marl.rllib.inference import load_policies
    from marl.run import latest_checkpoint

    exp = run_experiment(run_dir)
    ckpt, _ = latest_checkpoint(run_dir)
    out = {}
    for mode in ("greedy", "sampled"):
        by_policy = load_policies(ckpt, exp.plan,
                                  {p: exp.num_actions(a[0]) for p, a in exp.plan.agents_of.items()},
                                  greedy=mode == "greedy", seed=3)
        returns = team_returns({a: by_policy[exp.plan.policy_of(a)] for a in exp.agents},
                               episodes)
        out[mode] = float(np.mean(returns))
    return out


def oracle_policy(n: int = 3) -> Any:
    """Every agent solves the same agent-landmark assignment from its own observation
    (min total distance, ``scipy.optimize.linear_sum_assignment``) and steers to its
    landmark with a damped pick (target - 0.3 velocity; the gain of 0.15-0.3 scored best
    of 0-1.5) of the discrete action (0 stay, 1 left, 2 right,
    3 down, 4 up)."""
    from scipy.optimize import linear_sum_assignment

    def act(observations: list[np.ndarray]) -> np.ndarray:
        actions = []
        for obs in observations:
            vel = obs[0:2]
            landmarks = obs[4:4 + 2 * n].reshape(n, 2)  # relative to me
            others = obs[4 + 2 * n:4 + 2 * n + 2 * (n - 1)].reshape(n - 1, 2)
            agents = np.vstack([np.zeros(2), others])  # me first
            cost = np.linalg.norm(agents[:, None, :] - landmarks[None, :, :], axis=-1)
            rows, cols = linear_sum_assignment(cost)
            target = landmarks[cols[list(rows).index(0)]]
            want = target - 0.3 * vel
            if np.abs(want).max() < 0.02:
                actions.append(0)
            elif abs(want[0]) > abs(want[1]):
                actions.append(2 if want[0] > 0 else 1)
            else:
                actions.append(4 if want[1] > 0 else 3)
        return np.asarray(actions)

    return act


def baselines(episodes: int) -> dict[str, float]:
    from marl.rllib.inference import random_policy

    agents = [f"agent_{i}" for i in range(3)]
    rand = {a: random_policy(5, seed=i) for i, a in enumerate(agents)}
    oracle = oracle_policy()
    return {"random": float(np.mean(team_returns(rand, episodes))),
            "oracle": float(np.mean(team_returns(dict.fromkeys(agents, oracle), episodes)))}


def curve(run_dir: Path) -> dict[str, list[float]]:
    rows = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    wall = np.cumsum([r.get("perf/iter_time_s", 0.0) for r in rows]).tolist()
    return {"env_steps": [r.get("perf/env_steps_total", 0.0) for r in rows], "wall_s": wall,
            "return": [r.get("rollout/episode_return_mean", float("nan")) for r in rows]}


def plot(runs: list[dict[str, Any]], base: dict[str, float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    colours = {"ippo": "tab:orange", "mappo": "tab:blue", "reinforce": "tab:green",
               "dqn": "tab:red"}
    for run in runs:
        c = run["curve"]
        label = f"{run['algorithm']} seed {run['seed']}"
        axes[0].plot(np.asarray(c["env_steps"]) / 1e6, c["return"], color=colours.get(
            run["algorithm"]), alpha=0.8, label=label)
        axes[1].plot(np.asarray(c["wall_s"]) / 60, c["return"], color=colours.get(
            run["algorithm"]), alpha=0.8)
    for ax, xlabel in zip(axes, ("env steps (M)", "training wall-clock (min)"), strict=True):
        for name, value in base.items():
            ax.axhline(value, ls="--", color="grey")
            ax.text(ax.get_xlim()[0], value, f" {name}", va="bottom", color="grey")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("team return (training episodes)")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--algorithms", nargs="+", default=["ippo", "mappo", "reinforce", "dqn"],
                        choices=["ppo", "ippo", "mappo", "reinforce", "dqn"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--baselines-only", action="store_true")
    parser.add_argument("--out", type=Path,
                        default=REPO / "benchmarks" / "results" / "learn_spread.json")
    args = parser.parse_args()
    os.environ.setdefault("WANDB_MODE", "disabled")
    os.chdir(REPO)
    load = os.getloadavg()[0]
    base = baselines(args.episodes)
    print(f"load before: {load:.2f}; {args.episodes} fresh episodes: random "
          f"{base['random']:.1f}, oracle {base['oracle']:.1f}", flush=True)
    runs: list[dict[str, Any]] = []
    if not args.baselines_only:
        for algorithm in args.algorithms:
            for seed in args.seeds:
                run_dir = train_one(algorithm, seed, args.minutes, REPO / "runs" / "bench")
                meta = json.loads((run_dir / "checkpoints" / "latest").read_text())
                runs.append({"algorithm": algorithm, "seed": seed, "run": str(run_dir),
                             "env_steps": meta["env_steps"], "curve": curve(run_dir),
                             **evaluate_run(run_dir, args.episodes)})
                print(f"  {algorithm} seed {seed}: {meta['env_steps']:,} env steps, greedy "
                      f"{runs[-1]['greedy']:.1f}, sampled {runs[-1]['sampled']:.1f}", flush=True)
    summary = {}
    for algorithm in args.algorithms:
        mine = [r for r in runs if r["algorithm"] == algorithm]
        if mine:
            summary[algorithm] = {m: {"mean": statistics.mean(r[m] for r in mine),
                                      "per_seed": [r[m] for r in mine]}
                                  for m in ("greedy", "sampled")}
            print(f"{algorithm}: greedy {summary[algorithm]['greedy']['mean']:.1f} "
                  f"(seeds {[round(x, 1) for x in summary[algorithm]['greedy']['per_seed']]}), "
                  f"sampled {summary[algorithm]['sampled']['mean']:.1f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"minutes": args.minutes, "episodes": args.episodes,
                                    "load_before": load, "baselines": base,
                                    "summary": summary, "runs": runs}, indent=2))
    if runs:
        plot(runs, base, args.out.with_suffix(".png"))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
