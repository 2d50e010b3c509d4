"""Several learners (``num_learners=2``, CPU/gloo) with several trainable modules.

RLlib 2.58 hangs (ray#63819) or crashes when a learner's shard lacks a module or gets
a sliced turn-based chunk; ``marl.rllib.learners.multi_learner`` fixes both (see its docstring).
The unit tests pin the sharding rules; the trainings are real RLlib with 2 DDP learners
and must finish within the module's timeout (a hang fails them). Without the fix the
league test crashed in one run ("Trying to get index -1 from []") and hung past 7 min
in the next; the rarely-played-module test crashed in RLlib's learner connectors.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import pytest

from marl.rllib.learners.multi_learner import SortModules, cover_shards, modules_in, split_whole
from marl.spec import spec_from_dict

pytestmark = pytest.mark.timeout(1200)


# ------------------------------------------------------------------ sharding rules
class _Agent:
    def __init__(self, module_id: str, steps: int):
        self.module_id, self._steps = module_id, steps

    def __len__(self) -> int:
        return self._steps


class _Chunk:
    """A multi-agent episode chunk: agent -> (module, steps)."""

    def __init__(self, name: str, steps: int, **agents: tuple[str, int]):
        self.name, self._steps = name, steps
        self.agent_episodes = {a: _Agent(m, n) for a, (m, n) in agents.items()}

    def __len__(self) -> int:
        return self._steps

    def __repr__(self) -> str:
        return self.name


def test_split_whole_balances_without_slicing() -> None:
    chunks = [_Chunk(f"c{i}", n) for i, n in enumerate([9, 7, 5, 4, 3, 2])]
    shards = split_whole(chunks, 2)
    assert sorted(c.name for s in shards for c in s) == sorted(c.name for c in chunks)
    assert sorted(sum(map(len, s)) for s in shards) == [15, 15]


def test_every_shard_gets_every_trainable_module() -> None:
    common = [_Chunk(f"c{i}", 10, p0=("main", 5), p1=("main_v1", 5)) for i in range(4)]
    rare = _Chunk("rare", 6, p0=("main", 3), p1=("exploiter", 3))
    frozen_only = _Chunk("frozen", 2, p0=("snap", 1), p1=("snap", 1))
    shards = split_whole([*common, rare, frozen_only], 2)
    lacking = [i for i, s in enumerate(shards) if "exploiter" not in set().union(*map(modules_in, s))]
    assert lacking, "the setup must leave a shard without the rare module"
    covered = cover_shards(shards, trainable=lambda m: m != "snap")
    for shard in covered:
        present = set().union(*map(modules_in, shard))
        assert {"main", "main_v1", "exploiter"} <= present
    assert rare in covered[lacking[0]]  # the shortest chunk holding it, shared
    # Frozen modules are not copied around: no learner trains them.
    assert sum(frozen_only in s for s in covered) == 1


def test_empty_agent_episodes_do_not_count() -> None:
    chunk = _Chunk("c", 3, p0=("a", 3), p1=("b", 0))
    assert modules_in(chunk) == {"a"}


def test_sort_modules_gives_every_learner_the_same_order() -> None:
    piece = SortModules()
    out = piece(rl_module=None, batch={"p1": 1, "main": 2, "p0": 3}, episodes=[])
    assert list(out) == ["main", "p0", "p1"]


# ------------------------------------------------------------------ real trainings
BASE: dict[str, Any] = {
    "seed": 0,
    "env": {"id": "competitive/connect_four-v0"},
    "policies": {"mode": "per_agent", "model": {"hidden": [32]}},
    "algorithm": {"train_batch_size": 200, "minibatch_size": 50, "num_epochs": 1},
    # Two CPU learners + the driver; env runners in the driver keep it to 2 actors.
    "resources": {"num_env_runners": 0, "num_envs_per_env_runner": 4, "num_learners": 2,
                  "num_cpus": 4},
    "stop": {"iterations": 3},
    "checkpoint": {"every": 3, "keep": 1},
    "tracking": {"wandb": {"mode": "disabled"}, "tensorboard": False},
    "evaluation": {"at_end": False},
}


def _train(tmp_path: Path, **over: Any) -> Path:
    from marl.experiment import resolve
    from marl.run import create_run_dir, train

    data = {**BASE, "name": "ml", "storage": str(tmp_path)}
    for key, value in over.items():
        data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
    spec = spec_from_dict(data)
    run_dir = create_run_dir(spec)
    outcome = train(resolve(spec), run_dir, run_dir.name)
    assert outcome.iteration == spec.stop.iterations
    return run_dir


def _events(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]


@pytest.mark.slow  # the league test below covers the same fixes in the main lane
def test_two_learners_two_trainable_modules_per_seat(tmp_path: Path) -> None:
    """Connect four, one module per seat: RLlib's sharder slices turn-based chunks and
    its learner connectors crash; whole-chunk shards train."""
    run_dir = _train(tmp_path)
    events = _events(run_dir)
    assert any(e["event"] == "multi_learner" and e["learners"] == 2 for e in events)
    placed = next(e for e in events if e["event"] == "placement")
    assert len(placed["learners"]) == 2
    lines = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in lines] == [1, 2, 3]
    assert all("train/player_0/policy_loss" in r and "train/player_1/policy_loss" in r
               for r in lines)


def test_two_learners_with_a_rarely_played_module_do_not_hang(tmp_path: Path) -> None:
    """Three trainable modules, one rarely matched (a league's exploiter): without the
    covering shards the learner lacking it waits forever in DDP's all-reduce."""
    import ray
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec

    from marl.experiment import resolve
    from marl.rllib.builder import build_config
    from marl.rllib.env.creator import register
    from marl.rllib.trainer import init_ray

    class RareOpponent:  # defined here: pickled by value into the learner actors
        """player_1 plays ``rare`` in 1 episode of 6: its chunks often sit in one shard."""

        def __call__(self, agent_id: str, episode: Any = None, **kw: Any) -> str:
            if agent_id == "player_0":
                return "player_0"
            return "rare" if zlib.crc32(episode.id_.encode()) % 6 == 0 else "player_1"

    spec = spec_from_dict({**BASE, "name": "rare", "storage": str(tmp_path)})
    init_ray(spec)
    register()
    config = build_config(resolve(spec))
    specs = dict(config.rl_module_spec.rl_module_specs)
    specs["rare"] = specs["player_1"]
    config = (config.multi_agent(policies=set(specs), policy_mapping_fn=RareOpponent(),
                                 policies_to_train=sorted(specs))
              .rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs=specs)))
    algo = config.build_algo()
    try:
        trained = set()
        for _ in range(4):
            result = algo.train()
            trained |= {m for m in result["learners"] if m in specs}
        assert trained == {"player_0", "player_1", "rare"}
        # DDP kept both learners' copies identical.
        states = [r.get() for r in algo.learner_group.foreach_learner(
            lambda learner: learner.module["rare"].unwrapped().state_dict()).ignore_errors()]
        assert len(states) == 2
        assert all((states[0][k] == states[1][k]).all() for k in states[0])
    finally:
        algo.stop()
    assert ray.is_initialized()


def test_two_learners_train_a_league(tmp_path: Path) -> None:
    """A league: main agent, exploiters and frozen snapshots as separate modules, added
    while training; trainable players train on both learners."""
    league = {"scripted": ["alphabeta_d1"], "snapshot_step_budget": 50,
              "league_exploiter_reset_prob": 1.0, "leaderboard_every": 1}
    run_dir = _train(tmp_path, policies={"mode": "shared", "model": {"hidden": [32]}},
                     league=league, algorithm={"train_batch_size": 256, "minibatch_size": 64})
    assert any(e["event"] == "multi_learner" for e in _events(run_dir))
    lines = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    trained = {k.split("/")[1] for r in lines for k in r if k.startswith("train/")
               and k.endswith("/policy_loss")}
    assert len(trained) >= 2, trained  # several trainable players, each on 2 learners


@pytest.mark.slow  # the league test below covers the same fixes in the main lane
def test_two_learners_train_mappo_teams(tmp_path: Path) -> None:
    """MAPPO in tag: predators and prey, an actor and a team critic each (four trainable
    modules, the critics learner-only), on two learners."""
    run_dir = _train(
        tmp_path, env={"id": "competitive/tag-v0"},
        policies={"mode": "groups", "groups": {"adversary_*": "predators", "agent_*": "prey"},
                  "model": {"hidden": [32]}},
        algorithm={"name": "mappo", "critic": {"input": "team_obs"}, "train_batch_size": 200,
                   "minibatch_size": 100},
        resources={"num_envs_per_env_runner": 2})
    assert any(e["event"] == "multi_learner" for e in _events(run_dir))
    lines = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in lines] == [1, 2, 3]
    trained = {k.split("/")[1] for r in lines for k in r if k.startswith("train/")
               and k.endswith("/policy_loss")}
    assert {"predators", "prey"} <= trained, trained
