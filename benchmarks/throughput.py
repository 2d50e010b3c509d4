"""Training throughput vs the raw env's own speed: stock and lean samplers, one run.

For each env, every setup below is built once (all alive, idle when not measured) and
measured in rounds, interleaved with the raw env, so that load from other processes on
the machine hits all of them alike:

    round r:  raw env (random legal actions, one process)  ->  for each setup: one
              unmeasured iteration, then ``--iters`` measured ``marl train`` iterations

The learner (in this process) uses one torch thread in every setup. Learning settings
are fixed (batch 2000, minibatch 256, 5 epochs, [256, 256] MLP; no training openings on
turn-based games): only
system efficiency differs. A setup's ratio in a round is its median env steps/s over the
round's iterations divided by that round's raw env steps/s; reported: the median over
rounds. The learner's own speed (env steps of one batch / seconds of one PPO update on
it, GAE included) is measured in each round too and reported as a ratio to raw.

    .venv/bin/python benchmarks/throughput.py                         # both envs
    .venv/bin/python benchmarks/throughput.py --env cooperative/spread-v0 --rounds 3
    .venv/bin/python benchmarks/throughput.py --setup lean-overlap --setup stock-best
    .venv/bin/python benchmarks/throughput.py --sampling   # sampling alone, per CPU-second

Writes ``benchmarks/results/throughput.json`` (one record per env and setup, with the
per-round figures and the machine's load average before and after).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

from envs.registry import check_env_id, make_env

ENVS = ("cooperative/spread-v0", "competitive/connect_four-v0")
FIXED = {
    "algorithm": {"train_batch_size": 2000, "minibatch_size": 256, "num_epochs": 5},
    "policies": {"model": {"hidden": [256, 256]}},
}


def fixed_env(env_id: str) -> dict:
    """The spec's env section: the id, and for turn-based envs no training openings (a
    preset's ``random_opening`` plays plies inside reset that count as no env step, where
    the raw env counts every ply)."""
    return {"id": env_id, **({"random_opening": 0} if check_env_id(env_id).api == "aec" else {})}


# Setups compared (spec overrides). ``stock-best``: the best stock settings measured on
# this machine (docs/benchmarks.md); envs per runner: the registry default (16 / 64).
SETUPS: dict[str, list[str]] = {
    "stock-best": ["resources.sampler=stock", "resources.num_env_runners=2",
                   "resources.num_cpus_per_env_runner=0.5"],
    "lean-local": ["resources.sampler=lean", "resources.num_env_runners=0"],
    "lean-2runners": ["resources.sampler=lean", "resources.num_env_runners=2",
                      "resources.num_cpus_per_env_runner=0.5"],
    "lean-overlap": ["resources.sampler=lean", "resources.overlap=true",
                     "resources.num_env_runners=1", "resources.num_cpus_per_env_runner=0.5"],
}


def raw_env_steps_per_s(env_id: str, seconds: float = 5.0, seed: int = 0) -> float:
    """Env steps/s of the raw env with uniformly random legal actions, one process."""
    entry = check_env_id(env_id)
    env = make_env(env_id)
    rng = np.random.default_rng(seed)
    steps, start, episode = 0, time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        if entry.api == "aec":
            env.reset(seed=episode)
            for agent in env.agent_iter():
                obs, _, term, trunc, _ = env.last()
                if term or trunc:
                    action = None
                else:
                    mask = obs["action_mask"] if isinstance(obs, dict) else None
                    action = (int(rng.choice(np.flatnonzero(mask))) if mask is not None
                              else env.action_space(agent).sample())
                env.step(action)
                steps += 1
        else:
            env.reset(seed=episode)
            while env.agents:
                env.step({a: env.action_space(a).sample() for a in env.agents})
                steps += 1
        episode += 1
    return steps / (time.perf_counter() - start)


def make_trainer(env_id: str, overrides: list[str]):
    from marl.rllib.trainer import RLlibTrainer
    from marl.spec import _merge as merge
    from marl.spec import parse_overrides, spec_from_dict

    data = merge({"name": "throughput", "env": fixed_env(env_id), **FIXED,
                  # Logical CPUs for Ray: every setup's runners placed at once (idle
                  # while another setup is measured); the machine has what it has.
                  "resources": {"num_cpus": 16}}, parse_overrides(overrides))
    data["tracking"] = {"wandb": {"mode": "disabled"}, "tensorboard": False}
    return RLlibTrainer.from_spec(spec_from_dict(data))


def raw_cpu_steps_per_s(env_id: str, seconds: float, seed: int) -> float:
    """``raw_env_steps_per_s`` per CPU-second of this process."""
    cpu, wall = time.process_time(), time.perf_counter()
    rate = raw_env_steps_per_s(env_id, seconds, seed)
    return rate * (time.perf_counter() - wall) / (time.process_time() - cpu)


def measure_sampling(env_id: str, rounds: int, raw_seconds: float) -> dict:
    """Sampling alone, per CPU-second: the raw env, RLlib's runner, the lean runner (one
    training batch per ``sample()``, registry envs per runner), alternated."""
    from marl.experiment import resolve
    from marl.rllib.perf import runner_cpu_rates
    from marl.spec import spec_from_dict

    spec = spec_from_dict({"name": "sampling", "env": fixed_env(env_id), **FIXED})
    raw = [raw_cpu_steps_per_s(env_id, raw_seconds, seed=r) for r in range(rounds)]
    rates = runner_cpu_rates(resolve(spec), rounds)
    row = {"env": env_id, "setup": "sampling-cpu", "raw_cpu_steps_per_s": raw,
           **{f"{k}_cpu_steps_per_s": v for k, v in rates.items()},
           **{f"{k}_ratio_to_raw": statistics.median(v) / statistics.median(raw)
              for k, v in rates.items()},
           "load": load()}
    print(f"{env_id:30s} sampling per CPU-s: raw {statistics.median(raw):,.0f}  "
          f"stock {statistics.median(rates['stock']):,.0f} "
          f"({row['stock_ratio_to_raw']:.2f})  lean {statistics.median(rates['lean']):,.0f} "
          f"({row['lean_ratio_to_raw']:.2f})  load {row['load']}", flush=True)
    return row


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def measure_env(env_id: str, setups: dict[str, list[str]], rounds: int, iters: int,
                raw_seconds: float) -> list[dict]:
    from marl.rllib.perf import learner_update_seconds, settle_env_runners

    load_before = load()
    trainers = {name: make_trainer(env_id, over) for name, over in setups.items()}
    learner_probe = make_trainer(env_id, setups[next(iter(setups))])
    raw_rounds: list[float] = []
    rates: dict[str, list[list[float]]] = {name: [] for name in setups}
    learner: list[float] = []
    try:
        for r in range(rounds):
            raw_rounds.append(raw_env_steps_per_s(env_id, raw_seconds, seed=r))
            for name, trainer in trainers.items():
                trainer.train()  # unmeasured: picks up a batch prefetched long ago
                round_rates = [trainer.train()[0]["perf/env_steps_per_s"] for _ in range(iters)]
                settle_env_runners(trainer.algo)  # no background sampling during the next
                rates[name].append(round_rates)
            steps, secs = learner_update_seconds(learner_probe.algo, repeats=1)
            learner.append(steps / secs[0])
            print(f"  round {r}: raw {raw_rounds[-1]:,.0f}/s  " + "  ".join(
                f"{n} {statistics.median(v[-1]):,.0f}" for n, v in rates.items())
                  + f"  learner {learner[-1]:,.0f}  load {load()}", flush=True)
    finally:
        for trainer in [*trainers.values(), learner_probe]:
            trainer.stop()
    learner_ratio = statistics.median(x / raw for x, raw in zip(learner, raw_rounds, strict=True))
    rows = []
    for name, per_round in rates.items():
        ratios = [statistics.median(v) / raw for v, raw in zip(per_round, raw_rounds, strict=True)]
        rows.append({
            "env": env_id, "setup": name, "overrides": setups[name],
            "ratio_to_raw": statistics.median(ratios), "ratio_per_round": ratios,
            "env_steps_per_s_per_round": [statistics.median(v) for v in per_round],
            "raw_env_steps_per_s_per_round": raw_rounds,
            "learner_env_steps_per_s_per_round": learner,
            "learner_ratio_to_raw": learner_ratio,
            "num_envs_per_env_runner": check_env_id(env_id).num_envs,
            "load_before": load_before, "load_after": load(),
        })
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", action="append", help="env id (repeatable); default: both")
    parser.add_argument("--setup", action="append", choices=sorted(SETUPS),
                        help="setup to compare (repeatable); default: all")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        help="spec override applied to every setup, e.g. "
                             "resources.num_envs_per_env_runner=32")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--iters", type=int, default=3, help="measured iterations per round")
    parser.add_argument("--raw-seconds", type=float, default=2.0)
    parser.add_argument("--sampling", action="store_true",
                        help="sampling alone, per CPU-second (raw env, stock and lean runner)")
    parser.add_argument("--out", default="benchmarks/results/throughput.json")
    args = parser.parse_args()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import torch

    # One torch thread for every setup's learner (in this process): on 2 shared cores a
    # second OpenMP thread made a PPO update 10-15x slower (docs/benchmarks.md).
    torch.set_num_threads(1)
    setups = {n: [*SETUPS[n], *args.overrides] for n in (args.setup or SETUPS)}

    rows = []
    for env_id in args.env or ENVS:
        if args.sampling:
            rows.append(measure_sampling(env_id, args.rounds, args.raw_seconds))
            continue
        print(f"{env_id}: {', '.join(setups)}  (load {load()})", flush=True)
        env_rows = measure_env(env_id, setups, args.rounds, args.iters, args.raw_seconds)
        for row in env_rows:
            print(f"{env_id:30s} {row['setup']:14s} ratio {row['ratio_to_raw']:.3f}  "
                  f"(learner alone {row['learner_ratio_to_raw']:.3f})", flush=True)
        rows += env_rows
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(out.read_text()) if out.exists() else []
    keys = {(r["env"], r["setup"]) for r in rows}
    previous = [r for r in previous if (r.get("env"), r.get("setup")) not in keys]
    out.write_text(json.dumps(previous + rows, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
