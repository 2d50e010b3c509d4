"""Mixed-motive runs: social metrics in metrics.jsonl, reward shaping from the spec.

Real Ray, real envs, real RLlib PPO with tiny budgets (one Ray session for the module).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from marl.experiment import resolve
from marl.run import create_run_dir, train
from marl.spec import spec_from_dict

SOCIAL = ("efficiency", "equality", "sustainability", "peace")


def _tiny(name: str, env: dict[str, Any], storage: Path) -> dict[str, Any]:
    return {
        "name": name,
        "seed": 3,
        "env": env,
        "policies": {"mode": "shared", "model": {"hidden": [32]}},
        "algorithm": {"train_batch_size": 200, "minibatch_size": 64, "num_epochs": 1},
        "resources": {"num_env_runners": 0, "num_envs_per_env_runner": 2, "num_cpus": 2},
        "stop": {"iterations": 1},
        "tracking": {"wandb": {"mode": "disabled"}, "tensorboard": False},
        "evaluation": {"at_end": False},
        "storage": str(storage),
    }


def _train(data: dict[str, Any]) -> list[dict[str, float]]:
    spec = spec_from_dict(data)
    run_dir = create_run_dir(spec)
    train(resolve(spec), run_dir, run_dir.name)
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_shaped_commons_logs_social_metrics_from_raw_rewards(tmp_path: Path) -> None:
    # 2 agents, 50-step episodes: 200 env steps = 4 episodes in one iteration.
    env = {"id": "mixed/commons_harvest-v0", "config": {"num_agents": 2, "max_cycles": 50},
           "shaping": {"kind": "inequity_aversion", "alpha": 5.0, "beta": 0.05}}
    rows = _train(_tiny("social-commons", env, tmp_path))
    assert [r["iteration"] for r in rows] == [1]
    last = rows[-1]
    for key in (*SOCIAL, "apples_left", "raw_return"):
        assert math.isfinite(last[f"rollout/social/{key}"]), key
    assert 0.0 <= last["rollout/social/equality"] <= 1.0
    assert 0.0 <= last["rollout/social/sustainability"] <= 50.0
    assert 0.0 <= last["rollout/social/peace"] <= 2 * 50  # N * T untagged agent-steps
    # Both are means over the same episodes: total raw return = efficiency * T.
    assert last["rollout/social/raw_return"] == pytest.approx(
        last["rollout/social/efficiency"] * 50)
    # Apples only add reward (beam_cost 0) and inequity aversion only subtracts: raw
    # returns are >= 0 and the return PPO sees (shaped) is never above the raw one.
    assert last["rollout/social/raw_return"] >= 0.0
    assert last["rollout/episode_return_mean"] <= last["rollout/social/raw_return"] + 1e-6


@pytest.mark.parametrize("env_id", ["mixed/prisoners_dilemma-v0", "mixed/stag_hunt-v0",
                                    "mixed/chicken-v0"])
def test_matrix_games_train_and_log_cooperation(tmp_path: Path, env_id: str) -> None:
    rows = _train(_tiny("social-matrix", {"id": env_id}, tmp_path))
    last = rows[-1]
    coop, mutual = last["rollout/social/cooperation_rate"], last["rollout/social/mutual_cooperation"]
    assert 0.0 <= mutual <= coop <= 1.0  # both cooperating is rarer than one cooperating
    # Unshaped: the raw return is RLlib's episode return; 10 rounds per episode.
    assert last["rollout/social/raw_return"] == pytest.approx(last["rollout/episode_return_mean"])
    assert last["rollout/social/efficiency"] == pytest.approx(
        last["rollout/episode_return_mean"] / 10)
    assert 0.0 <= last["rollout/social/equality"] <= 1.0


def test_prosocial_prisoners_dilemma_trains(tmp_path: Path) -> None:
    env = {"id": "mixed/prisoners_dilemma-v0", "shaping": {"kind": "prosocial", "weight": 1.0}}
    last = _train(_tiny("social-prosocial", env, tmp_path))[-1]
    # weight 1: both players get the mean payoff, so the shaped sum equals the raw sum,
    # and every episode is perfectly equal in shaped terms (not necessarily in raw ones).
    assert last["rollout/social/raw_return"] == pytest.approx(last["rollout/episode_return_mean"])
    assert 0.0 <= last["rollout/social/cooperation_rate"] <= 1.0


def test_competitive_env_without_shaping_has_no_social_metrics(tmp_path: Path) -> None:
    from marl.rllib.callbacks.social import SocialMetricsCallback, social_callbacks

    quick = spec_from_dict(_tiny("c4", {"id": "competitive/connect_four-v0"}, tmp_path))
    assert social_callbacks(resolve(quick)) == []
    spread = spec_from_dict(_tiny("sp", {"id": "cooperative/spread-v0",
                                         "shaping": {"kind": "prosocial", "weight": 0.5}},
                                  tmp_path))
    assert social_callbacks(resolve(spread)) == [SocialMetricsCallback]


def test_episode_social_metrics_from_final_infos() -> None:
    from marl.rllib.callbacks.social import episode_social_metrics

    # Shaped commons: the env's own social dict is passed through, raw_return summed.
    social = {"efficiency": 0.1, "equality": 0.5, "sustainability": 20.0, "peace": 90.0,
              "apples_left": 3.0}
    infos = {"p0": {"social": social, "raw_return": 4.0}, "p1": {"social": social,
                                                                 "raw_return": 1.0}}
    out = episode_social_metrics(infos, {"p0": -30.0, "p1": -2.0}, 50)
    assert out == {**{f"social/{k}": v for k, v in social.items()}, "social/raw_return": 5.0}
    # Matrix game, unshaped: efficiency/equality from the episode returns (3, 1) over T=4.
    infos = {"a": {"cooperation_rate": 0.5, "mutual_cooperation": 0.25},
             "b": {"cooperation_rate": 1.0, "mutual_cooperation": 0.25}}
    out = episode_social_metrics(infos, {"a": 3.0, "b": 1.0}, 4)
    assert out == pytest.approx({"social/raw_return": 4.0, "social/efficiency": 1.0,
                                 "social/equality": 0.75, "social/cooperation_rate": 0.75,
                                 "social/mutual_cooperation": 0.25})
    # Negative returns: no Gini (undefined), efficiency still reported.
    out = episode_social_metrics({"a": {}, "b": {}}, {"a": -1.0, "b": 3.0}, 2)
    assert "social/equality" not in out and out["social/efficiency"] == 1.0
