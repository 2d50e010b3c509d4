"""Connect-four alpha-beta opponents: moves/s per depth, current search vs the original.

How to run:
    .venv/bin/python benchmarks/alphabeta_speed.py [--positions 200] [--depths 1 2 4 6]
        [--repeats 3] [--pin]

Expect: identical moves and root scores everywhere ("verified": true, no mismatches), and
the current search >= 3x the original's moves/s at depth 4 and >= 4x at depth 6 (depths 1
and 2 gain less: per-call overhead dominates); the JSON lands in
benchmarks/results/alphabeta_speed.json.

"Original" is ``benchmarks/alphabeta_v1.py``, a frozen verbatim copy of
``envs/connect_four_opponents.py`` before the speed-up (loaded from its path, so the
comparison stays meaningful after later commits). Positions: ``--positions`` random
openings of the real ``connect_four_v3`` env, seeded, each 0-20 random plies long
(finished games are skipped). A timing is one call of ``alphabeta_action(obs, depth)``
(``rng=None``) per position; each repeat times both versions at every depth, interleaved,
so load from other processes hits both alike; figures are medians over repeats.

Checks, per position and depth: the same move with ``rng=None``, the same move with a
seeded rng (same seed for both: equal tie sets in equal order give equal draws), and the
same exact (full-window) negamax score for every legal root move.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "alphabeta_speed.json"
ORIGINAL = HERE / "alphabeta_v1.py"


def load_original() -> ModuleType:
    """The frozen original search, imported from ``benchmarks/alphabeta_v1.py``."""
    spec = importlib.util.spec_from_file_location("alphabeta_v1", ORIGINAL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def positions(n: int, seed: int, max_plies: int = 20) -> list[dict[str, np.ndarray]]:
    """``n`` observations for the player to move after seeded random openings."""
    from pettingzoo.classic import connect_four_v3

    rng = np.random.default_rng(seed)
    env = connect_four_v3.env()
    out: list[dict[str, np.ndarray]] = []
    while len(out) < n:
        env.reset(seed=int(rng.integers(2**31)))
        for _ in range(int(rng.integers(0, max_plies + 1))):
            obs, _, term, trunc, _ = env.last()
            if term or trunc:
                break
            env.step(int(rng.choice(np.flatnonzero(obs["action_mask"]))))
        obs, _, term, trunc, _ = env.last()
        if not (term or trunc):
            out.append({k: np.array(v) for k, v in obs.items()})
    env.close()
    return out


def move_scores(module: ModuleType, obs: dict[str, Any], depth: int, current: bool) -> dict:
    """Exact root score of every legal column, through the module's private search.

    A winning move scores ``_WIN + depth``; at depth 1 a move scores its static value;
    deeper, minus the full-window value of the position after it at ``depth - 1``.
    """
    me, mask = module._bitboards(obs)
    opp = mask ^ me
    scores = {}
    for c in (int(c) for c in np.flatnonzero(obs["action_mask"])):
        cell = (mask + module._BOTTOM[c]) & ~mask
        if module._is_win(me | cell):
            scores[c] = module._WIN + depth
        elif not current:
            scores[c] = (
                module._evaluate(me | cell, opp)
                if depth == 1
                else -module._negamax(opp, mask | cell, depth - 1, -3 * module._WIN, 3 * module._WIN)
            )
        else:
            ev = module._evaluate(me, opp) + module._gain(me, opp, cell)
            win = module._winning_cells(opp, mask | cell)
            scores[c] = (
                ev
                if depth == 1
                else -module._negamax(
                    opp, mask | cell, -ev, win, depth - 1, -module._INF, module._INF, {}
                )
            )
    return scores


def verify(old: ModuleType, new: ModuleType, obs_list: list, depths: list[int]) -> list[dict]:
    """Mismatches between the two versions (empty when they agree everywhere)."""
    bad = []
    for depth in depths:
        for i, obs in enumerate(obs_list):
            checks = {
                "move": (old.alphabeta_action(obs, depth), new.alphabeta_action(obs, depth)),
                "move_rng": (
                    old.alphabeta_action(obs, depth, np.random.default_rng(i)),
                    new.alphabeta_action(obs, depth, np.random.default_rng(i)),
                ),
                "scores": (
                    move_scores(old, obs, depth, current=False),
                    move_scores(new, obs, depth, current=True),
                ),
            }
            for what, (a, b) in checks.items():
                if a != b:
                    bad.append({"depth": depth, "position": i, "check": what, "original": a,
                                "current": b})
    return bad


def time_moves(module: ModuleType, obs_list: list, depth: int) -> float:
    """Moves per second of ``module.alphabeta_action`` over ``obs_list`` at ``depth``."""
    act = module.alphabeta_action
    start = time.perf_counter()
    for obs in obs_list:
        act(obs, depth)
    return len(obs_list) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=200)
    parser.add_argument("--depths", type=int, nargs="+", default=[1, 2, 4, 6])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verify-depth-max", type=int, default=6,
                        help="verify scores only up to this depth (full-window search is slow)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--pin", action="store_true", help="pin the process to one CPU")
    args = parser.parse_args()
    if args.pin and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    import envs.connect_four_opponents as current

    versions = {"original": load_original(), "current": current}
    obs_list = positions(args.positions, args.seed)
    checked = [d for d in args.depths if d <= args.verify_depth_max]
    t0 = time.perf_counter()
    mismatches = verify(versions["original"], current, obs_list, checked)
    verify_s = time.perf_counter() - t0

    runs: dict[str, dict[int, list[float]]] = {v: {d: [] for d in args.depths} for v in versions}
    for module in versions.values():  # warm-up
        time_moves(module, obs_list[:10], max(args.depths))
    for _ in range(args.repeats):
        for depth in args.depths:
            for name, module in versions.items():
                runs[name][depth].append(time_moves(module, obs_list, depth))

    results = {}
    print(f"{'depth':>5s} {'original moves/s':>17s} {'current moves/s':>16s} {'speed-up':>9s}")
    for depth in args.depths:
        old_rate = statistics.median(runs["original"][depth])
        new_rate = statistics.median(runs["current"][depth])
        results[str(depth)] = {
            "original_moves_per_s": old_rate,
            "current_moves_per_s": new_rate,
            "speedup": new_rate / old_rate,
            "original_repeats": runs["original"][depth],
            "current_repeats": runs["current"][depth],
        }
        print(f"{depth:5d} {old_rate:17,.0f} {new_rate:16,.0f} {new_rate / old_rate:8.2f}x")
    print(f"verified depths {checked} on {len(obs_list)} positions: "
          f"{'OK' if not mismatches else f'{len(mismatches)} MISMATCHES'} ({verify_s:.0f} s)")

    payload = {
        "benchmark": "alphabeta_speed",
        "command": "python benchmarks/alphabeta_speed.py "
        f"--positions {args.positions} --depths {' '.join(map(str, args.depths))} "
        f"--repeats {args.repeats} --seed {args.seed}" + (" --pin" if args.pin else ""),
        "positions": len(obs_list),
        "opening_plies": "uniform 0..20, random legal moves",
        "repeats": args.repeats,
        "statistic": "median",
        "original": str(ORIGINAL.relative_to(HERE.parent)),
        "machine": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "processor": platform.processor() or platform.machine(),
            "cpus_visible": os.cpu_count(),
            "pinned_to_one_cpu": args.pin,
            "load_avg_1m": os.getloadavg()[0],
        },
        "results": results,
        "verified_depths": checked,
        "verified": not mismatches,
        "mismatches": mismatches[:20],
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {args.out}")
    if mismatches:
        raise SystemExit(f"{len(mismatches)} mismatches, first: {mismatches[0]}")


if __name__ == "__main__":
    main()
