"""Box actions end to end: what the env receives, short real trainings, evaluation.

Real Ray (one instance for the module), real envs (MPE spread with
``continuous_actions: true``, SISL multiwalker), real RLlib with tiny budgets.

* Both samplers send the env the sampled action mapped from [-1, 1] to the bounds and
  clipped there, and keep the raw sample in the batch: an episode replayed on a fresh env
  with those actions (computed here) gives the same observations and rewards.
* ppo (lean and stock sampler, clip and tanh) and mappo train: the log std moves,
  losses and entropies are finite.
* ``marl train`` + ``marl eval`` on a continuous run give sampled and greedy rows.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from envs.registry import make_env
from marl.spec import spec_from_dict

pytestmark = pytest.mark.timeout(900)

SPREAD = {"id": "cooperative/spread-v0", "config": {"continuous_actions": True}}
MULTIWALKER = {"id": "cooperative/multiwalker-v0"}
TINY: dict[str, Any] = {
    "seed": 0,
    "resources": {"num_env_runners": 0, "num_envs_per_env_runner": 2, "num_cpus": 2},
    "algorithm": {"train_batch_size": 200, "minibatch_size": 64, "num_epochs": 1},
    "policies": {"model": {"hidden": [32]}},
    "tracking": {"wandb": {"mode": "disabled"}, "tensorboard": False},
    "evaluation": {"at_end": False},
}
GAUSSIAN_ENTROPY = 0.5 * math.log(2 * math.pi * math.e)  # per dimension at std 1


def _spec(env: dict, *, algorithm: str = "ppo", squash: str = "clip", sampler: str = "lean",
          num_envs: int = 2):
    return spec_from_dict({
        "name": "box", "env": env, **TINY,
        "resources": {**TINY["resources"], "sampler": sampler,
                      "num_envs_per_env_runner": num_envs},
        "algorithm": {**TINY["algorithm"], "name": algorithm},
        "policies": {"model": {"hidden": [32], "action_squash": squash}}})


def _to_env(action: np.ndarray, space: Any) -> np.ndarray:
    """[-1, 1] -> [low, high], clipped (RLlib's normalize_actions), written out here."""
    return np.clip(space.low + (action + 1.0) * (space.high - space.low) / 2.0, space.low,
                   space.high)


# ------------------------------------------------------------------ what the env receives
@pytest.mark.own_sampler
@pytest.mark.parametrize("sampler", ["stock", "lean"])
def test_env_receives_the_sample_mapped_to_the_bounds(sampler: str) -> None:
    from ray.rllib.env.multi_agent_env_runner import MultiAgentEnvRunner

    from marl.experiment import resolve
    from marl.rllib.builder import build_config
    from marl.rllib.env.creator import register
    from marl.rllib.sampling.runner import LeanEnvRunner

    register()
    config = build_config(resolve(_spec(SPREAD, sampler="stock", num_envs=1)))
    runner = (MultiAgentEnvRunner if sampler == "stock" else LeanEnvRunner)(
        config=config, worker_index=0)
    try:
        episodes = runner.sample(num_timesteps=30)  # one whole episode (25 steps) and a bit
        first = next(e for e in episodes if e.env_t_started == 0 and e.is_done)
        env = make_env(SPREAD["id"], SPREAD["config"])
        obs, _ = env.reset(seed=runner._seed)
        agents = list(first.agent_episodes)
        space = env.action_space(agents[0])
        assert np.all(space.low == 0.0) and np.all(space.high == 1.0)
        raw = {a: first.agent_episodes[a].get_actions(slice(0, 25)) for a in agents}
        stacked = np.concatenate(list(raw.values()))
        assert stacked.shape == (75, 5)
        assert (np.abs(stacked) > 1.0).any(), "std-1 draws should leave [-1, 1] sometimes"
        for t in range(25):
            for a in agents:
                np.testing.assert_allclose(obs[a], first.agent_episodes[a].get_observations(t),
                                           atol=1e-5)
            actions = {a: _to_env(raw[a][t], space).astype(np.float32) for a in agents}
            assert all(space.contains(x) for x in actions.values())
            obs, rewards, *_ = env.step(actions)
            for a in agents:
                assert rewards[a] == pytest.approx(
                    float(first.agent_episodes[a].get_rewards(t)), abs=1e-5)
        # The batch holds the raw sample and its Gaussian log-prob.
        sa = first.agent_episodes[agents[0]]
        logp = sa.get_extra_model_outputs("action_logp", slice(0, 25))
        inputs = sa.get_extra_model_outputs("action_dist_inputs", slice(0, 25))
        mean, log_std = inputs[:, :5], inputs[:, 5:]
        np.testing.assert_array_equal(log_std, 0.0)  # std 1 at init, every row
        z = (raw[agents[0]] - mean) / np.exp(log_std)
        expected = (-0.5 * z ** 2 - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
        np.testing.assert_allclose(logp, expected, atol=1e-4)
    finally:
        runner.stop()


# ------------------------------------------------------------------ trainings
def _log_std(trainer: Any, module: str = "shared") -> np.ndarray:
    return trainer.algo.learner_group._learner.module[module].pi_log_std.detach().numpy().copy()


@pytest.mark.own_sampler
@pytest.mark.parametrize(("env", "sampler", "squash", "dims"),
                         [(SPREAD, "lean", "clip", 5), (MULTIWALKER, "stock", "tanh", 4)],
                         ids=["spread-lean-clip", "multiwalker-stock-tanh"])
def test_ppo_trains_a_gaussian_policy(ray_session, env: dict, sampler: str, squash: str,
                                      dims: int) -> None:
    from ray.rllib.env.multi_agent_env_runner import MultiAgentEnvRunner

    from marl.rllib.sampling.runner import LeanEnvRunner
    from marl.rllib.trainer import RLlibTrainer

    trainer = RLlibTrainer.from_spec(_spec(env, squash=squash, sampler=sampler))
    try:
        runner_cls = LeanEnvRunner if sampler == "lean" else MultiAgentEnvRunner
        assert type(trainer.algo.env_runner) is runner_cls
        before = _log_std(trainer)
        np.testing.assert_array_equal(before, np.zeros(dims))
        metrics = [trainer.train()[0] for _ in range(2)]
        after = _log_std(trainer)
        # The env runner acts with the learner's log std (synced as part of the actor).
        runner_log_std = trainer.algo.env_runner.module["shared"].pi_log_std.detach().numpy()
    finally:
        trainer.stop()
    assert not np.array_equal(before, after), "log std did not move"
    np.testing.assert_allclose(runner_log_std, after, atol=1e-6)
    last = metrics[-1]
    assert math.isfinite(last["train/shared/policy_loss"])
    assert math.isfinite(last["train/shared/vf_loss"])
    entropy = last["train/shared/entropy"]
    if squash == "clip":  # near the std-1 Gaussian's: 1.419 nats a dimension
        assert entropy == pytest.approx(dims * GAUSSIAN_ENTROPY, abs=0.1 * dims)
    else:  # tanh contracts: about 0.67 nats a dimension at std 1
        assert 0.4 * dims < entropy < 0.9 * dims
    assert last["perf/env_steps_total"] >= 400


def _cli(*args: str) -> str:
    from marl.cli.main import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_mappo_continuous_spread_trains_and_evaluates(ray_session, tmp_path: Path) -> None:
    data = {"name": "spread_box", "env": SPREAD, **TINY, "storage": str(tmp_path / "runs"),
            "algorithm": {**TINY["algorithm"], "name": "mappo"},
            "stop": {"iterations": 2}, "checkpoint": {"every": 1, "keep": 1},
            "evaluation": {"episodes": 2, "at_end": False}}
    spec_path = tmp_path / "spread_box.yaml"
    spec_path.write_text(yaml.safe_dump(data))
    _cli("train", str(spec_path))
    (run_dir,) = (tmp_path / "runs").iterdir()
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in rows] == [1, 2]
    for key in ("train/shared/policy_loss", "train/shared/vf_loss", "train/shared/entropy"):
        assert math.isfinite(rows[-1][key]), key
    assert rows[-1]["train/shared/entropy"] == pytest.approx(5 * GAUSSIAN_ENTROPY, abs=0.5)

    out = _cli("eval", str(run_dir), "--json", "--episodes", "2")
    table = json.loads(out[out.index("["):])
    assert [(r["pairing"], r["actions"]) for r in table] == [
        ("trained", "sampled"), ("random", "sampled"), ("trained", "greedy")]
    for row in table:
        assert row["episodes"] == 2
        assert math.isfinite(row["team_returns"]["team"]) and row["team_returns"]["team"] < 0
