"""dqn's TD target at a time limit and at a termination, on hand-built episodes (no Ray).

RLlib 2.58's multi-agent episode marks an agent cut by a time limit terminated *and*
truncated, and its replay buffer, joining an episode's chunks, keeps only terminated:
spread's 25-step cut would come out terminal. ``TimeLimitEpisodeReplayBuffer`` stores it
truncated; the learner (built from a real spread spec) then bootstraps it.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

from marl.spec import spec_from_dict

GAMMA = 0.9


def _learner(bootstrap_truncated: bool = True, double_q: bool = True) -> Any:
    from marl.experiment import resolve
    from marl.rllib.learners.dqn import build_dqn_config, q_module_specs

    spec = spec_from_dict({"name": "t", "env": {"id": "cooperative/spread-v0"},
                           "policies": {"model": {"hidden": [8]}},
                           "algorithm": {"name": "dqn", "gamma": GAMMA,
                                         "bootstrap_truncated": bootstrap_truncated,
                                         "dqn": {"double_q": double_q}}})
    exp = resolve(spec)
    spaces = {p: (s.observation_space, s.action_space) for p, s in q_module_specs(exp).items()}
    return build_dqn_config(exp, 1e-3).build_learner(spaces=spaces)


def _row(i: int, obs: np.ndarray, next_obs: np.ndarray, action: int, reward: float,
         terminated: bool, truncated: bool, space: Any, act_space: Any) -> Any:
    from ray.rllib.env.single_agent_episode import SingleAgentEpisode

    return SingleAgentEpisode(
        id_=f"e{i}", agent_id="agent_0", module_id="shared", multi_agent_episode_id=f"m{i}",
        observations=[obs, next_obs], observation_space=space, actions=[action],
        action_space=act_space, rewards=[reward], terminated=terminated, truncated=truncated,
        extra_model_outputs={"weights": [1.0], "n_step": [1]}, len_lookback_buffer=0,
        t_started=24)


def _batch(learner: Any, flags: list[tuple[bool, bool]]) -> tuple[dict[str, Any], list[Any]]:
    module = learner.module["shared"].unwrapped()
    space, act_space = module.observation_space, module.action_space
    rng = np.random.default_rng(0)
    rows = [_row(i, rng.uniform(-1, 1, space.shape).astype(np.float32),
                 rng.uniform(-1, 1, space.shape).astype(np.float32), i % 5, -2.0 - i, term,
                 trunc, space, act_space) for i, (term, trunc) in enumerate(flags)]
    batch = learner._learner_connector(rl_module=learner.module, batch={}, episodes=rows,
                                       shared_data={}, metrics=None)
    return batch["shared"], rows


def _chunked_episode(steps: int, cut_every: int, terminated: bool, base: float) -> list[Any]:
    """One agent's episode as an env runner hands it over: chunks of ``cut_every`` steps,
    the last one ended by a termination or by a time limit (RLlib sets both flags); the
    observation at step t is ``base + t``."""
    from ray.rllib.env.multi_agent_episode import MultiAgentEpisode

    box = gym.spaces.Box(-10, 10, (2,), np.float32)
    episode = MultiAgentEpisode(observation_space=gym.spaces.Dict({"a": box}),
                                action_space=gym.spaces.Dict({"a": gym.spaces.Discrete(5)}),
                                agent_to_module_mapping_fn=lambda aid, ep: "shared")
    episode.add_env_reset(observations={"a": np.full(2, base, np.float32)})
    chunks = []
    for t in range(1, steps + 1):
        end = t == steps
        episode.add_env_step(observations={"a": np.full(2, base + t, np.float32)},
                             actions={"a": 1},
                             rewards={"a": -1.0},
                             terminateds={"a": end and terminated, "__all__": end and terminated},
                             truncateds={"a": end and not terminated,
                                         "__all__": end and not terminated})
        if t % cut_every == 0 or end:
            chunks.append(episode)
            if not end:
                episode = episode.cut()
    return chunks


@pytest.mark.parametrize("ours", [True, False])
def test_replay_keeps_a_time_limit_truncated_and_a_termination_terminal(ours: bool) -> None:
    from ray.rllib.utils.replay_buffers import MultiAgentEpisodeReplayBuffer

    from marl.rllib.learners.dqn import TimeLimitEpisodeReplayBuffer

    cut = _chunked_episode(25, 4, terminated=False, base=0.0)
    ended = _chunked_episode(9, 4, terminated=True, base=100.0)
    assert cut[-1].agent_episodes["a"].is_terminated  # RLlib: both flags at a time limit
    assert cut[-1].agent_episodes["a"].is_truncated
    buffer = (TimeLimitEpisodeReplayBuffer if ours else MultiAgentEpisodeReplayBuffer)(
        capacity=1000)
    for chunks in zip(cut, ended, strict=False):  # chunks arrive interleaved, as sampled
        buffer.add(list(chunks))
    for chunk in cut[len(ended):]:
        buffer.add([chunk])
    flags = {(float(row.get_observations(1)[0]), row.is_terminated, row.is_truncated)
             for row in buffer.sample(num_items=800, n_step=1, gamma=0.9)}
    assert len({next_obs for next_obs, _, _ in flags}) == 25 + 9  # every transition drawn
    assert (25.0, not ours, ours) in flags  # the time limit: truncated (RLlib: terminal)
    assert (109.0, True, False) in flags  # the termination: terminal either way
    assert all(not (term or trunc) for obs, term, trunc in flags if obs not in (25.0, 109.0))


@pytest.mark.parametrize("double_q", [True, False])
def test_td_target_bootstraps_at_a_time_limit_and_not_at_a_termination(double_q: bool) -> None:
    learner = _learner(double_q=double_q)
    module = learner.module["shared"].unwrapped()
    with torch.no_grad():  # a target network that differs from the online one
        for p in module._target_q.parameters():
            p.add_(0.3)
    # Rows as the buffer hands them: 0 cut by the time limit, 1 terminated, 2 mid-episode.
    batch, rows = _batch(learner, [(False, True), (True, False), (False, False)])
    assert batch["terminateds"].tolist() == [False, True, False]

    fwd = module.forward_train(batch)
    loss = learner.compute_loss_for_module(module_id="shared", config=learner.config,
                                           batch=batch, fwd_out=fwd)
    obs, nxt = batch["obs"], batch["new_obs"]
    with torch.no_grad():
        q_sa = module.q(obs).gather(1, batch["actions"].long()[:, None]).squeeze(1)
        q_next_target = module._target_q(nxt)
        pick = (module.q(nxt) if double_q else q_next_target).argmax(-1)
        boot = q_next_target.gather(1, pick[:, None]).squeeze(1)
    rewards = torch.tensor([r.get_rewards(0) for r in rows], dtype=torch.float32)
    target = rewards + GAMMA * boot * torch.tensor([1.0, 0.0, 1.0])
    hand = torch.nn.functional.huber_loss(q_sa, target)
    assert float(loss.detach()) == pytest.approx(float(hand), rel=1e-5)
    assert float(target[1]) == float(rewards[1])  # terminated: y = r
    assert float(target[0]) != pytest.approx(float(rewards[0]))  # truncated: y = r + g Q'


def test_bootstrap_truncated_false_keeps_rllib_replay_buffer() -> None:
    assert "TimeLimit" in _learner().config.replay_buffer_config["type"]
    assert (_learner(bootstrap_truncated=False).config.replay_buffer_config["type"]
            == "MultiAgentEpisodeReplayBuffer")


@pytest.mark.parametrize("runners", [0, 2])
def test_training_intensity_is_replayed_rows_per_sampled_env_step(runners: int) -> None:
    from ray.rllib.algorithms.dqn.dqn import calculate_rr_weights

    from marl.experiment import resolve
    from marl.rllib.learners.dqn import FRAGMENT_STEPS, build_dqn_config

    spec = spec_from_dict({"name": "t", "env": {"id": "cooperative/spread-v0"},
                           "resources": {"num_env_runners": runners,
                                         "num_envs_per_env_runner": 8},
                           "algorithm": {"name": "dqn",
                                         "dqn": {"batch_size": 32, "training_intensity": 6}}})
    config = build_dqn_config(resolve(spec), 1e-3)
    rounds, sgd_steps = calculate_rr_weights(config)  # per RLlib training_step
    env_steps = rounds * FRAGMENT_STEPS * 8 * max(runners, 1)  # the local runner samples alone
    assert sgd_steps * 32 / env_steps == pytest.approx(6)
