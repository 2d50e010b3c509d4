"""Data shares and the scripted ladder in a real league run: measured rows match the spec,
and resume keeps the row counts and the ladder.

Real Ray, real connect four, real PPO at a tiny budget.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from marl.experiment import resolve
from marl.league import League
from marl.run import create_run_dir, latest_checkpoint, open_run_dir, train
from marl.spec import spec_from_dict

pytestmark = pytest.mark.timeout(900)

SHARES = {"main": 0.7, "main_exploiter": 0.15, "league_exploiter": 0.15}


def test_measured_rows_follow_data_share_and_resume_keeps_them(tmp_path: Path) -> None:
    spec = spec_from_dict({
        "name": "shares", "seed": 3, "storage": str(tmp_path),
        "env": {"id": "competitive/connect_four-v0"},
        "resources": {"num_env_runners": 0, "num_envs_per_env_runner": 8, "num_cpus": 2},
        "algorithm": {"train_batch_size": 1000, "num_minibatches": 1, "num_epochs": 1},
        # the cnn encoder: a league builds its one learner template from the board
        "policies": {"model": {"encoder": "cnn", "conv": [[8, 3]], "hidden": [32]}},
        "league": {"scripted": ["alphabeta_d1", "alphabeta_d2"], "data_share": SHARES,
                   "matches_per_learner": None, "leaderboard_every": 100, "replay": False,
                   # random unlocks after 4 games at >= 0 (always): d1 joins the ladder
                   "ladder_unlock_win_rate": 0.0, "ladder_unlock_min_games": 4},
        # 8 iterations of ~40 episodes: matches are drawn per episode (by its random id),
        # so 4 iterations' shares scattered by ~0.05 around the spec and failed now and then
        "stop": {"iterations": 8},
        "checkpoint": {"every": 4, "keep": 2},
        "tracking": {"wandb": {"mode": "disabled"}, "tensorboard": False},
        "evaluation": {"at_end": False},
    })
    run_dir = create_run_dir(spec)
    outcome = train(resolve(spec), run_dir, run_dir.name)
    league = League.load(outcome.checkpoint / "league.json")
    measured = league.row_shares()

    assert measured == pytest.approx(
        {"main_0": 0.7, "main_exploiter_0": 0.15, "league_exploiter_0": 0.15}, abs=0.08), measured
    lines = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    last = lines[-1]
    assert last["league/main_0/train_share"] == pytest.approx(measured["main_0"])
    # every iteration's rows of the main agent are about what its learner trained on
    for line in lines[1:]:
        rows, trained = line["league/main_0/train_rows"], line["train/main_0/num_module_steps_trained"]
        assert rows == pytest.approx(trained, rel=0.35), (rows, trained)
    split = league.row_split("main_0")
    # main_split and ladder_share count the main agent's rows of its own matches: the
    # ladder's 0.15 of them (its seat in the exploiters' games comes on top)
    own = 1.0 - split.get("live_exploiters", 0.0)
    assert split["ladder"] / own == pytest.approx(0.15, abs=0.07), split
    assert league.ladder_unlocked >= 2 and "alphabeta_d1" in league.ladder
    assert sum(split.values()) == pytest.approx(1.0)

    # resume: row counts and the ladder carry on from the checkpoint
    spec2, run_id = open_run_dir(run_dir, ["stop.iterations=10"])
    train(resolve(spec2), run_dir, run_id, resume=True)
    resumed = League.load(latest_checkpoint(run_dir)[0] / "league.json")
    assert resumed.ladder_unlocked >= league.ladder_unlocked
    before = sum(league.train_rows.values())
    assert sum(resumed.train_rows.values()) > before
    assert all(resumed.train_rows.get(k, 0) >= n for k, n in league.train_rows.items())
    assert resumed.row_shares() == pytest.approx(
        {"main_0": 0.7, "main_exploiter_0": 0.15, "league_exploiter_0": 0.15}, abs=0.08)
