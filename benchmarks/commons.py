"""Selfish vs inequity-averse agents on the commons: who keeps the apples alive longer?

How to run:
    .venv/bin/python benchmarks/commons.py [--env-steps 30000] [--seeds 0] [--episodes 20]

Expect: two trainings (experiments/commons_selfish.yaml, experiments/commons_shaped.yaml)
for the same env-step budget and seeds, one after the other in this process, then each
final policy plays ``--episodes`` evaluation episodes on the raw, unshaped env (sampled
actions, as in training; the same env seeds for both). Prints the four social metrics
(efficiency, equality, sustainability, peace) and apples left, from raw rewards, for
selfish, shaped and uniform-random play; writes benchmarks/results/commons.json and
benchmarks/results/commons.png (apples on the map over an episode, and the training
curves of rollout/social/*). Measured: 38 min for the default budget on 2 cores at load
average ~15-20; both policies empty the map within ~100 of 300 steps (docs/benchmarks.md).

The training curves come from the runs' metrics.jsonl (``rollout/social/*``, a mean
over the last 100 training episodes); the table comes from the evaluation episodes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
SPECS = {
    "selfish": ROOT / "experiments" / "commons_selfish.yaml",
    "shaped": ROOT / "experiments" / "commons_shaped.yaml",
}
METRICS = ("efficiency", "equality", "sustainability", "peace", "apples_left")
STORAGE = ROOT / "runs" / "benchmarks"


def _overrides(seed: int, env_steps: int, storage: Path) -> list[str]:
    return [f"seed={seed}", f"stop.env_steps={env_steps}", "stop.time_s=null",
            "stop.iterations=null", f"storage={storage}", "tracking.wandb.mode=disabled",
            "tracking.tensorboard=false", "evaluation.at_end=false"]


def _start_ray(spec: Any, attempts: int = 5) -> None:
    """Start the embedded Ray, retrying: Ray gives a raylet 30 s to register, which a
    busy shared machine can miss."""
    import ray

    from marl.rllib.trainer import init_ray

    for attempt in range(1, attempts + 1):
        try:
            init_ray(spec)
            return
        except Exception as err:  # ray raises a bare Exception on startup timeouts
            ray.shutdown()
            if attempt == attempts:
                raise
            print(f"Ray start failed ({err}); retrying", flush=True)
            time.sleep(10)


def train_all(seeds: list[int], env_steps: int) -> dict[str, dict[int, Path]]:
    """Train every (variant, seed) in this process, one after the other (one Ray start:
    on a loaded machine concurrent Ray starts time out); returns their run dirs."""
    from marl.experiment import resolve
    from marl.run import create_run_dir, train
    from marl.spec import load_spec

    stamp = time.strftime("%Y%m%d-%H%M%S")
    runs: dict[str, dict[int, Path]] = {name: {} for name in SPECS}
    for seed in seeds:
        for name, path in SPECS.items():
            storage = STORAGE / f"commons-{stamp}"
            overrides = _overrides(seed, env_steps, storage)
            print("$ marl train", path.relative_to(ROOT), *(f"--set {o}" for o in overrides),
                  flush=True)
            spec = load_spec(path, overrides)
            _start_ray(spec)
            run_dir = create_run_dir(spec)
            t0 = time.time()
            outcome = train(resolve(spec), run_dir, run_dir.name)
            print(f"{name} seed {seed}: {outcome.env_steps:,} env steps, "
                  f"{outcome.iteration} iterations, {(time.time() - t0) / 60:.1f} min", flush=True)
            runs[name][seed] = run_dir
    return runs


def evaluate(run_dir: Path | None, spec_path: Path, episodes: int, seed: int) -> dict[str, Any]:
    """Play the run's final policy (or uniform random) on the raw env; social metrics."""
    from envs.factory import make_spec_env
    from marl.policies import plan_policies
    from marl.rllib.inference import load_policies, random_policy
    from marl.run import latest_checkpoint
    from marl.spec import load_spec

    spec = load_spec(spec_path)
    env = make_spec_env({"id": spec.env.id, "config": dict(spec.env.config)})  # no shaping
    agents = list(env.possible_agents)
    n_act = int(env.action_space(agents[0]).n)
    if run_dir is None:
        act = random_policy(n_act, seed)
        policy_of = dict.fromkeys(agents, act)
    else:
        plan = plan_policies(spec.policies, agents)
        ckpt, _ = latest_checkpoint(run_dir)
        by_policy = load_policies(ckpt, plan, dict.fromkeys(plan.agents_of, n_act), False, seed)
        policy_of = {a: by_policy[plan.policy_of(a)] for a in agents}
    stats, apples = [], []
    for ep in range(episodes):
        obs, _ = env.reset(seed=10_000 + ep)
        curve = []
        while env.agents:
            actions = {}
            for a in env.agents:  # one forward per agent keeps the code plain; T*N is small
                actions[a] = int(policy_of[a]([obs[a]])[0])
            obs, _, _, _, _ = env.step(actions)
            curve.append(env.episode_stats()["apples_left"])
        stats.append(env.episode_stats())
        apples.append(curve)
    env.close()
    return {
        "mean": {k: float(np.mean([s[k] for s in stats])) for k in METRICS},
        "std": {k: float(np.std([s[k] for s in stats])) for k in METRICS},
        "raw_return_mean": float(np.mean([s["efficiency"] for s in stats])) * len(apples[0]),
        "apples_curve": np.mean(apples, axis=0).tolist(),
        "episodes": episodes,
    }


def read_curves(run_dir: Path) -> dict[str, list[float]]:
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    keys = ["perf/env_steps_total", "rollout/episode_return_mean", "rollout/social/raw_return",
            *(f"rollout/social/{k}" for k in METRICS)]
    return {k: [r.get(k, float("nan")) for r in rows] for k in keys}


def plot(out: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"selfish": "tab:red", "shaped": "tab:blue", "random": "tab:gray"}
    fig, axes = plt.subplots(2, 3, figsize=(14, 7.5))
    ax = axes[0, 0]
    for name, ev in out["evaluation"].items():
        for seed, r in ev.items():
            ax.plot(np.arange(1, len(r["apples_curve"]) + 1), r["apples_curve"],
                    color=colors[name], label=f"{name} (seed {seed})")
    ax.set(title="apples on the map (evaluation, mean over episodes)", xlabel="time step",
           ylabel="apples")
    ax.legend(fontsize=8)
    panels = ["efficiency", "equality", "sustainability", "peace", "apples_left"]
    for ax, key in zip(axes.ravel()[1:], panels):
        for name, runs in out["training_curves"].items():
            for seed, c in runs.items():
                ax.plot(c["perf/env_steps_total"], c[f"rollout/social/{key}"],
                        color=colors[name], label=f"{name} (seed {seed})")
        ax.set(title=f"rollout/social/{key} (training)", xlabel="env steps")
    axes[0, 1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env-steps", type=int, default=30_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--episodes", type=int, default=20, help="evaluation episodes per run")
    parser.add_argument("--runs", type=Path, nargs=2, metavar=("SELFISH", "SHAPED"),
                        help="skip training: evaluate these two run dirs (one seed)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))

    start = time.time()
    if args.runs:
        runs = {"selfish": {args.seeds[0]: args.runs[0]}, "shaped": {args.seeds[0]: args.runs[1]}}
    else:
        runs = train_all(args.seeds, args.env_steps)
    train_s = time.time() - start
    evaluation: dict[str, dict[int, Any]] = {"random": {}}
    for name, by_seed in runs.items():
        evaluation[name] = {s: evaluate(d, SPECS[name], args.episodes, s) for s, d in by_seed.items()}
    for seed in args.seeds:
        evaluation["random"][seed] = evaluate(None, SPECS["selfish"], args.episodes, seed)
    out = {
        "benchmark": "commons",
        "command": "python benchmarks/commons.py " + " ".join(sys.argv[1:]),
        "env_steps_per_run": args.env_steps,
        "seeds": args.seeds,
        "specs": {k: str(v.relative_to(ROOT)) for k, v in SPECS.items()},
        "runs": {k: {s: str(d) for s, d in v.items()} for k, v in runs.items()},
        "train_wall_s": train_s,
        "evaluation": evaluation,
        "training_curves": {k: {s: read_curves(d) for s, d in v.items()} for k, v in runs.items()},
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "load_avg_1m_at_end": os.getloadavg()[0]},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "commons.json").write_text(json.dumps(out, indent=1))
    plot(out, RESULTS / "commons.png")

    print(f"\n{'policy':8} {'seed':>4} " + " ".join(f"{k:>15}" for k in METRICS))
    for name, by_seed in evaluation.items():
        for seed, r in by_seed.items():
            cells = " ".join(f"{r['mean'][k]:9.2f} ±{r['std'][k]:5.1f}" for k in METRICS)
            print(f"{name:8} {seed:>4} {cells}")
    print(f"\n{args.episodes} evaluation episodes per row (raw rewards, sampled actions); "
          f"training {args.env_steps:,} env steps per run, {train_s / 60:.1f} min wall")
    print(f"wrote {RESULTS / 'commons.json'} and {RESULTS / 'commons.png'}")


if __name__ == "__main__":
    main()
