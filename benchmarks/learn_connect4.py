"""Plain self-play PPO on connect four (no league) for a fixed wall-clock budget, then
greedy and sampled play against random and alpha-beta depth 1, 2 and 4 on each seat.

Each variant trains a minimal spec (``name``, ``seed``, ``env.id``, ``stop.time_s``: the
env's preset does the rest) plus the variant's own settings, one after the other on the
same machine. Opponents vary their play, so an agent cannot win by memorising one line:
alpha-beta breaks ties at random, and every game opens with ``--opening`` random plies
for both sides (fresh seeds, fixed before looking). Prints a table and writes JSON and a
PNG of the training curves (policy entropy and episode length vs env steps).

    .venv/bin/python benchmarks/learn_connect4.py --minutes 15 --games 50
    .venv/bin/python benchmarks/learn_connect4.py --variants mlp --minutes 3
    .venv/bin/python benchmarks/learn_connect4.py --variants mlp reinforce dqn  # + baselines
    .venv/bin/python benchmarks/learn_connect4.py --variants cnn cnn+opening+mirror

``+opening``: every training episode starts 2 random plies per side in
(``env.random_opening``); ``+mirror``: symmetry augmentation (left-right mirror);
``+wide`` (64-channel convs, 256 hidden), ``+lr1e-3``, ``+lr2e-3``, ``+mb8`` (8 minibatches per epoch:
twice the SGD steps for the same learner work), ``+epochs8``: one more lever each on top
of ``cnn+opening``; ``+lr1e-3+mb8`` both of those; ``+anneal``: the learning rate falls
linearly to 0 over the budget (``lr_schedule: linear``), ``+ent`` the entropy weight too.
These name their settings against the board preset of the time (lr 3e-4, constant, no
openings), so they train what they trained then. ``preset`` is connect four's preset as
it is now (``envs/registry.py``: the minimal spec alone); ``preset+<lever>`` one lever on
top of it: ``+ent`` (entropy weight annealed too), ``+epochs2``, ``+batch8k``,
``+shared`` (the critic a value head on the actor's layers, ``share_encoder``),
``+threats`` (connect four's threat planes as input, ``policies.model.features``).

The variants ``reinforce`` and ``dqn`` are the textbook baselines as reference rows (the
same MLP, the same self-play of one shared policy): what PPO buys over a Monte-Carlo
policy gradient and over independent Q-learning. A dqn policy always acts greedily.
    .venv/bin/python benchmarks/learn_connect4.py --run mlp=runs/<id>   # evaluate only
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


# The board preset before connect four had its own (lr 3e-4, constant; no openings): the
# variants below state every setting they change from it, so a row of docs/benchmarks.md
# reproduces whatever connect four's preset (envs/registry.py) has become since.
_OLD_BOARD = {"lr": 3e-4, "lr_schedule": "constant"}


def _cnn(opening: int = 0, channels: int = 32, hidden: int = 128,
         **algorithm: Any) -> dict[str, Any]:
    """A cnn variant's settings: two 3x3 conv layers and one hidden layer, ``opening``
    random plies per side in training (``env.random_opening``) and ``algorithm``
    overrides of the old board preset."""
    return {"policies": {"model": {"encoder": "cnn", "conv": [[channels, 3], [channels, 3]],
                                   "hidden": [hidden]}},
            "env": {"random_opening": opening},
            "algorithm": {**_OLD_BOARD, **algorithm}}


def _mlp(**algorithm: Any) -> dict[str, Any]:
    """The mlp [256, 256] on the flattened board, no openings, the old board preset."""
    return {"policies": {"model": {"encoder": "mlp", "hidden": [256, 256]}},
            "env": {"random_opening": 0}, "algorithm": {**_OLD_BOARD, **algorithm}}


# The preset's cnn with the critic as a value head on the actor's layers (a spec's model
# replaces the preset's whole, so the layers are repeated here).
_SHARED_CNN = {"model": {"encoder": "cnn", "conv": [[32, 3], [32, 3]], "hidden": [128],
                         "share_encoder": True}}
_BARE_CNN = {"model": {"encoder": "cnn", "conv": [[32, 3], [32, 3]], "hidden": [128]}}
_THREATS_CNN = {"model": {"encoder": "cnn", "conv": [[32, 3], [32, 3]], "hidden": [128],
                          "features": "threats"}}
VARIANTS: dict[str, dict[str, Any]] = {
    "mlp": _mlp(),
    "mlp+mirror": _mlp(symmetry_augmentation=True),
    "cnn": _cnn(),
    "cnn+mirror": _cnn(symmetry_augmentation=True),
    "cnn+opening": _cnn(opening=2),
    "cnn+opening+mirror": _cnn(opening=2, symmetry_augmentation=True),
    # One lever each on top of cnn+opening (network size, learning rate, epochs).
    "cnn+opening+wide": _cnn(opening=2, channels=64, hidden=256),
    "cnn+opening+lr1e-3": _cnn(opening=2, lr=1e-3),
    "cnn+opening+lr2e-3": _cnn(opening=2, lr=2e-3),
    "cnn+opening+mb8": _cnn(opening=2, num_minibatches=8),
    "cnn+opening+lr1e-3+mb8": _cnn(opening=2, lr=1e-3, num_minibatches=8),
    "cnn+opening+epochs8": _cnn(opening=2, num_epochs=8),
    # Annealed: the rate (and the entropy weight) fall linearly to 0 over the budget.
    "cnn+opening+lr2e-3+anneal": _cnn(opening=2, lr=2e-3, lr_schedule="linear"),
    "cnn+opening+lr1e-3+anneal": _cnn(opening=2, lr=1e-3, lr_schedule="linear"),
    "cnn+opening+lr2e-3+anneal+ent": _cnn(opening=2, lr=2e-3, lr_schedule="linear",
                                          entropy_schedule="linear"),
    # Connect four's preset as it is now (the minimal spec alone), and one lever each on
    # top of it. The preset has had the threat planes since they were measured; the
    # results files from before (learn_connect4_preset*.json other than *threats*) are
    # the bare board, which "preset-threats" still trains (as do the +shared variants:
    # their model replaces the preset's whole).
    "preset": {},
    "preset-threats": {"policies": _BARE_CNN},
    "preset+ent": {"algorithm": {"entropy_schedule": "linear"}},
    "preset+epochs2": {"algorithm": {"num_epochs": 2}},
    "preset+batch8k": {"algorithm": {"train_batch_size": 8192}},
    "preset+shared": {"policies": _SHARED_CNN},
    "preset+ent+shared": {"algorithm": {"entropy_schedule": "linear"}, "policies": _SHARED_CNN},
    "preset+opening0-2": {"env": {"random_opening": [0, 2]}},
    "preset+shared+opening0-2": {"env": {"random_opening": [0, 2]}, "policies": _SHARED_CNN},
    # The cnn with connect four's threat planes as input (policies.model.features): the
    # preset's model now, spelled out.
    "preset+threats": {"policies": _THREATS_CNN},
    "reinforce": {"algorithm": {"name": "reinforce"}},
    "dqn": {"algorithm": {"name": "dqn"}},
}
OPPONENTS = ("random", "alphabeta_d1", "alphabeta_d2", "alphabeta_d4")


def train_variant(name: str, minutes: float, seed: int, storage: Path) -> Path:
    from marl.experiment import resolve
    from marl.rllib.trainer import init_ray
    from marl.run import create_run_dir, train
    from marl.spec import spec_from_dict

    data = {"name": f"learn_c4_{name.replace('+', '_')}", "seed": seed,
            "env": {"id": "competitive/connect_four-v0"}, "stop": {"time_s": minutes * 60},
            "evaluation": {"at_end": False}, "storage": str(storage),
            "tracking": {"wandb": {"mode": "disabled"}}, "checkpoint": {"every": 50}}
    for key, value in VARIANTS[name].items():
        data[key] = {**data.get(key, {}), **value}
    spec = spec_from_dict(data)
    init_ray(spec)
    run_dir = create_run_dir(spec)
    print(f"[{name}] run {run_dir}", flush=True)
    train(resolve(spec), run_dir, run_dir.name)
    return run_dir


def _policy(run_dir: Path, greedy: bool) -> Any:
    from marl.rllib.inference import checkpoint_policy
    from marl.run import latest_checkpoint

    ckpt, _ = latest_checkpoint(run_dir)
    return checkpoint_policy(ckpt, "shared", greedy=greedy, seed=7)


def play(agent: Any, opponent: str, agent_seat: int, games: int, opening: int,
         seed: int) -> list[float]:
    """Scores of ``games`` games (1 win, 0.5 draw, 0 loss) from the agent's seat."""
    from envs.connect_four_opponents import alphabeta_action
    from envs.factory import make_spec_env

    env = make_spec_env({"id": "competitive/connect_four-v0"})
    rng = np.random.default_rng(seed)
    depth = int(opponent.removeprefix("alphabeta_d")) if opponent != "random" else 0
    scores = []
    for game in range(games):
        env.reset(seed=seed + game)
        me = env.possible_agents[agent_seat]
        ply, total = 0, 0.0
        for name in env.agent_iter():
            obs, reward, term, trunc, _ = env.last()
            if name == me:
                total += float(reward)
            if term or trunc:
                env.step(None)
                continue
            legal = np.flatnonzero(obs["action_mask"])
            if ply < 2 * opening or (name != me and depth == 0):
                action = int(rng.choice(legal))
            elif name == me:
                action = int(agent([obs])[0])
            else:
                board = np.asarray(obs["observations"]).reshape(6, 7, 2).astype(np.int8)
                action = alphabeta_action({"observation": board,
                                           "action_mask": obs["action_mask"]}, depth, rng)
            env.step(action)
            ply += 1
        scores.append(1.0 if total > 0 else 0.5 if total == 0 else 0.0)
    env.close()
    return scores


def evaluate(run_dir: Path, games: int, opening: int) -> dict[str, Any]:
    from marl.play import wilson_interval

    out: dict[str, Any] = {}
    for mode in ("greedy", "sampled"):
        agent = _policy(run_dir, greedy=mode == "greedy")
        for opp in OPPONENTS:
            for seat in (0, 1):
                start = time.perf_counter()
                scores = play(agent, opp, seat, games, opening, seed=50_000 + 1_000 * seat)
                wins = sum(s == 1.0 for s in scores)
                lo, hi = wilson_interval(wins, len(scores))
                out[f"{mode}/{opp}/seat{seat}"] = {
                    "games": len(scores), "wins": wins, "draws": sum(s == 0.5 for s in scores),
                    "win_rate": wins / len(scores), "ci95": [lo, hi],
                    "eval_s": round(time.perf_counter() - start, 1)}
    return out


def curves(run_dir: Path) -> dict[str, list[float]]:
    rows = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return {"env_steps": [r.get("perf/env_steps_total", 0.0) for r in rows],
            "entropy": [r.get("train/shared/entropy", float("nan")) for r in rows],
            "episode_len": [r.get("rollout/episode_len_mean", float("nan")) for r in rows],
            "vf_explained_var": [r.get("train/shared/vf_explained_var", float("nan"))
                                 for r in rows]}


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for name, r in results.items():
        c = r["curves"]
        for ax, key in zip(axes, ("entropy", "episode_len", "vf_explained_var"), strict=True):
            ax.plot(np.asarray(c["env_steps"]) / 1e6, c[key], label=name)
            ax.set_xlabel("env steps (M)")
            ax.set_title(key)
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--variants", nargs="+", default=["mlp", "cnn", "reinforce", "dqn"], choices=list(VARIANTS))
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--games", type=int, default=50, help="games per seat per opponent")
    parser.add_argument("--opening", type=int, default=1,
                        help="random plies per side at the start of every game")
    parser.add_argument("--run", action="append", default=[], metavar="VARIANT=RUN_DIR",
                        help="evaluate existing runs instead of training")
    parser.add_argument("--out", type=Path,
                        default=REPO / "benchmarks" / "results" / "learn_connect4.json")
    args = parser.parse_args()
    os.environ.setdefault("WANDB_MODE", "disabled")
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.chdir(REPO)
    load = os.getloadavg()[0]
    runs = dict(r.split("=", 1) for r in args.run)
    results: dict[str, Any] = {}
    for name in args.variants if not runs else list(runs):
        run_dir = Path(runs[name]) if name in runs else train_variant(
            name, args.minutes, args.seed, REPO / "runs" / "bench")
        meta = json.loads((run_dir / "checkpoints" / "latest").read_text())
        results[name] = {"run": str(run_dir), "iterations": meta["iteration"],
                         "env_steps": meta["env_steps"], "curves": curves(run_dir),
                         "vs": evaluate(run_dir, args.games, args.opening)}
    print(f"\nload before: {load:.2f}; {args.games} games per seat, {args.opening} random "
          f"opening plies per side; win rate (95% CI)")
    for name, r in results.items():
        print(f"\n{name}: {r['iterations']} iterations, {r['env_steps']:,} env steps")
        print(f"  {'opponent':<14}{'greedy seat 0':>20}{'greedy seat 1':>20}"
              f"{'sampled seat 0':>20}{'sampled seat 1':>20}")
        for opp in OPPONENTS:
            cells = []
            for mode in ("greedy", "sampled"):
                for seat in (0, 1):
                    v = r["vs"][f"{mode}/{opp}/seat{seat}"]
                    cells.append(f"{v['win_rate']:.2f} ({v['ci95'][0]:.2f}-{v['ci95'][1]:.2f})")
            print(f"  {opp:<14}" + "".join(f"{c:>20}" for c in cells))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {"budget_minutes": None if runs else args.minutes, "seed": args.seed,
               "games_per_seat": args.games, "opening_plies": args.opening,
               "load_before": load, "results": results}
    args.out.write_text(json.dumps(payload, indent=2, default=float))
    plot(results, args.out.with_suffix(".png"))
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
