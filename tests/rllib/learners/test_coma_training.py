"""Short real coma trainings on spread (both samplers), checkpoint and resume.

Real Ray (one instance for the module), real env, real RLlib with tiny budgets. Checks
the Q critic's shape (state/team obs + id + teammates' actions in, one value per action
out), that the teammates' actions in the learner batch are the ones the sampled episodes
hold at the same env step (chunk cuts included), that critic and actor train, and that a
checkpoint resumes with critic and value statistics.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from ray.rllib.connectors.learner import AddOneTsToEpisodesAndTruncate

from marl.rllib.connectors.coma import AddOthersActions
from marl.rllib.modules.coma_critic import COMA_OTHERS, ComaModule
from marl.spec import spec_from_dict

TINY: dict[str, Any] = {
    "seed": 0,
    "resources": {"num_env_runners": 0, "num_envs_per_env_runner": 2, "num_cpus": 2},
    "algorithm": {"name": "coma", "train_batch_size": 200, "minibatch_size": 64,
                  "num_epochs": 1},
    "policies": {"model": {"hidden": [32]}},
    "tracking": {"wandb": {"mode": "disabled"}, "tensorboard": False},
    "evaluation": {"at_end": False},
}


def _spec(**over: Any):
    return spec_from_dict({"name": "t", "env": {"id": "cooperative/spread-v0"}, **TINY, **over})


def _learner(trainer: Any) -> Any:
    return trainer.algo.learner_group._learner


@pytest.mark.parametrize("sampler", ["stock", "lean"])
def test_coma_spread_trains_a_counterfactual_q_critic(ray_session, sampler: str) -> None:
    from marl.rllib.trainer import RLlibTrainer

    resources = {**TINY["resources"], "sampler": sampler}
    trainer = RLlibTrainer.from_spec(_spec(resources=resources))
    try:
        learner = _learner(trainer)
        module = learner.module["shared"]
        assert isinstance(module, ComaModule)
        assert module.critic[0].in_features == 3 * 18 + 3 + 2 * 5  # team obs, id, 2 teammates
        assert module.critic[-1].out_features == 5  # Q(s, u_-i, a) for each of 5 actions
        before = {k: v.clone() for k, v in module.state_dict().items()}
        metrics = [trainer.train()[0] for _ in range(2)]
        assert all(math.isfinite(m["train/shared/vf_loss"]) for m in metrics)
        after = module.state_dict()
        changed = {k.split(".")[0] for k in before if not torch.equal(before[k], after[k])}
        assert {"critic", "pi", "value_norm"} <= changed
        assert not hasattr(trainer.algo.env_runner.module["shared"], "critic")  # actors only

        # The teammates' actions per row are the episodes' actions at the same env step
        # (40 steps over 2 envs: chunks cut mid-episode, carried over from the last sample).
        episodes = trainer.algo.env_runner.sample(num_timesteps=40)
        settings = trainer.algo.config.learner_config_dict["coma"]
        batch: dict = {}
        for piece in (AddOneTsToEpisodesAndTruncate(),
                      AddOthersActions(teams=settings["teams"],
                                       num_actions=settings["num_actions"])):
            batch = piece(rl_module=learner.module, batch=batch, episodes=episodes,
                          shared_data={})
        team = settings["teams"]["team"]
        checked = 0
        for ma in episodes:
            actions = {a: np.asarray(sa.get_actions(slice(0, len(sa) - 1)))
                       for a, sa in ma.agent_episodes.items()}
            for agent, sa in ma.agent_episodes.items():
                rows = np.concatenate([np.asarray(x, np.float32).reshape(-1, 10) for x in
                                       batch[COMA_OTHERS][(ma.id_, agent, "shared")]])
                assert len(rows) == len(sa)
                others = [j for j in team if j != agent]
                for k in range(len(sa) - 1):
                    want = np.zeros(10, np.float32)
                    for b, j in enumerate(others):
                        want[5 * b + int(actions[j][k])] = 1.0
                    np.testing.assert_array_equal(rows[k], want)
                    checked += 1
                assert (rows[-1].reshape(2, 5).sum(1) == 1).all()  # sampled at the bootstrap
        assert checked >= 3 * 40 - 3 * len(episodes)
    finally:
        trainer.stop()


def test_coma_resume_restores_the_q_critic_and_trains_on(ray_session, tmp_path: Path) -> None:
    from ray.rllib.core.rl_module.rl_module import RLModule

    from marl.evaluate import evaluate_run
    from marl.experiment import resolve
    from marl.rllib.inference import module_dir
    from marl.rllib.trainer import RLlibTrainer
    from marl.run import create_run_dir, open_run_dir, train

    spec = _spec(stop={"iterations": 1}, storage=str(tmp_path / "runs"))
    run_dir = create_run_dir(spec)
    first = train(resolve(spec), run_dir, run_dir.name)
    saved = RLModule.from_checkpoint(str(module_dir(first.checkpoint, "shared").resolve()))
    assert isinstance(saved, ComaModule)
    saved_state = saved.get_state()
    assert saved_state["critic.2.weight"].shape[0] == 5  # the Q head, one row per action

    spec2, _ = open_run_dir(run_dir, ["stop.iterations=2"])
    trainer = RLlibTrainer.from_spec(spec2, restore_from=first.checkpoint)
    try:
        restored = _learner(trainer).module["shared"].get_state()
        assert set(restored) == set(saved_state)
        for key, value in saved_state.items():
            np.testing.assert_array_equal(restored[key], value, err_msg=key)
        trainer.train()
        assert trainer.iteration == 2
    finally:
        trainer.stop()
    rows = evaluate_run(run_dir, episodes=2)  # the actor loads and plays from the checkpoint
    assert rows and all(math.isfinite(v) for r in rows for v in r.team_returns.values())
