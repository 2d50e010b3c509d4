"""Short real ippo/mappo trainings: spread, tag with remote env runners, resume, eval.

Real Ray (one instance for the module), real envs, real RLlib with tiny budgets. Checks
where the critic lives (learners only), what it reads (the learner batch), that it
trains, and that checkpoints carry it and its normalization statistics.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from marl.rllib.env.critic_input import CRITIC_OBS
from marl.spec import spec_from_dict

TINY: dict[str, Any] = {
    "seed": 0,
    "resources": {"num_env_runners": 0, "num_envs_per_env_runner": 2, "num_cpus": 2},
    "algorithm": {"train_batch_size": 200, "minibatch_size": 64, "num_epochs": 1},
    "policies": {"model": {"hidden": [32]}},
    "tracking": {"wandb": {"mode": "disabled"}, "tensorboard": False},
    "evaluation": {"at_end": False},
}
TAG_GROUPS = {"mode": "groups", "groups": {"adversary_*": "predators", "agent_*": "prey"},
              "model": {"hidden": [32]}}


def _spec(env_id: str, algorithm: str, **over: Any):
    data = {"name": "t", "env": {"id": env_id}, **TINY, **over}
    data["algorithm"] = {**TINY["algorithm"], "name": algorithm, **over.get("algorithm", {})}
    return spec_from_dict(data)


def _learner(trainer: Any) -> Any:
    return trainer.algo.learner_group._learner


def _learner_batch(trainer: Any, episodes: list) -> dict:
    """What the learner trains on: its connector pipeline over sampled episodes."""
    learner = _learner(trainer)
    return learner._learner_connector(rl_module=learner.module, batch={}, episodes=episodes,
                                      shared_data={}, metrics=learner.metrics)


def _only_actor(keys: list[str]) -> bool:
    return bool(keys) and all(k.startswith("pi.") for k in keys)


@pytest.mark.parametrize("sampler", ["stock", "lean"])
def test_mappo_spread_trains_a_learner_only_central_critic(ray_session, sampler: str) -> None:
    from marl.rllib.trainer import RLlibTrainer

    resources = {**TINY["resources"], "sampler": sampler}
    trainer = RLlibTrainer.from_spec(_spec("cooperative/spread-v0", "mappo", resources=resources))
    try:
        module = _learner(trainer).module["shared"]
        assert module.critic[0].in_features == 3 * 18 + 3  # team obs + one-hot id
        before = {k: v.clone() for k, v in module.critic.state_dict().items()}
        metrics = [trainer.train()[0] for _ in range(2)]
        assert all(math.isfinite(m["train/shared/vf_loss"]) for m in metrics)
        after = module.critic.state_dict()
        assert any(not torch.equal(before[k], after[k]) for k in before)  # the critic learns
        assert float(module.value_norm.debias) > 0  # and its statistics update

        runner_module = trainer.algo.env_runner.module["shared"]
        assert runner_module.inference_only and not hasattr(runner_module, "critic")
        assert _only_actor(list(runner_module.get_state()))

        batch = _learner_batch(trainer, trainer.algo.env_runner.sample(num_timesteps=60))
        rows = batch["shared"]
        crit, obs = rows[CRITIC_OBS].numpy(), rows["obs"].numpy()
        assert crit.shape == (len(obs), 57)
        np.testing.assert_array_equal(crit[:, :18], obs)  # every row: own obs first
        assert (crit[:, -3:].sum(1) == 1).all()  # and a one-hot id last
        assert {"advantages", "value_targets", "vf_preds"} <= set(rows)
    finally:
        trainer.stop()


def test_ippo_critic_reads_the_agents_own_observation(ray_session) -> None:
    from marl.rllib.trainer import RLlibTrainer

    trainer = RLlibTrainer.from_spec(_spec("cooperative/spread-v0", "ippo"))
    try:
        assert "critic" not in trainer.algo.config.env_config  # nothing extra in infos
        assert _learner(trainer).module["shared"].critic[0].in_features == 18
        assert math.isfinite(trainer.train()[0]["train/shared/vf_loss"])
        assert _only_actor(list(trainer.algo.env_runner.module["shared"].get_state()))
    finally:
        trainer.stop()


def test_mappo_tag_team_critics_with_remote_vectorized_runners(ray_session) -> None:
    from marl.rllib.trainer import RLlibTrainer

    spec = _spec("competitive/tag-v0", "mappo", policies=TAG_GROUPS,
                 resources={"num_env_runners": 2, "num_envs_per_env_runner": 2,
                            "num_cpus_per_env_runner": 0.5, "num_cpus": 2})
    trainer = RLlibTrainer.from_spec(spec)
    try:
        modules = _learner(trainer).module
        assert modules["predators"].critic[0].in_features == 3 * 16 + 3
        assert modules["prey"].critic[0].in_features == 14 + 1
        metrics, _ = trainer.train()
        assert {"train/predators/vf_loss", "train/prey/vf_loss"} <= set(metrics)

        states = trainer.algo.env_runner_group.foreach_env_runner(
            lambda er: {m: list(er.module[m].get_state()) for m in ("predators", "prey")},
            local_env_runner=False)
        assert len(states) == 2
        assert all(_only_actor(keys) for s in states for keys in s.values())

        episodes = [ep for eps in trainer.algo.env_runner_group.foreach_env_runner(
            lambda er: er.sample(num_timesteps=40), local_env_runner=False) for ep in eps]
        batch = _learner_batch(trainer, episodes)
        # each team's critic fits its own team's returns: predators are only ever rewarded,
        # the prey only ever penalized
        mask = batch["predators"]["loss_mask"].bool()
        assert (batch["predators"]["rewards"][mask] >= 0).all()
        assert (batch["prey"]["rewards"][batch["prey"]["loss_mask"].bool()] <= 0).all()
        assert batch["predators"][CRITIC_OBS].shape[1] == 51
        assert batch["prey"][CRITIC_OBS].shape[1] == 15
    finally:
        trainer.stop()


def test_mappo_turn_based_connect_four_trains(ray_session) -> None:
    from marl.rllib.trainer import RLlibTrainer

    trainer = RLlibTrainer.from_spec(_spec("competitive/connect_four-v0", "mappo"))
    try:
        assert _learner(trainer).module["shared"].critic[0].in_features == 2 * 84 + 2
        assert math.isfinite(trainer.train()[0]["train/shared/vf_loss"])
    finally:
        trainer.stop()


def test_mappo_resume_restores_critic_and_its_statistics(ray_session, tmp_path: Path) -> None:
    from ray.rllib.core.rl_module.rl_module import RLModule

    from marl.evaluate import evaluate_run
    from marl.rllib.inference import module_dir
    from marl.rllib.trainer import RLlibTrainer
    from marl.experiment import resolve
    from marl.run import create_run_dir, open_run_dir, train

    spec = _spec("cooperative/spread-v0", "mappo", stop={"iterations": 1},
                 storage=str(tmp_path / "runs"))
    run_dir = create_run_dir(spec)
    first = train(resolve(spec), run_dir, run_dir.name)
    saved = RLModule.from_checkpoint(str(module_dir(first.checkpoint, "shared").resolve()))
    saved_state = saved.get_state()
    assert {"value_norm.m1", "value_norm.m2", "value_norm.debias"} <= set(saved_state)
    assert saved_state["value_norm.debias"] > 0
    assert any(k.startswith("critic.") for k in saved_state)

    spec2, _ = open_run_dir(run_dir, ["stop.iterations=2"])
    trainer = RLlibTrainer.from_spec(spec2, restore_from=first.checkpoint)
    try:
        restored = _learner(trainer).module["shared"].get_state()
        assert set(restored) == set(saved_state)
        for key, value in saved_state.items():
            np.testing.assert_array_equal(restored[key], value, err_msg=key)
        trainer.train()
        assert trainer.iteration == 2
        debias = float(_learner(trainer).module["shared"].value_norm.debias)
        assert debias > saved_state["value_norm.debias"]  # kept accumulating
    finally:
        trainer.stop()
    rows = evaluate_run(run_dir, episodes=2)  # the actor loads and plays from the checkpoint
    assert rows and all(math.isfinite(v) for r in rows for v in r.team_returns.values())
