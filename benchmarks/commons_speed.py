"""Commons harvest vs MPE simple_spread: env steps/s and agent steps/s on one core.

How to run:
    .venv/bin/python benchmarks/commons_speed.py [--steps 4000] [--repeats 5]

Expect: commons_harvest (5 agents) at >= 3x the agent steps/s of simple_spread
(N=3); the JSON lands in benchmarks/results/commons_speed.json.

Single process, single thread (the envs do no BLAS work); ``--pin`` also pins it to
one CPU. Method: random actions are drawn up front (the timed loop is ``env.step`` plus the
``reset`` at each episode end); each repeat times every env once, interleaved, so
load from other processes hits all of them alike; figures are medians over repeats.
simple_spread runs at the registry's ``max_cycles=25`` (a reset every 25 steps) and
at ``max_cycles=1000`` (the commons default) to show the reset cost separately.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "commons_speed.json"


def _envs(agents: int) -> dict[str, Callable[[], Any]]:
    from mpe2 import simple_spread_v3

    from envs.commons import parallel_env as commons

    return {
        f"commons_harvest (N={agents}, T=1000)": lambda: commons(num_agents=agents),
        "simple_spread (N=3, T=25)": lambda: simple_spread_v3.parallel_env(
            N=3, max_cycles=25, continuous_actions=False
        ),
        "simple_spread (N=3, T=1000)": lambda: simple_spread_v3.parallel_env(
            N=3, max_cycles=1000, continuous_actions=False
        ),
    }


def time_env(make: Callable[[], Any], steps: int, seed: int) -> tuple[float, int]:
    """Seconds for ``steps`` env steps with random actions, and the agent count."""
    env = make()
    env.reset(seed=seed)
    agents = list(env.possible_agents)
    rng = np.random.default_rng(seed)
    sizes = [env.action_space(a).n for a in agents]
    draws = rng.integers(0, np.array(sizes), size=(steps, len(agents))).tolist()
    actions = [dict(zip(agents, row)) for row in draws]
    start = time.perf_counter()
    for act in actions:
        env.step(act)
        if not env.agents:
            env.reset()
    elapsed = time.perf_counter() - start
    env.close()
    return elapsed, len(agents)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4000, help="env steps per timing")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--agents", type=int, default=5, help="commons agents")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--pin",
        action="store_true",
        help="pin the process to one CPU (on a shared machine this can hurt)",
    )
    args = parser.parse_args()
    if args.pin and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    makers = _envs(args.agents)
    for make in makers.values():  # warm-up: imports, first-call caches
        time_env(make, 200, seed=0)
    runs: dict[str, list[float]] = {name: [] for name in makers}
    n_agents: dict[str, int] = {}
    for rep in range(args.repeats):
        for name, make in makers.items():
            elapsed, n_agents[name] = time_env(make, args.steps, seed=rep)
            runs[name].append(args.steps / elapsed)

    results = {}
    for name, rates in runs.items():
        med = statistics.median(rates)
        results[name] = {
            "agents": n_agents[name],
            "env_steps_per_s": med,
            "agent_steps_per_s": med * n_agents[name],
            "env_steps_per_s_repeats": rates,
        }
    names = list(results)
    base = results[names[0]]["agent_steps_per_s"]
    for name in names[1:]:
        results[name]["commons_agent_steps_ratio"] = base / results[name]["agent_steps_per_s"]

    print(
        f"{'env':34s} {'agents':>6s} {'env steps/s':>12s} {'agent steps/s':>14s} {'commons x':>10s}"
    )
    for name, r in results.items():
        ratio = r.get("commons_agent_steps_ratio")
        print(
            f"{name:34s} {r['agents']:6d} {r['env_steps_per_s']:12,.0f} "
            f"{r['agent_steps_per_s']:14,.0f} {'' if ratio is None else f'{ratio:9.2f}x':>10s}"
        )

    payload = {
        "benchmark": "commons_speed",
        "command": "python benchmarks/commons_speed.py "
        f"--steps {args.steps} --repeats {args.repeats} --agents {args.agents}"
        + (" --pin" if args.pin else ""),
        "steps_per_timing": args.steps,
        "repeats": args.repeats,
        "statistic": "median",
        "machine": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "processor": platform.processor() or platform.machine(),
            "cpus_visible": os.cpu_count(),
            "pinned_to_one_cpu": args.pin,
            "load_avg_1m": os.getloadavg()[0],
            "processes": 1,
        },
        "results": results,
        "commons_vs_simple_spread_agent_steps_ratio": results[names[1]][
            "commons_agent_steps_ratio"
        ],
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    tmp.replace(args.out)  # atomic: readers never see a half-written file
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
