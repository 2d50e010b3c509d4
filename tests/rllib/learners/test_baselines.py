"""The textbook baselines: reinforce (Monte-Carlo policy gradient) and dqn (independent DQN).

Unit tests on hand-built batches (returns, the REINFORCE loss and its gradient, the
masked Q module), then short real trainings: spread and connect-four self-play, that
checkpoint, resume and evaluate; on connect four no illegal action is ever stepped.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
import yaml

from marl.spec import spec_from_dict
from tests.rllib.test_training import MARL, _cli, _latest, _metrics, _train

TINY: dict[str, Any] = {
    "seed": 0,
    "resources": {"num_env_runners": 0, "num_envs_per_env_runner": 2, "num_cpus": 2},
    "policies": {"model": {"hidden": [32]}},
    "tracking": {"wandb": {"mode": "disabled"}, "tensorboard": False},
    "evaluation": {"at_end": False, "progress_every": 0},
}
DQN_TINY = {"name": "dqn", "train_batch_size": 100,
            "dqn": {"learning_starts": 50, "batch_size": 16, "target_update_every": 50}}


def _spec(env_id: str, algorithm: dict[str, Any], **over: Any):
    return spec_from_dict({"name": "t", "env": {"id": env_id}, **TINY, "algorithm": algorithm,
                           **over})


# ---------------------------------------------------------------- units (no Ray)
def _actor_critic(obs_dim: int = 3, n: int = 3):
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    from marl.rllib.modules.actor_critic import ActorCriticModule

    obs = gym.spaces.Dict({"observations": gym.spaces.Box(-1, 1, (obs_dim,), np.float32),
                           "action_mask": gym.spaces.Box(0, 1, (n,), np.float32)})
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec

    spec = RLModuleSpec(module_class=ActorCriticModule, observation_space=obs,
                        action_space=gym.spaces.Discrete(n),
                        model_config={"hidden": [8], "value_normalization": False})
    return MultiRLModuleSpec(rl_module_specs={"p": spec}).build()


def _rows(rewards, terminateds, truncateds, obs_dim: int = 3, n: int = 3) -> dict[str, Any]:
    k = len(rewards)
    g = torch.Generator().manual_seed(0)
    mask = torch.ones(k, n)
    mask[:, 0] = 0.0  # action 0 is never legal
    return {"obs": {"observations": torch.rand(k, obs_dim, generator=g) * 2 - 1,
                    "action_mask": mask},
            "actions": torch.randint(1, n, (k,), generator=g),
            "rewards": torch.tensor(rewards, dtype=torch.float32),
            "terminateds": torch.tensor(terminateds, dtype=torch.bool),
            "truncateds": torch.tensor(truncateds, dtype=torch.bool),
            "loss_mask": torch.tensor([True] * (k - 1) + [False])}


@pytest.mark.parametrize("baseline", [False, True])
def test_monte_carlo_returns_are_discounted_sums_minus_the_baseline(baseline: bool) -> None:
    from marl.rllib.learners.reinforce import MonteCarloReturns

    gamma = 0.9
    multi = _actor_critic()
    module = multi["p"]
    # One terminated episode of 3 steps, then its bootstrap row (RLlib's layout).
    rows = _rows([1.0, 0.0, 2.0, 0.0], [0, 0, 1, 1], [0, 0, 0, 1])
    out = MonteCarloReturns(gamma=gamma, baseline=baseline)(
        rl_module=multi, batch={"p": dict(rows)}, episodes=[])["p"]
    returns = np.array([1 + gamma * (0 + gamma * 2), 0 + gamma * 2, 2.0])
    np.testing.assert_allclose(out["value_targets"][:3].numpy(), returns, rtol=1e-6)
    values = (module.compute_values(rows).detach().numpy()[:3] if baseline else np.zeros(3))
    np.testing.assert_allclose(out["advantages"][:3].numpy(), returns - values, rtol=1e-5,
                               atol=1e-6)


def test_monte_carlo_returns_bootstrap_the_baseline_where_a_chunk_is_cut() -> None:
    from marl.rllib.learners.reinforce import MonteCarloReturns

    multi = _actor_critic()
    module = multi["p"]
    # Cut after 2 steps, not terminated: RLlib marks the chunk's last step truncated.
    rows = _rows([1.0, 1.0, 0.0], [0, 0, 0], [0, 1, 1])
    out = MonteCarloReturns(gamma=0.5, baseline=True)(
        rl_module=multi, batch={"p": dict(rows)}, episodes=[])["p"]
    v_last = float(module.compute_values(rows)[2].detach())
    np.testing.assert_allclose(float(out["value_targets"][1]), 1 + 0.5 * v_last, rtol=1e-5)
    np.testing.assert_allclose(float(out["value_targets"][0]), 1 + 0.5 * (1 + 0.5 * v_last),
                               rtol=1e-5)


def test_q_module_never_picks_a_masked_action() -> None:
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    from marl.rllib.modules.q_module import QModule

    n = 5
    obs_space = gym.spaces.Dict({"observations": gym.spaces.Box(-1, 1, (4,), np.float32),
                                 "action_mask": gym.spaces.Box(0, 1, (n,), np.float32)})
    module = RLModuleSpec(module_class=QModule, observation_space=obs_space,
                          action_space=gym.spaces.Discrete(n),
                          model_config={"hidden": [8], "epsilon": [[0, 1.0], [10, 0.0]]}).build()
    module.make_target_networks()
    g = torch.Generator().manual_seed(1)
    mask = (torch.rand(2000, n, generator=g) < 0.4).float()
    mask[torch.arange(2000), torch.randint(0, n, (2000,), generator=g)] = 1.0  # >= 1 legal
    batch = {"obs": {"observations": torch.rand(2000, 4, generator=g), "action_mask": mask}}
    with torch.no_grad():
        explore = module.forward_exploration(batch, t=0)["actions"]  # epsilon 1: uniform
        greedy = module.forward_exploration(batch, t=100)["actions"]  # epsilon 0: argmax
        inference = module.forward_inference(batch)
        train = module.forward_train({**batch, "new_obs": batch["obs"]})
    rows = torch.arange(2000)
    for actions in (explore, greedy, inference["actions"]):
        assert bool((mask[rows, actions] == 1).all())
    assert len(set(explore.tolist())) == n  # exploration reaches every legal action
    q = inference["action_dist_inputs"]
    assert bool(torch.isinf(q[mask == 0]).all()) and bool(torch.isfinite(q[mask == 1]).all())
    unmasked = module.q(batch["obs"]["observations"]).masked_fill(mask == 0, -1e9)
    assert torch.equal(inference["actions"], unmasked.argmax(-1))
    for key in ("qf_preds", "qf_next_preds", "qf_target_next_preds"):
        assert bool(torch.isinf(train[key][mask == 0]).all())


def test_spec_refuses_what_the_baselines_do_not_run() -> None:
    from marl.errors import SpecError

    bad = [
        ("cooperative/spread-v0", {"name": "reinforce", "num_epochs": 4}, {}, "one pass"),
        ("cooperative/spread-v0", {"name": "ppo", "dqn": {"batch_size": 8}}, {}, "dqn only"),
        ("cooperative/spread-v0", {"name": "dqn"}, {"resources": {"sampler": "lean"}},
         "stock"),
        ("cooperative/multiwalker-v0", {"name": "dqn"}, {}, "discrete actions"),
    ]
    for env_id, algorithm, over, words in bad:
        with pytest.raises(SpecError, match=words):
            spec_from_dict({"name": "t", "env": {"id": env_id}, "algorithm": algorithm, **over})
    # The PPO preset's epochs/minibatches do not reach reinforce: one pass, lambda 1.
    alg = spec_from_dict({"name": "t", "env": {"id": "cooperative/spread-v0"},
                          "algorithm": {"name": "reinforce"}}).algorithm
    assert (alg.num_epochs, alg.num_minibatches, alg.lambda_) == (1, 1, 1.0)


# ---------------------------------------------------------------- real trainings
def test_reinforce_spread_loss_and_gradient_are_the_hand_computed_ones(ray_session) -> None:
    from marl.rllib.trainer import RLlibTrainer

    spec = _spec("cooperative/spread-v0", {"name": "reinforce", "train_batch_size": 100,
                                           "entropy_coeff": 0.05, "vf_loss_coeff": 0.5})
    trainer = RLlibTrainer.from_spec(spec)
    try:
        assert trainer.algo.config.batch_mode == "complete_episodes"
        episodes = trainer.algo.env_runner.sample()
        assert episodes and all(e.is_done for e in episodes)  # whole episodes only
        metrics = trainer.train()[0]
        assert math.isfinite(metrics["train/shared/policy_loss"])
        assert math.isfinite(metrics["train/shared/vf_loss"])

        learner = trainer.algo.learner_group._learner
        module = learner.module["shared"].unwrapped()
        g = torch.Generator().manual_seed(0)
        k = 12
        obs = torch.rand(k, 18, generator=g)
        batch = {"obs": obs, "actions": torch.randint(0, 5, (k,), generator=g),
                 "advantages": torch.randn(k, generator=g),
                 "value_targets": torch.randn(k, generator=g),
                 "loss_mask": torch.tensor([True] * (k - 2) + [False] * 2)}
        loss = learner.compute_loss_for_module(module_id="shared", config=learner.config,
                                               batch=batch, fwd_out=module.forward_train(batch))
        m = batch["loss_mask"]
        logp_all = torch.log_softmax(module.pi(obs), -1)
        logp = logp_all.gather(1, batch["actions"][:, None]).squeeze(1)
        entropy = -(logp_all.exp() * logp_all).sum(-1)
        values = module.critic(obs).squeeze(-1)
        hand = ((-logp * batch["advantages"])[m].mean() - 0.05 * entropy[m].mean()
                + 0.5 * ((values - batch["value_targets"]) ** 2)[m].mean())
        assert float(loss) == pytest.approx(float(hand), rel=1e-5)
        params = [p for p in module.parameters() if p.requires_grad]
        got = torch.autograd.grad(loss, params, allow_unused=True)
        want = torch.autograd.grad(hand, params, allow_unused=True)
        for a, b in zip(got, want, strict=True):
            assert (a is None) == (b is None)
            if a is not None:
                torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)
    finally:
        trainer.stop()


def test_dqn_spread_trains_checkpoints_and_resumes(ray_session, tmp_path: Path) -> None:
    from marl.rllib.learners.dqn import build_dqn_config
    from marl.rllib.modules.q_module import QModule
    from marl.rllib.trainer import RLlibTrainer

    spec = _spec("cooperative/spread-v0", DQN_TINY)
    trainer = RLlibTrainer.from_spec(spec)
    try:
        assert isinstance(trainer.algo.learner_group._learner.module["shared"].unwrapped(), QModule)
        assert type(trainer.algo.env_runner).__name__ == "MultiAgentEnvRunner"  # stock
        rows = [trainer.train()[0] for _ in range(2)]
        assert math.isfinite(rows[-1]["train/shared/qf_loss"])
        # Spread only ends by its time limit: its last transitions replay truncated, never
        # terminated (RLlib's own buffer: terminated), and the learner's batch bootstraps.
        learner = trainer.algo.learner_group._learner
        replayed = trainer.algo.local_replay_buffer.sample(num_items=400, n_step=1, gamma=0.99)
        assert any(e.is_truncated for e in replayed)
        assert not any(e.is_terminated for e in replayed)
        batch = learner._learner_connector(rl_module=learner.module, batch={},
                                           episodes=replayed, shared_data={}, metrics=None)
        assert len(batch["shared"]["terminateds"]) == 400
        assert not bool(batch["shared"]["terminateds"].any())
        steps = trainer.env_steps
        trainer.save(tmp_path / "ckpt")
        weights = trainer.algo.learner_group.get_weights(["shared"])["shared"]
        assert {"q.encoder.0.weight", "q.value.weight", "q.advantage.weight",
                "_target_q.encoder.0.weight"} <= set(weights)  # dueling (the default)
    finally:
        trainer.stop()
    assert build_dqn_config.__name__  # the builder's dqn path was taken (QModule above)
    resumed = RLlibTrainer.from_spec(spec, restore_from=tmp_path / "ckpt")
    try:
        assert resumed.iteration == 2 and resumed.env_steps == steps
        restored = resumed.algo.learner_group.get_weights(["shared"])["shared"]
        for key, value in weights.items():
            np.testing.assert_array_equal(np.asarray(restored[key]), np.asarray(value))
        resumed.train()
        assert resumed.iteration == 3 and resumed.env_steps > steps
    finally:
        resumed.stop()


def _illegal_steps(episodes: list[Any]) -> tuple[int, int]:
    """(illegal, total) actions in sampled multi-agent episodes, by each agent's mask."""
    illegal = total = 0
    for episode in episodes:
        for sa in episode.agent_episodes.values():
            n = len(sa)
            if n == 0:
                continue
            obs = sa.get_observations(slice(0, n))  # Dict spaces: a dict of arrays
            masks = np.asarray(obs["action_mask"] if isinstance(obs, dict)
                               else [o["action_mask"] for o in obs])
            actions = np.asarray(sa.get_actions(slice(0, n)))
            illegal += int((masks[np.arange(n), actions] == 0).sum())
            total += n
    return illegal, total


@pytest.mark.slow  # ~15 s: two CLI runs, a resume and a `marl eval` subprocess each
@pytest.mark.parametrize("algorithm", ["reinforce", "dqn"])
def test_connect_four_self_play_masks_checkpoint_resume_eval(ray_session, tmp_path: Path,
                                                             algorithm: str) -> None:
    from marl.rllib.trainer import RLlibTrainer
    from marl.run import open_run_dir

    alg = DQN_TINY if algorithm == "dqn" else {"name": "reinforce", "train_batch_size": 100}
    data = {"name": f"c4-{algorithm}", "env": {"id": "competitive/connect_four-v0"}, **TINY,
            "algorithm": alg, "stop": {"iterations": 2}, "checkpoint": {"every": 1, "keep": 2},
            "storage": str(tmp_path / "runs")}
    spec_path = tmp_path / "c4.yaml"
    spec_path.write_text(yaml.safe_dump(data))
    run_dir = _train(spec_path)
    ckpt, info = _latest(run_dir)
    assert info["iteration"] == 2

    spec, _ = open_run_dir(run_dir)
    trainer = RLlibTrainer.from_spec(spec, restore_from=ckpt)
    try:  # exploring play (dqn: epsilon near 1 this early) never steps an illegal column
        illegal, total = _illegal_steps(trainer.algo.env_runner.sample(num_timesteps=300))
        assert total >= 200 and illegal == 0
    finally:
        trainer.stop()

    _cli("train", "--resume", str(run_dir), "--set", "stop.iterations=3")
    assert [r["iteration"] for r in _metrics(run_dir)] == [1, 2, 3]
    proc = subprocess.run([MARL, "eval", str(run_dir), "--json", "--episodes", "4"],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "WANDB_MODE": "disabled"})
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert rows and all(r["wins"] + r["draws"] + r["losses"] == 4 for r in rows)
