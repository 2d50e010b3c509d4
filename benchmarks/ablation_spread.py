"""Ablation of the learning changes on MPE spread (mappo), at equal env steps.

One row per variant: this version's settings (``all``: the MPE preset and the defaults),
then each change of the learning issue turned back alone, then all of them turned back
together (``none``: the 0.1 settings). Every run is the minimal spec of
``benchmarks/learn_spread.py`` plus the variant's overrides, stopped at ``--steps`` env
steps, then 200 fresh episodes greedy and sampled (the same evaluation as learn_spread).
Runs go one after the other; prints a table and writes JSON.

    .venv/bin/python benchmarks/ablation_spread.py --steps 300000 --seeds 0 1

What each row turns back:
  -bootstrap    time limits read as terminal states (``bootstrap_truncated: false``)
  +kl           RLlib's KL penalty back on (``kl_coeff: 0.2``, its default)
  -value_norm   no running normalisation of the critic's targets
  -preset       the generic defaults instead of MAPPO's MPE recipe (lr 3e-4, minibatches
                of 256 rows, 5 epochs, value loss weight 0.5, grad clip 0.5, [256, 256])
  +lr_linear    (an option, not a change of defaults) learning rate annealed to 0
  none          -bootstrap, +kl, -value_norm and -preset together
Adam's eps (1e-5) and the orthogonal init have no spec switch and are not ablated.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from learn_spread import baselines, curve, evaluate_run, train_one  # noqa: E402

_NO_PRESET = {"lr": 3e-4, "minibatch_size": 256, "num_epochs": 5, "vf_loss_coeff": 0.5,
              "grad_clip": 0.5}
VARIANTS: dict[str, dict[str, Any]] = {
    "all": {},
    "-bootstrap": {"algorithm": {"bootstrap_truncated": False}},
    "+kl": {"algorithm": {"kl_coeff": 0.2}},
    "-value_norm": {"algorithm": {"critic": {"value_normalization": False}}},
    "-preset": {"algorithm": _NO_PRESET, "policies": {"model": {"hidden": [256, 256]}}},
    "+lr_linear": {"algorithm": {"lr_schedule": "linear"}},
    "none": {"algorithm": {**_NO_PRESET, "bootstrap_truncated": False, "kl_coeff": 0.2,
                           "critic": {"value_normalization": False}},
             "policies": {"model": {"hidden": [256, 256]}}},
}


def train_variant(name: str, seed: int, steps: int, storage: Path) -> Path:
    """One mappo run of learn_spread's minimal spec plus the variant's overrides."""
    import ray

    run_dir = train_one("mappo", seed, None, storage, VARIANTS[name], steps=steps,
                        name=f"ablation_{name.strip('+-')}")
    ray.shutdown()
    return run_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=300_000, help="env steps of every run")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--out", type=Path,
                        default=REPO / "benchmarks" / "results" / "ablation_spread.json")
    args = parser.parse_args()
    os.environ.setdefault("WANDB_MODE", "disabled")
    os.chdir(REPO)
    load = os.getloadavg()[0]
    base = baselines(args.episodes)
    print(f"load before: {load:.2f}; random {base['random']:.1f}, oracle {base['oracle']:.1f}",
          flush=True)
    runs: list[dict[str, Any]] = []
    for name in args.variants:
        for seed in args.seeds:
            run_dir = train_variant(name, seed, args.steps, REPO / "runs" / "bench")
            meta = json.loads((run_dir / "checkpoints" / "latest").read_text())
            runs.append({"variant": name, "seed": seed, "run": str(run_dir),
                         "env_steps": meta["env_steps"], "curve": curve(run_dir),
                         **evaluate_run(run_dir, args.episodes)})
            print(f"  {name} seed {seed}: greedy {runs[-1]['greedy']:.1f}, sampled "
                  f"{runs[-1]['sampled']:.1f}", flush=True)
    summary = {}
    print(f"\nmappo on spread, {args.steps:,} env steps, seeds {args.seeds}, "
          f"{args.episodes} fresh episodes (random {base['random']:.1f})")
    print(f"  {'variant':<13}{'greedy':>9}{'sampled':>9}  per seed (greedy)")
    for name in args.variants:
        mine = [r for r in runs if r["variant"] == name]
        summary[name] = {m: statistics.mean(r[m] for r in mine) for m in ("greedy", "sampled")}
        print(f"  {name:<13}{summary[name]['greedy']:>9.1f}{summary[name]['sampled']:>9.1f}  "
              f"{[round(r['greedy'], 1) for r in mine]}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"steps": args.steps, "seeds": args.seeds,
                                    "episodes": args.episodes, "load_before": load,
                                    "baselines": base, "summary": summary, "runs": runs},
                                   indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
