"""Why a connect-four agent loses to alpha-beta: each lost game's tactical mistakes.

Plays a run's greedy policy against alpha-beta (random tie-breaks, one random opening
ply a side, as ``benchmarks/learn_connect4.py`` evaluates; fresh seeds) on each seat and,
in every lost game, flags the agent's moves that a 1-ply search would not make:

    missed_win    a winning move was on the board and the agent played another
    missed_block  the opponent had one playable winning cell and the agent did not fill it
    under_threat  no threat to block, but the agent played right under a cell where the
                  opponent completes four (the opponent then plays there), while a move
                  that does not was available

A lost game counts once per flag it holds (one game may hold several); ``lost_clean``
counts lost games with none of them (lost to a deeper plan or a double threat).

    .venv/bin/python benchmarks/connect4_losses.py runs/<run-id> --games 100
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "benchmarks")]


def _flags(obs: dict[str, Any], action: int) -> set[str]:
    from envs import connect_four_opponents as c4

    board = np.asarray(obs["observations"]).reshape(6, 7, 2).astype(np.int8)
    me, mask = c4._bitboards({"observation": board})
    opp = mask ^ me
    playable = (mask + c4._BOTTOM_ALL) & c4._BOARD
    my_wins = c4._winning_cells(me, mask) & playable
    opp_wins = c4._winning_cells(opp, mask)
    threats = opp_wins & playable
    cell = playable & c4._COLUMN[action]
    if my_wins and not my_wins & cell:
        return {"missed_win"}
    if threats and not threats & cell and not threats & (threats - 1):
        return {"missed_block"}
    if not threats and (cell << 1) & opp_wins and playable & ~(opp_wins >> 1):
        return {"under_threat"}
    return set()


def losses(run_dir: Path, seat: int, depth: int, games: int, seed: int) -> dict[str, Any]:
    from envs.connect_four_opponents import alphabeta_action
    from envs.factory import make_spec_env
    from learn_connect4 import _policy

    agent = _policy(run_dir, greedy=True)
    env = make_spec_env({"id": "competitive/connect_four-v0"})
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {"games": games, "wins": 0, "losses": 0, "missed_win": 0,
                           "missed_block": 0, "under_threat": 0, "lost_clean": 0}
    for game in range(games):
        env.reset(seed=seed + game)
        me = env.possible_agents[seat]
        ply, total, flags = 0, 0.0, set()
        for name in env.agent_iter():
            obs, reward, term, trunc, _ = env.last()
            if name == me:
                total += float(reward)
            if term or trunc:
                env.step(None)
                continue
            if ply < 2:
                action = int(rng.choice(np.flatnonzero(obs["action_mask"])))
            elif name == me:
                action = int(agent([obs])[0])
                flags |= _flags(obs, action)
            else:
                board = np.asarray(obs["observations"]).reshape(6, 7, 2).astype(np.int8)
                action = alphabeta_action({"observation": board,
                                           "action_mask": obs["action_mask"]}, depth, rng)
            env.step(action)
            ply += 1
        if total > 0:
            out["wins"] += 1
        elif total < 0:
            out["losses"] += 1
            for flag in flags:
                out[flag] += 1
            out["lost_clean"] += not flags
    env.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", type=Path, help="a connect-four run directory")
    parser.add_argument("--games", type=int, default=100, help="games per seat and depth")
    parser.add_argument("--depths", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--out", type=Path, help="write the table as JSON here")
    args = parser.parse_args()
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    rows = {}
    for depth in args.depths:
        for seat in (0, 1):
            row = losses(args.run, seat, depth, args.games, seed=90_000 + 1_000 * seat)
            rows[f"alphabeta_d{depth}/seat{seat}"] = row
            print(f"depth {depth} seat {seat}: " + ", ".join(f"{k} {v}" for k, v in row.items()),
                  flush=True)
    if args.out:
        args.out.write_text(json.dumps({"run": str(args.run), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
