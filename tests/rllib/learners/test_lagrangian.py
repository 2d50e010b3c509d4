"""Constrained training (``algorithm.constraints``): cost GAE on a hand-built episode,
then short real Lagrangian ppo/mappo runs on spread whose multiplier rises while the
collision cost is over its limit, and a resume that restores multipliers and cost
critics. Real Ray (one instance for the module), real envs, tiny budgets."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from marl.rllib.connectors.cost_gae import cost_gae
from marl.spec import spec_from_dict

TINY: dict[str, Any] = {
    "seed": 0,
    "resources": {"num_env_runners": 0, "num_envs_per_env_runner": 2, "num_cpus": 2},
    "algorithm": {"train_batch_size": 200, "minibatch_size": 64, "num_epochs": 1,
                  "constraints": [{"cost": "collisions", "limit": 0.0, "lambda_lr": 1.0}]},
    "policies": {"model": {"hidden": [32]}},
    "tracking": {"wandb": {"mode": "disabled"}, "tensorboard": False},
    "evaluation": {"at_end": False},
}
LAMBDA, COST = "train/shared/lambda_collisions", "rollout/cost/collisions"


def _spec(algorithm: str, sampler: str, advantage: str = "center"):
    constraints = [{**TINY["algorithm"]["constraints"][0], "advantage": advantage}]
    return spec_from_dict({**TINY, "name": "t", "env": {"id": "cooperative/spread-v0"},
                           "algorithm": {**TINY["algorithm"], "name": algorithm,
                                         "constraints": constraints},
                           "resources": {**TINY["resources"], "sampler": sampler}})


def _module(trainer: Any) -> Any:
    return trainer.algo.learner_group._learner.module["shared"]


def test_cost_gae_on_a_hand_built_episode() -> None:
    # 3 real steps and the bootstrap row; costs 1, 0, 1; gamma 0.9, lambda 0.5.
    values = np.array([1.0, 0.5, 0.25, 2.0], np.float32)
    costs = np.array([1.0, 0.0, 1.0, 0.0], np.float32)
    valid = np.array([True, True, True, False])
    no = np.zeros(4, np.float32)
    # Cut at a time limit: V_c(s_3) = 2.0 bootstraps the last step.
    # delta = c_t + 0.9 V_{t+1} - V_t = 0.45, -0.275, 2.55; A_t = delta_t + 0.45 A_{t+1}
    targets, adv = cost_gae(values, costs, no, np.array([0, 0, 1, 0], np.float32), valid,
                            gamma=0.9, lambda_=0.5)
    raw = np.array([0.45 + 0.45 * (-0.275 + 0.45 * 2.55), -0.275 + 0.45 * 2.55, 2.55])
    np.testing.assert_allclose(targets[:3], raw + values[:3], rtol=1e-5)
    np.testing.assert_allclose(adv[:3], raw - raw.mean(), rtol=1e-5)  # centered, not scaled
    assert abs(float(adv[valid].mean())) < 1e-6
    _, std_adv = cost_gae(values, costs, no, np.array([0, 0, 1, 0], np.float32), valid,
                          gamma=0.9, lambda_=0.5, standardize=True)  # advantage: standardize
    np.testing.assert_allclose(std_adv[:3], (raw - raw.mean()) / raw.std(), rtol=1e-5)
    # Terminated: no bootstrap, delta_2 = 1 - 0.25.
    targets, _ = cost_gae(values, costs, np.array([0, 0, 1, 0], np.float32), no, valid,
                          gamma=0.9, lambda_=0.5)
    a2 = 0.75
    a1 = -0.275 + 0.45 * a2
    np.testing.assert_allclose(targets[:3], np.array([0.45 + 0.45 * a1, a1, a2]) + values[:3],
                               rtol=1e-5)


def test_lagrangian_ppo_multiplier_rises_over_the_limit_and_resumes(ray_session,
                                                                    tmp_path: Path) -> None:
    from marl.rllib.trainer import RLlibTrainer

    trainer = RLlibTrainer.from_spec(_spec("ppo", "lean"))
    try:
        module = _module(trainer)
        assert module.lambdas() == {"collisions": 0.0}
        runner_module = trainer.algo.env_runner.module["shared"]
        assert runner_module.inference_only and not hasattr(runner_module, "cost_critics")
        before = {k: v.clone() for k, v in module.cost_critics.state_dict().items()}
        metrics = [trainer.train()[0] for _ in range(3)]
        costs = [m[COST] for m in metrics]
        lambdas = [m[LAMBDA] for m in metrics]  # the multiplier each update used
        assert lambdas[0] == 0.0 and all(c > 0 for c in costs)
        # limit 0, lr 1: lambda_{k+1} = lambda_k + J_c of iteration k (over the limit)
        assert lambdas[1] > 0 and lambdas[2] > lambdas[1]
        assert module.lambdas()["collisions"] > lambdas[2]
        assert all(math.isfinite(m["train/shared/cost_vf_loss_collisions"]) for m in metrics)
        after = module.cost_critics.state_dict()
        assert any(not torch.equal(before[k], after[k]) for k in before)  # the critic learns
        assert float(module.cost_norms["collisions"].debias) > 0

        # The learner batch: the cost column sums to the episodes' info costs; 0 on the
        # bootstrap rows.
        learner = trainer.algo.learner_group._learner
        episodes = trainer.algo.env_runner.sample(num_timesteps=100)
        in_infos = sum(float(i["cost_collisions"]) for ep in episodes
                       for sa in ep.agent_episodes.values() for i in sa.get_infos()[1:])
        batch = learner._learner_connector(rl_module=learner.module, batch={},
                                           episodes=episodes, shared_data={},
                                           metrics=learner.metrics)["shared"]
        column, mask = batch["cost_collisions"].numpy(), batch["loss_mask"].numpy()
        assert column.sum() == pytest.approx(in_infos) and in_infos > 0
        assert (column[~mask] == 0).all()
        assert {"cost_value_targets_collisions", "cost_vf_preds_collisions"} <= set(batch)

        path = tmp_path / "ckpt"
        trainer.save(path)
        saved_lambdas = module.lambdas()
        saved_critic = {k: v.clone() for k, v in module.cost_critics.state_dict().items()}
        saved_norm = module.cost_norms["collisions"].mean_std()
    finally:
        trainer.stop()

    resumed = RLlibTrainer(trainer.exp, restore_from=path)
    try:
        module = _module(resumed)
        assert module.lambdas() == saved_lambdas
        for key, value in module.cost_critics.state_dict().items():
            assert torch.equal(value, saved_critic[key]), key
        # ValueNorm's float64 moments come back through RLlib's float32 cast of the state
        assert [float(x) for x in module.cost_norms["collisions"].mean_std()] == \
            pytest.approx([float(x) for x in saved_norm], rel=1e-6)
        flat, _ = resumed.train()
        assert flat[LAMBDA] == pytest.approx(saved_lambdas["collisions"])  # used as saved
        assert module.lambdas()["collisions"] >= saved_lambdas["collisions"]
    finally:
        resumed.stop()


def test_mappo_lagrangian_team_cost_critic_stock_sampler(ray_session) -> None:
    from marl.rllib.trainer import RLlibTrainer

    trainer = RLlibTrainer.from_spec(_spec("mappo", "stock", advantage="standardize"))
    try:
        module = _module(trainer)
        (cost_gae,) = [c for c in trainer.algo.learner_group._learner._learner_connector.connectors
                       if type(c).__name__ == "CostGAE"]
        assert cost_gae.standardize == {"collisions"}
        assert module.cost_critics["collisions"][0].in_features == 3 * 18 + 3  # team obs + id
        metrics = [trainer.train()[0] for _ in range(2)]
        assert metrics[0][LAMBDA] == 0.0 < metrics[1][LAMBDA]
        assert metrics[0][COST] > 0 and "rollout/shared/cost/collisions" in metrics[0]
    finally:
        trainer.stop()
