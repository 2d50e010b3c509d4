"""Pistonball env steps/s: PettingZoo's pistonball_v6 with the preset's pixel pipeline
applied as SuperSuit applies it, against the registry's (fast observe, lean parallel
conversion, ``envs.butterfly``), interleaved in one process on one core, random actions,
median of ``--repeats``. PettingZoo's draws its screen only with a render mode, so it is
built with ``render_mode="rgb_array"`` (``--blind``: without, as before 2026-12-03: the
observations never change); then both give the same observations
(tests/envs/test_lean_pistonball.py).

    .venv/bin/python benchmarks/pistonball_speed.py --steps 300 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
REPO = Path(__file__).resolve().parents[1]


def _stock(config: dict[str, Any], steps: list[dict[str, Any]], blind: bool) -> Any:
    import supersuit
    from pettingzoo.butterfly import pistonball_v6

    from envs.wrappers.pipeline import check_pipeline

    env = pistonball_v6.parallel_env(**config, render_mode=None if blind else "rgb_array")
    for step in check_pipeline(steps):  # SuperSuit's own chaining, as before
        env = getattr(supersuit, step.fn)(env, **step.kwargs)
    return env


def _rate(env: Any, n: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    t0 = time.perf_counter()
    for _ in range(n):
        env.step({a: int(rng.integers(3)) for a in env.agents})
        if not env.agents:
            env.reset()
    return n / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--blind", action="store_true",
                        help="PettingZoo's without a render mode (it never draws a frame)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/pistonball_speed.json")
    args = parser.parse_args()
    from envs.factory import make_spec_env
    from envs.registry import check_env_id

    entry = check_env_id("cooperative/pistonball-v0")
    steps = entry.preset["env"]["preprocess"]
    config = dict(entry.defaults)
    load = os.getloadavg()[0]
    stock, lean = _stock(config, steps, args.blind), make_spec_env(
        {"id": entry.id, "config": config, "preprocess": steps})
    rates: dict[str, list[float]] = {"stock": [], "lean": []}
    for r in range(args.repeats):
        rates["stock"].append(_rate(stock, args.steps, r))
        rates["lean"].append(_rate(lean, args.steps, r))
    med = {k: statistics.median(v) for k, v in rates.items()}
    result = {"load_before": load, "blind": args.blind, "steps": args.steps, "rates": rates,
              "median": med, "speedup": med["lean"] / med["stock"]}
    print(f"load {load:.2f}; env steps/s, median of {args.repeats}: stock {med['stock']:.1f}, "
          f"marl {med['lean']:.1f} ({result['speedup']:.2f}x)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
