"""The league wired into real RLlib training: snapshots, resets, resume, restarts, W&B.

Real Ray, real envs, real PPO with tiny budgets; snapshot thresholds are set low so
the league grows within two or three iterations.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from marl.league import League, Reset, Snapshot, decision_from_dict
from marl.experiment import resolve
from marl.run import create_run_dir, latest_checkpoint, open_run_dir, save_checkpoint, train
from marl.spec import spec_from_dict
from runner_restart import kill_runner_and_train_until_back, league_after_one_iteration  # tests/rllib/

pytestmark = pytest.mark.timeout(900)

WEIGHTLESS = ("random", "alphabeta_d1")


def league_spec(tmp_path: Path, **over: Any) -> Any:
    data = {
        "name": "league-test", "seed": 0, "storage": str(tmp_path),
        "env": {"id": "competitive/connect_four-v0"},
        "resources": {"num_env_runners": 0, "num_envs_per_env_runner": 4, "num_cpus": 2},
        "algorithm": {"train_batch_size": 256, "minibatch_size": 64, "num_epochs": 1},
        "policies": {"model": {"hidden": [32]}},
        # A step budget of 50 env steps: every learner that played is frozen each iteration;
        # league exploiters are always reset after their snapshot.
        "league": {"scripted": ["alphabeta_d1"], "snapshot_step_budget": 50,
                   "league_exploiter_reset_prob": 1.0, "leaderboard_every": 1},
        "stop": {"iterations": 2},
        "checkpoint": {"every": 2, "keep": 3},
        "tracking": {"wandb": {"mode": "offline"}, "tensorboard": False},
        "evaluation": {"at_end": False},
    }
    for key, value in over.items():
        data[key] = {**data[key], **value} if isinstance(value, dict) else value
    return spec_from_dict(data)


def flat(weights: dict[str, Any]) -> dict[str, np.ndarray]:
    return {k: np.asarray(v.detach().cpu() if hasattr(v, "detach") else v)
            for k, v in weights.items()}


def same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    a, b = flat(a), flat(b)
    return sorted(a) == sorted(b) and all(np.array_equal(a[k], b[k]) for k in a)


def checkpointed_weights(ckpt: Path, pid: str) -> dict[str, Any]:
    from ray.rllib.core.rl_module.rl_module import RLModule

    module = RLModule.from_checkpoint(str(ckpt / "learner_group" / "learner" / "rl_module" / pid))
    return module.get_state()


def test_connect_four_league_snapshots_resets_resumes_and_logs(tmp_path: Path) -> None:
    from marl.rllib.inference import learner_weights
    from marl.rllib.league.runtime import LeagueRuntime
    from marl.rllib.trainer import RLlibTrainer

    os.environ["SDL_VIDEODRIVER"] = "dummy"
    spec = league_spec(tmp_path)
    run_dir = create_run_dir(spec)

    # 1. Two iterations through the normal train loop: snapshots, checkpoint, W&B.
    outcome = train(resolve(spec), run_dir, run_dir.name)
    ckpt = outcome.checkpoint
    saved = json.loads((ckpt / "league.json").read_text())
    league = League.from_state(saved)
    frozen = [p for p in league.players.values() if p.role == "frozen"]
    assert {p.parent for p in frozen} >= {"main_0"}, saved["players"]
    assert all(p.id == f"{p.parent}_g{p.generation}" for p in frozen)
    modules = {p.name for p in (ckpt / "learner_group" / "learner" / "rl_module").iterdir()
               if p.is_dir()}
    assert modules == set(league.player_ids)
    lines = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert lines[-1]["league/size"] == len(league.players)
    assert "league/main_0/elo" in lines[-1] and lines[-1]["league/games_total"] == league.matches

    media = run_dir.glob("wandb/offline-run-*/files/media/table/league/leaderboard*.table.json")
    tables = sorted(media)
    assert len(tables) == 2  # leaderboard_every: 1, two iterations
    last = json.loads(tables[-1].read_text())
    assert last["columns"][:3] == ["player", "role", "generation"]
    assert {row[0] for row in last["data"]} == set(league.player_ids)
    assert list(run_dir.glob("wandb/offline-run-*/files/media/images/league/payoff*.png"))
    assert list(run_dir.glob("wandb/offline-run-*/files/media/videos/league/replay*.gif"))

    # 2. Restore: every member with its exact weights, the exact league state, the mapping.
    trainer = RLlibTrainer.from_spec(spec, restore_from=ckpt)
    try:
        algo = trainer.algo
        rt = LeagueRuntime.start(trainer.exp, algo, ckpt)
        assert rt.league.to_state() == saved
        weighted = [pid for pid in league.player_ids if pid not in WEIGHTLESS]
        for pid in weighted:
            assert same(learner_weights(algo, pid), checkpointed_weights(ckpt, pid)), pid
        seats = trainer.exp.seats
        assert seats == {"player_0": 0, "player_1": 1}
        expected = rt.league.mapping(algo.iteration, seats)
        on_runners = algo.env_runner_group.foreach_env_runner(
            lambda er: er.config.policy_mapping_fn)
        assert on_runners and all(fn == expected for fn in on_runners)
        assert expected.iteration == 2

        # 3. One more iteration: frozen players never change, the learners do; new
        #    snapshots copy the learner's weights exactly; resets restore initial weights.
        frozen_before = {pid: learner_weights(algo, pid) for pid in weighted
                         if rt.league.player(pid).role == "frozen"}
        main_before = learner_weights(algo, "main_0")
        _, result = trainer.train()
        trained = {pid: learner_weights(algo, pid) for pid in rt.league.learner_ids}
        assert not same(trained["main_0"], main_before)
        rt.after_iteration(result)
        decisions = [decision_from_dict(d) for d in rt.last_decisions]
        snaps = [d for d in decisions if isinstance(d, Snapshot)]
        resets = [d for d in decisions if isinstance(d, Reset)]
        assert any(d.source_id == "main_0" for d in snaps), rt.last_decisions
        for d in snaps:
            assert same(learner_weights(algo, d.new_id), trained[d.source_id]), d
            assert d.new_id in algo.config.policies and d.new_id not in rt.league.learner_ids
        if any(d.source_id == "main_exploiter_0" for d in snaps):  # reset at every snapshot
            assert Reset("main_exploiter_0") in resets
        for d in resets:
            assert same(learner_weights(algo, d.player_id), rt.initial_weights[d.player_id])
        for pid, w in frozen_before.items():
            assert same(learner_weights(algo, pid), w), f"frozen {pid} changed"
        ckpt3 = save_checkpoint(trainer, run_dir, spec.checkpoint.keep, {}, hooks=[rt])
    finally:
        trainer.stop()
    assert League.load(ckpt3 / "league.json").to_state() == rt.league.to_state()

    # 4. `marl train --resume` continues from the newest league checkpoint.
    spec4, run_id = open_run_dir(run_dir, ["stop.iterations=4"])
    outcome = train(resolve(spec4), run_dir, run_id, resume=True)
    assert outcome.iteration == 4
    final = League.load(latest_checkpoint(run_dir)[0] / "league.json")
    assert set(final.player_ids) >= set(rt.league.player_ids)
    assert final.matches > rt.league.matches

    # 5. The CLI: leaderboard and a head-to-head match on both seats.
    from typer.testing import CliRunner

    from marl.cli.main import app

    shown = CliRunner().invoke(app, ["league", "show", str(run_dir), "--json"])
    assert shown.exit_code == 0, shown.output
    rows = json.loads(shown.stdout)
    assert [r["player"] for r in rows] == [r.player for r in final.leaderboard()]
    # Nash averaging and alpha-Rank of the real payoff table: distributions over players.
    assert sum(r["nash_weight"] for r in rows) == pytest.approx(1.0, abs=1e-3)
    assert sum(r["alpha_rank"] for r in rows) == pytest.approx(1.0, abs=1e-3)
    assert max(r["nash_skill"] for r in rows) <= 1e-3
    played = CliRunner().invoke(app, ["eval", str(run_dir), "--player", "main_0_g0",
                                      "--vs", "alphabeta_d1", "--episodes", "4", "--json"])
    assert played.exit_code == 0, played.output
    match = json.loads(played.stdout)
    assert match["games"] == 4 and match["a"].endswith(":main_0_g0")
    assert {k: v["games"] for k, v in match["by_seat"].items()} == {"0": 2, "1": 2}


def test_restarted_env_runner_gets_the_current_mapping(tmp_path: Path) -> None:
    """A remote env runner that dies is rebuilt from the group's original config; the
    league callback must push the current match table to it before it samples."""
    spec = league_spec(tmp_path, resources={"num_env_runners": 1, "num_cpus_per_env_runner": 0.5},
                       league={"replay": False, "snapshot_step_budget": 100_000})
    trainer, algo, rt = league_after_one_iteration(spec)
    try:
        driver_fn = algo.config.policy_mapping_fn

        # The same answers in the remote process as in the driver (pickled, stateless).
        ids = [uuid.UUID(int=i * 7919 + 1).hex for i in range(64)]
        remote = algo.env_runner_group.foreach_env_runner(
            lambda er: [er.config.policy_mapping_fn(a, e) for e in ids
                        for a in ("player_0", "player_1")], local_env_runner=False)
        assert remote == [[driver_fn(a, e) for e in ids for a in ("player_0", "player_1")]]

        pid_before, after = kill_runner_and_train_until_back(algo)
        assert len(after) == 1 and after[0][0] != pid_before, "the runner was not restarted"
        assert after[0][1] == 1, "the restarted runner kept the mapping it was created with"
        assert algo.config.policy_mapping_fn == driver_fn  # nothing else re-matched meanwhile
    finally:
        trainer.stop()


@pytest.mark.parametrize(("env", "seat_agents"), [
    ({"id": "competitive/leduc_holdem-v0"}, {"player_0": 0, "player_1": 1}),
    ({"id": "competitive/tag-v0", "preprocess": "pad"},
     {"adversary_0": 0, "adversary_1": 0, "adversary_2": 0, "agent_0": 1}),
    ({"id": "mixed/prisoners_dilemma-v0"}, {"player_0": 0, "player_1": 1}),  # mixed-motive
])
def test_league_plays_turn_based_and_team_games(tmp_path: Path, env: dict,
                                                seat_agents: dict) -> None:
    from marl.rllib.inference import learner_weights
    from marl.rllib.league.runtime import LeagueRuntime
    from marl.rllib.trainer import RLlibTrainer

    spec = league_spec(tmp_path, env=env, league={"scripted": [], "replay": False,
                                                  "snapshot_step_budget": 150},
                       algorithm={"train_batch_size": 200})
    trainer = RLlibTrainer.from_spec(spec)
    try:
        rt = LeagueRuntime.start(trainer.exp, trainer.algo)
        assert rt.layout.seats == seat_agents
        for _ in range(2):
            _, result = trainer.train()
            rt.after_iteration(result)
        for p in rt.league.players.values():  # snapshots have their source's architecture
            if p.role == "frozen":
                snap = flat(learner_weights(trainer.algo, p.id))
                src = flat(learner_weights(trainer.algo, p.parent))
                assert {k: v.shape for k, v in snap.items()} == {k: v.shape for k, v in src.items()}
    finally:
        trainer.stop()
    league = rt.league
    assert league.matches > 0
    assert league.player("main_0").games > 0
    assert league.player("main_0").steps > 0
    assert any(p.role == "frozen" for p in league.players.values())  # budget 150 < 2 x 200
    assert league.ratings.get("main_0").sigma < 25 / 3  # rated from games vs others


def test_match_counts_from_results_skip_keys_without_games() -> None:
    from marl.rllib.league.callback import parse_match_counts

    matches, steps = parse_match_counts({
        "matches": {"main_0|random|1": 3.0, "random|main_0|0.5": float("nan"),
                    "main_0|main_0|0": 1},
        "steps": {"main_0": 120.0, "random": float("nan")}})
    assert matches == [("main_0", "main_0", 0.0, 1), ("main_0", "random", 1.0, 3)]
    assert steps == {"main_0": 120}
