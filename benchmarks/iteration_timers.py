"""Where a connect-four training iteration goes: RLlib's per-iteration timers (sampling,
the learner update, weight sync) and the wall time, medians over iterations 3 to
``--iterations``, for the preset and one lever on top of it.

    .venv/bin/python benchmarks/iteration_timers.py                 # the preset
    .venv/bin/python benchmarks/iteration_timers.py --epochs 2
    .venv/bin/python benchmarks/iteration_timers.py --share-encoder

RLlib smooths its timers over iterations (a moving average that starts at the first
iteration, warm-up included), so they are not per-iteration seconds; ``wall`` and the
learner update are timed here. Run on an idle machine, one at a time.
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
    # RLlib's timers are moving averages that start at the first iteration's value (which
    # holds the learner's warm-up): time the learner update itself as well.
    group = algo.learner_group
    assert group is not None, "an Algorithm on the new API stack has a learner group"
    update_s: list[float] = []
    stock_update = group.update

    def timed_update(*a: Any, **kw: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return stock_update(*a, **kw)
        finally:
            update_s.append(time.perf_counter() - t0)

    group.update = timed_update  # type: ignore[method-assign]
    rows = []
    for i in range(args.iterations):
        start = time.perf_counter()
        result = algo.train()
        wall = time.perf_counter() - start
        learner = update_s[-1] if update_s else float("nan")
        print(f"  iteration {i + 1:>3}: wall {wall:.2f} s, learner update {learner:.2f} s")
        if i >= 2:
            rows.append({"wall": wall, "learner_update (exact)": learner,
                         "wall - learner_update": wall - learner,
                         **{f"rllib {k} (smoothed)": float(v)
                            for k, v in (result.get("timers") or {}).items()
                            if isinstance(v, (int, float))}})
    print(f"epochs {args.epochs or 'preset'}, share_encoder {args.share_encoder}: medians of "
          f"iterations 3-{args.iterations}")
    for key in sorted({k for r in rows for k in r}):
        print(f"  {key:<44} {statistics.median(r[key] for r in rows if key in r):.3f} s")
    algo.stop()


if __name__ == "__main__":
    main()
