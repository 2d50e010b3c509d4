"""Env steps/s with 1, 2 and 4 env runners, one per simulated node, on this machine.

Starts a local multi-node Ray (``marl.localcluster``): a head with 0 CPUs and 4 worker
nodes with 1 CPU each, so each env runner (1 CPU) lands on its own node, as on a real
cluster with one runner per machine. For each runner count it builds the spec's PPO,
warms up one iteration, then measures

- **sampling**: every runner samples ``--sample-steps`` env steps at once (the policy
  forward included, no learning): aggregate env steps/s and its ratio to linear,
  ``rate(n) / (n * rate(1))``;
- **training**: ``--iters`` full PPO iterations (sample -> learn -> sync): env steps/s.

Writes JSON (``--out``, default ``benchmarks/results/scaling.json``) with the machine's
cores and load average, since nodes here share the same cores: on a 2-core machine
sampling cannot scale past 2 runners, and what it shows beyond is contention. See
``docs/scaling.md`` for what to expect on a real cluster.

Run: ``python benchmarks/scaling.py [--env competitive/connect_four-v0] [--runners 1 2 4]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _spec(env_id: str, runners: int, envs_per_runner: int, batch: int) -> Any:
    from marl.spec import spec_from_dict

    return spec_from_dict({
        "name": "scaling", "seed": 0, "env": {"id": env_id},
        "policies": {"mode": "shared", "model": {"hidden": [64, 64]}},
        "algorithm": {"train_batch_size": batch, "minibatch_size": min(256, batch),
                      "num_epochs": 1},
        "resources": {"num_env_runners": runners, "num_envs_per_env_runner": envs_per_runner,
                      "num_cpus_per_env_runner": 1},
        "stop": {"iterations": 1},
        "tracking": {"wandb": {"mode": "disabled"}, "tensorboard": False},
    })


def _sample(env_runner: Any, steps: int) -> int:
    episodes = env_runner.sample(num_timesteps=steps)
    return int(sum(len(e) for e in episodes))


def measure(env_id: str, runners: int, envs_per_runner: int, batch: int, sample_steps: int,
            iters: int, repeats: int) -> dict[str, Any]:
    from marl.experiment import resolve
    from marl.rllib.builder import build_config
    from marl.rllib.callbacks.cluster import placement
    from marl.rllib.env.creator import register

    register()
    config = build_config(resolve(_spec(env_id, runners, envs_per_runner, batch)))
    algo = config.build_algo()
    try:
        nodes = {r["node_id"] for r in placement(algo)["env_runners"]}
        algo.train()  # warm-up: actors built, weights synced, first episodes running
        start = time.perf_counter()
        trained = sum(int(algo.train()["env_runners"]["num_env_steps_sampled"])
                      for _ in range(iters))
        train_s = time.perf_counter() - start
        group = algo.env_runner_group
        group.foreach_env_runner(lambda er: _sample(er, sample_steps // 4), local_env_runner=False)
        rates = []
        for _ in range(repeats):  # median of repeats: the cores are shared, runs are noisy
            start = time.perf_counter()
            counts = group.foreach_env_runner(lambda er: _sample(er, sample_steps),
                                              local_env_runner=False)
            rates.append(sum(counts) / (time.perf_counter() - start))
    finally:
        algo.stop()
    return {"env_runners": runners, "nodes_used": len(nodes),
            "sample_env_steps_per_repeat": int(sum(counts)),
            "sample_steps_per_s": round(statistics.median(rates), 1),
            "sample_steps_per_s_repeats": [round(r, 1) for r in rates],
            "train_env_steps": int(trained), "train_s": round(train_s, 3),
            "train_steps_per_s": round(trained / train_s, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="competitive/connect_four-v0")
    parser.add_argument("--runners", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--envs-per-runner", type=int, default=16)
    parser.add_argument("--sample-steps", type=int, default=4000,
                        help="env steps each runner samples in the sampling measurement")
    parser.add_argument("--batch", type=int, default=2000, help="train_batch_size")
    parser.add_argument("--iters", type=int, default=3, help="timed training iterations")
    parser.add_argument("--repeats", type=int, default=3, help="sampling measurements (median)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/scaling.json")
    args = parser.parse_args()

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    from marl.localcluster import LocalCluster

    load_before = os.getloadavg()
    results = []
    with LocalCluster(max_nodes=1 + max(args.runners)) as cluster:
        cluster.start_head(num_cpus=0)
        for i in range(max(args.runners)):
            cluster.add_worker(f"w{i + 1}", num_cpus=1)
        ray.init(address=cluster.gcs_address, logging_level="ERROR")
        try:
            for n in args.runners:
                row = measure(args.env, n, args.envs_per_runner, args.batch, args.sample_steps,
                              args.iters, args.repeats)
                results.append(row)
                print(json.dumps(row), flush=True)
        finally:
            ray.shutdown()
    base = next((r for r in results if r["env_runners"] == 1), None)
    for r in results:
        if base:
            r["sample_ratio_to_linear"] = round(
                r["sample_steps_per_s"] / (r["env_runners"] * base["sample_steps_per_s"]), 3)
            r["train_ratio_to_linear"] = round(
                r["train_steps_per_s"] / (r["env_runners"] * base["train_steps_per_s"]), 3)
    report = {
        "benchmark": "scaling", "env": args.env, "command": " ".join(sys.argv),
        "machine": {"cores": os.cpu_count(), "platform": platform.platform(),
                    "loadavg_before": [round(x, 2) for x in load_before],
                    "loadavg_after": [round(x, 2) for x in os.getloadavg()]},
        "settings": {"envs_per_runner": args.envs_per_runner, "cpus_per_runner": 1,
                     "nodes": "head (0 CPU) + one 1-CPU worker node per runner",
                     "train_batch_size": args.batch, "sample_steps_per_runner": args.sample_steps,
                     "timed_iterations": args.iters, "sampling_repeats": args.repeats,
                     "model": [64, 64]},
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
