"""Throughput cost of the league: plain self-play vs a league, same settings, interleaved.

Connect four, PPO (batch 2000, minibatch 250, 4 epochs, 64 envs in the driver): one
shared self-play policy, then a league with exploiters
(3 learners, random, depth-1 alpha-beta), then both again; 4 iterations each, the first
dropped as warm-up. Env steps/s per iteration; writes JSON.

    .venv/bin/python benchmarks/league_overhead.py
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BASE = {"name": "overhead", "env": {"id": "competitive/connect_four-v0"},
        "algorithm": {"train_batch_size": 2000, "minibatch_size": 250, "num_epochs": 4},
        "resources": {"num_env_runners": 0, "num_envs_per_env_runner": 64, "num_cpus": 2},
        "tracking": {"wandb": {"mode": "disabled"}, "tensorboard": False}}
LEAGUE = {**BASE, "league": {"scripted": ["alphabeta_d1"], "snapshot_step_budget": 15000}}


def rates(data: dict, iterations: int = 4) -> list[float]:
    from marl.rllib.league.runtime import LeagueRuntime
    from marl.rllib.trainer import RLlibTrainer
    from marl.spec import spec_from_dict

    spec = spec_from_dict(data)
    trainer = RLlibTrainer.from_spec(spec)
    league = LeagueRuntime.start(trainer.exp, trainer.algo) if spec.league is not None else None
    out = []
    try:
        for _ in range(iterations):
            t0 = time.perf_counter()
            _, result = trainer.train()
            if league is not None:
                league.after_iteration(result)
            out.append(result["env_runners"]["num_env_steps_sampled"] / (time.perf_counter() - t0))
    finally:
        trainer.stop()
    return out[1:]


def main() -> None:
    os.environ.setdefault("WANDB_MODE", "disabled")
    runs: dict[str, list[float]] = {"selfplay": [], "league": []}
    for name, data in (("selfplay", BASE), ("league", LEAGUE)) * 2:
        runs[name] += rates(data)
        print(name, [round(r) for r in runs[name]], "load", os.getloadavg(), flush=True)
    out = {k: {"env_steps_per_s": v, "median": statistics.median(v)} for k, v in runs.items()}
    out["league_over_selfplay"] = out["league"]["median"] / out["selfplay"]["median"]
    out["load_average_at_end"] = os.getloadavg()
    print(json.dumps(out, indent=2))
    path = REPO / "benchmarks" / "results" / "league_overhead.json"
    path.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
