"""Real short trainings on the butterfly envs through ``marl train``: pistonball's pixels
through a declared SuperSuit pipeline into the cnn encoder, and knights-archers-zombies
(black death) through the RLlib adapter."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from marl.cli.main import app

pytestmark = pytest.mark.usefixtures("ray_session")

TINY_RUN = {"checkpoint": {"every": 1, "keep": 1},
            "tracking": {"wandb": {"mode": "disabled"}, "tensorboard": False},
            "resources": {"num_env_runners": 0, "num_envs_per_env_runner": 1},
            "evaluation": {"at_end": False}}
PIXELS = [{"color_reduction": {"mode": "B"}}, {"resize": {"x_size": 32, "y_size": 32}},
          {"frame_stack": 2}, {"dtype": "float32"}, {"normalize_obs": {}}]


def _train(tmp_path: Path, name: str, data: dict[str, Any]) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"name": name, "storage": str(tmp_path / "runs"),
                                    **TINY_RUN, **data}))
    result = CliRunner().invoke(app, ["train", str(path)])
    assert result.exit_code == 0, result.output
    return next((tmp_path / "runs").glob(f"{name}-*"))


def _rows(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]


def _module(run_dir: Path, module_id: str) -> Any:
    from ray.rllib.core.rl_module.rl_module import RLModule

    latest = json.loads((run_dir / "checkpoints" / "latest").read_text())["name"]
    path = run_dir / "checkpoints" / latest / "learner_group/learner/rl_module" / module_id
    return RLModule.from_checkpoint(str(path))


def test_pistonball_trains_on_pixels_through_a_declared_pipeline(tmp_path: Path) -> None:
    from ray.rllib.core.columns import Columns
    from torch import nn

    from marl.rllib.env.creator import make_rllib_env

    run_dir = _train(tmp_path, "pistons", {
        "env": {"id": "cooperative/pistonball-v0",
                "config": {"n_pistons": 4, "max_cycles": 40}, "preprocess": PIXELS},
        "policies": {"model": {"encoder": "cnn", "conv": [[8, 4, 2], [16, 3, 1]],
                               "hidden": [32]}},
        "algorithm": {"train_batch_size": 256, "num_minibatches": 2, "num_epochs": 1},
        "stop": {"iterations": 2}})
    rows = _rows(run_dir)
    assert [r["iteration"] for r in rows] == [1, 2]
    assert rows[-1]["perf/env_steps_total"] >= 2 * 256
    # 4 pistons act every env step: ~4 rows per env step, plus bootstrap rows.
    assert rows[-1]["train/shared/num_module_steps_trained"] >= 4 * 256
    losses = [v for r in rows for k, v in r.items()
              if k.startswith("train/shared/") and k.endswith("_loss")]
    assert losses and all(math.isfinite(v) for v in losses)
    saved = yaml.safe_load((run_dir / "spec.yaml").read_text())
    assert saved["env"]["preprocess"] == PIXELS
    module = _module(run_dir, "shared")
    first = module.pi[1]
    assert isinstance(first, nn.Conv2d) and (first.in_channels, first.out_channels) == (2, 8)
    assert first.kernel_size == (4, 4) and first.stride == (2, 2)
    # The trained module acts on what the env runners' env gives it.
    env = make_rllib_env({"id": "cooperative/pistonball-v0",
                          "config": {"n_pistons": 4, "max_cycles": 40}, "preprocess": PIXELS})
    obs, _ = env.reset(seed=0)
    import torch

    batch = {Columns.OBS: torch.as_tensor(np.stack([obs[a] for a in env.possible_agents]))}
    logits = module.forward_inference(batch)[Columns.ACTION_DIST_INPUTS]
    assert logits.shape == (4, 3) and torch.isfinite(logits).all()


def test_knights_archers_zombies_keeps_every_agent_through_the_rllib_adapter() -> None:
    from marl.rllib.env.creator import make_rllib_env

    env = make_rllib_env({"id": "cooperative/knights_archers_zombies-v0",
                          "config": {"max_cycles": 900}, "preprocess": "none"})
    agents = set(env.possible_agents)
    obs, _ = env.reset(seed=1)
    rng = np.random.default_rng(1)
    steps, zero_obs = 0, 0
    while True:
        obs, rew, term, trunc, _ = env.step({a: int(rng.integers(6)) for a in obs})
        steps += 1
        assert set(obs) == agents and set(rew) == agents
        assert all(o.dtype == np.float32 and o.shape == (27, 5) for o in obs.values())
        zero_obs += sum(not o.any() for o in obs.values())
        if term["__all__"] or trunc["__all__"]:
            break
        assert not any(v for k, v in term.items() if k != "__all__")
    assert zero_obs > 0 and steps < 900  # agents died and kept observing zeros
    assert term["__all__"] and all(term[a] for a in agents)


def test_knights_archers_zombies_trains(tmp_path: Path) -> None:
    run_dir = _train(tmp_path, "kaz", {
        "env": {"id": "cooperative/knights_archers_zombies-v0", "config": {"max_cycles": 100}},
        "policies": {"model": {"hidden": [32]}},
        "algorithm": {"train_batch_size": 256, "num_minibatches": 2, "num_epochs": 1},
        "stop": {"iterations": 1}})
    row = _rows(run_dir)[-1]
    assert row["perf/env_steps_total"] >= 256
    assert row["train/shared/num_module_steps_trained"] >= 4 * 256  # all 4 agents, always
