"""What search at play time buys: one trained connect-four agent at N = 0, 50, 200, 800
MCTS simulations a move (its policy as prior, its value head at the leaves) against
alpha-beta depth 2 and 4, both seats; win rate (draws half) with a 95 % Wilson interval
and seconds per move of the searcher.

The alpha-beta opponents break ties at random and both sides play ``--opening`` random
plies first (as engine matches use opening books), so the games differ. Run on an idle
machine (``uptime`` load < 1.5); writes JSON.

    .venv/bin/python benchmarks/search_connect4.py RUN_DIR --games 20
    .venv/bin/python benchmarks/search_connect4.py RUN_DIR --sims 0 50 --depths 2 --games 4
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]


class Timed:
    """Counts a policy's moves and the seconds it spends choosing them."""

    def __init__(self, policy: Any):
        self.policy, self.moves, self.seconds = policy, 0, 0.0
        if hasattr(policy, "search"):
            self.search = self._search

    def __call__(self, observations: Any) -> Any:
        t0 = time.perf_counter()
        out = self.policy(observations)
        self.seconds += time.perf_counter() - t0
        self.moves += len(observations)
        return out

    def _search(self, env: Any, agent: str) -> int:
        t0 = time.perf_counter()
        out = self.policy.search(env, agent)
        self.seconds += time.perf_counter() - t0
        self.moves += 1
        return out


class WithOpening:
    """Plays ``plies`` uniformly random legal moves at the start of each game (the move
    count is read from the board), then the wrapped policy."""

    def __init__(self, policy: Any, plies: int, seed: int):
        self.policy, self.plies = policy, plies
        self.rng = np.random.default_rng(seed)
        if hasattr(policy, "search"):
            self.search = self._search

    def _opening(self, obs: Any) -> int | None:
        stones = int(np.asarray(obs["observations"]).sum())
        if stones < self.plies:
            return int(self.rng.choice(np.flatnonzero(obs["action_mask"])))
        return None

    def __call__(self, observations: Any) -> Any:
        forced = [self._opening(o) for o in observations]
        if all(f is not None for f in forced):
            return np.asarray(forced)
        acts = self.policy(observations)
        return np.asarray([f if f is not None else a for f, a in zip(forced, acts, strict=True)])

    def _search(self, env: Any, agent: str) -> int:
        forced = self._opening(env.observe(agent))
        return forced if forced is not None else self.policy.search(env, agent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir")
    parser.add_argument("--player", default=None, help="league player (default: first learner)")
    parser.add_argument("--sims", nargs="+", type=int, default=[0, 50, 200, 800])
    parser.add_argument("--depths", nargs="+", type=int, default=[2, 4])
    parser.add_argument("--games", type=int, default=20, help="per depth and N, both seats")
    parser.add_argument("--opening", type=int, default=2)
    parser.add_argument("--greedy", action="store_true", help="N = 0 plays argmax")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "search_connect4.json"))
    args = parser.parse_args()
    os.environ.setdefault("WANDB_MODE", "disabled")

    from marl.evaluate import load_player, resolve_player, run_experiment
    from marl.league.play import head_to_head

    ref = resolve_player(f"{args.run_dir}:{args.player}" if args.player else args.run_dir)
    assert ref.checkpoint is not None
    exp = run_experiment(ref.checkpoint.parent.parent)
    load = os.getloadavg()[0]
    print(f"load before: {load:.2f}; {ref.name}", flush=True)
    rows = []
    for depth in args.depths:
        for sims in args.sims:
            agent = Timed(load_player(ref, exp, args.greedy, seed=1, search=sims))
            opponent = load_player(resolve_player(f"alphabeta_d{depth}"), exp, seed=2)
            result = head_to_head(exp.play_config(), exp.seats,
                                  ("agent", WithOpening(agent, args.opening, 3)),
                                  ("ab", WithOpening(opponent, args.opening, 4)),
                                  args.games, seed=5)
            lo, hi = result.interval()
            row = {"depth": depth, "simulations": sims, "games": result.games,
                   "wins": result.wins, "draws": result.draws, "losses": result.losses,
                   "score": result.score, "ci": [lo, hi],
                   "by_seat": {str(k): v for k, v in result.by_seat.items()},
                   "s_per_move": agent.seconds / max(1, agent.moves)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"run": str(args.run_dir), "player": ref.name,
                               "load_before": load, "opening_plies": args.opening,
                               "rows": rows}, indent=2))
    print(f"\n{'depth':>5} {'N':>5} {'score':>6} {'95% CI':>12} {'W/D/L':>9} {'s/move':>7}")
    for r in rows:
        print(f"{r['depth']:>5} {r['simulations']:>5} {r['score']:>6.2f} "
              f"{r['ci'][0]:>5.2f}-{r['ci'][1]:<5.2f} "
              f"{r['wins']:>3}/{r['draws']}/{r['losses']:<3} {r['s_per_move']:>7.3f}")


if __name__ == "__main__":
    main()
