"""Where a connect-four training iteration goes: RLlib's per-iteration timers (sampling,
the learner update, weight sync) and the wall time, medians over iterations 3 to
``--iterations``, for the preset and one lever on top of it.

    .venv/bin/python benchmarks/iteration_timers.py                 # the preset
    .venv/bin/python benchmarks/iteration_timers.py --epochs 2
    .venv/bin/python benchmarks/iteration_timers.py --share-encoder

RLlib smooths its timers over iterations, so they are not exact per-iteration seconds;
``wall`` is measured here. Run on an idle machine, one at a time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=None, help="algorithm.num_epochs")
    parser.add_argument("--share-encoder", action="store_true",
                        help="policies.model.share_encoder on the preset's cnn")
    parser.add_argument("--iterations", type=int, default=14)
    args = parser.parse_args()
    os.environ.setdefault("WANDB_MODE", "disabled")
    from marl.experiment import resolve
    from marl.rllib.builder import build_config
    from marl.rllib.trainer import init_ray
    from marl.spec import spec_from_dict

    data: dict[str, Any] = {"name": "timers", "seed": 5,
                            "env": {"id": "competitive/connect_four-v0"},
                            "stop": {"time_s": 900}, "tracking": {"wandb": {"mode": "disabled"}}}
    if args.epochs:
        data["algorithm"] = {"num_epochs": args.epochs}
    if args.share_encoder:
        data["policies"] = {"model": {"encoder": "cnn", "conv": [[32, 3], [32, 3]],
                                      "hidden": [128], "share_encoder": True}}
    spec = spec_from_dict(data)
    init_ray(spec)
    algo = build_config(resolve(spec)).build_algo()
    print(f"load before: {os.getloadavg()[0]:.2f}")
    rows = []
    for i in range(args.iterations):
        start = time.perf_counter()
        result = algo.train()
        wall = time.perf_counter() - start
        if i >= 2:
            rows.append({"wall": wall, **{k: float(v) for k, v in (result.get("timers") or {}).items()
                                          if isinstance(v, (int, float))}})
    print(f"epochs {args.epochs or 'preset'}, share_encoder {args.share_encoder}: medians of "
          f"iterations 3-{args.iterations}")
    for key in sorted({k for r in rows for k in r}):
        print(f"  {key:<32} {statistics.median(r[key] for r in rows if key in r):.3f} s")
    algo.stop()


if __name__ == "__main__":
    main()
