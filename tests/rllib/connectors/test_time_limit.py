"""Time limits bootstrap V(s_T); terminations do not. Hand-built episodes, numbers by hand.

One agent's critic is V(s) = s[0] (one linear layer), observations s_t = (t, t), so
V(s_t) = t. Rewards r_0 = 1, r_1 = 2, gamma 0.5, lambda 1:

    truncated at T=2:   delta_1 = 2 + 0.5 * V(s_2) - V(s_1) = 2,   A_1 = 2
                        delta_0 = 1 + 0.5 * V(s_1) - V(s_0) = 1.5, A_0 = 1.5 + 0.5 * 2 = 2.5
                        targets A + V: (2.5, 3)
    terminated at T=2:  delta_1 = 2 - V(s_1) = 1,                  A_1 = 1
                        A_0 = 1.5 + 0.5 * 1 = 2                    targets (2, 2)
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from ray.rllib.connectors.learner import (AddColumnsFromEpisodesToTrainBatch,
                                          AddObservationsFromEpisodesToBatch,
                                          AddOneTsToEpisodesAndTruncate)
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
from ray.rllib.core.rl_module.rl_module import RLModuleSpec
from ray.rllib.env.multi_agent_episode import MultiAgentEpisode

from marl.rllib.connectors.team_gae import TeamGAE
from marl.rllib.connectors.time_limit import BootstrapTruncated
from marl.rllib.modules.actor_critic import ActorCriticModule

AGENTS = ("a0",)  # one agent: the module batch is exactly its rows
SPACE = gym.spaces.Box(-1e3, 1e3, (2,), np.float32)


def _episode(ending: str) -> MultiAgentEpisode:
    """Two steps, then the env ends the episode: ``truncated`` (time limit)
    or ``terminated``; the flags exactly as the env adapters pass them on."""
    ep = MultiAgentEpisode(observation_space=gym.spaces.Dict({a: SPACE for a in AGENTS}),
                           action_space=gym.spaces.Dict({a: gym.spaces.Discrete(3) for a in AGENTS}),
                           agent_module_ids={a: "shared" for a in AGENTS})
    obs = lambda t: {a: np.full(2, t, np.float32) for a in AGENTS}  # noqa: E731
    ep.add_env_reset(observations=obs(0))
    for t in (1, 2):
        last = t == 2
        ep.add_env_step(observations=obs(t), actions=dict.fromkeys(AGENTS, 0),
                        rewards=dict.fromkeys(AGENTS, float(t)),
                        terminateds={"__all__": last and ending == "terminated",
                                     **dict.fromkeys(AGENTS, last and ending == "terminated")},
                        truncateds={"__all__": last and ending == "truncated",
                                    **dict.fromkeys(AGENTS, last and ending == "truncated")},
                        extra_model_outputs={a: {Columns.ACTION_LOGP: np.float32(0.0)}
                                             for a in AGENTS})
    return ep.to_numpy()


def _module():
    rl_module = MultiRLModuleSpec(rl_module_specs={"shared": RLModuleSpec(
        module_class=ActorCriticModule, observation_space=SPACE,
        action_space=gym.spaces.Discrete(3),
        model_config={"hidden": [4], "critic_hidden": [], "value_normalization": False})}).build()
    with torch.no_grad():  # V(s) = s[0]
        rl_module["shared"].critic[0].weight.copy_(torch.tensor([[1.0, 0.0]]))
        rl_module["shared"].critic[0].bias.zero_()
    return rl_module


def _targets(ending: str, bootstrap: bool) -> tuple[np.ndarray, np.ndarray]:
    """Value targets and TERMINATEDS of agent a0's rows, through the learner pieces."""
    rl_module, episodes = _module(), [_episode(ending)]
    pieces = [AddOneTsToEpisodesAndTruncate(),
              AddObservationsFromEpisodesToBatch(as_learner_connector=True),
              AddColumnsFromEpisodesToTrainBatch()]
    if bootstrap:
        pieces.insert(0, BootstrapTruncated())
    batch: dict = {}
    for piece in pieces:
        batch = piece(rl_module=rl_module, batch=batch, episodes=episodes, shared_data={})
    key = next(k for k in batch[Columns.OBS] if k[1] == "a0")
    column = {c: np.asarray(batch[c][key]).reshape(-1) for c in (
        Columns.REWARDS, Columns.TERMINATEDS, Columns.TRUNCATEDS, Columns.LOSS_MASK)}
    column[Columns.OBS] = np.asarray(batch[Columns.OBS][key], np.float32).reshape(-1, 2)
    module_batch = {c: torch.as_tensor(v) for c, v in column.items()}
    out = TeamGAE(gamma=0.5, lambda_=1.0)(rl_module=rl_module, episodes=episodes,
                                         batch={"shared": module_batch})["shared"]
    mask = column[Columns.LOSS_MASK].astype(bool)
    return out[Columns.VALUE_TARGETS].numpy()[mask], column[Columns.TERMINATEDS]


def test_rllib_marks_a_time_limit_terminated() -> None:
    """Why the fix exists: RLlib's episode says every agent terminated at a time limit."""
    episode = _episode("truncated")
    assert all(sa.is_truncated and sa.is_terminated for sa in episode.agent_episodes.values())


def test_truncated_episode_bootstraps_the_final_value() -> None:
    targets, terminateds = _targets("truncated", bootstrap=True)
    np.testing.assert_allclose(targets, [2.5, 3.0], rtol=1e-6)
    assert not terminateds.any()


def test_terminated_episode_does_not_bootstrap() -> None:
    for bootstrap in (True, False):
        targets, terminateds = _targets("terminated", bootstrap=bootstrap)
        np.testing.assert_allclose(targets, [2.0, 2.0], rtol=1e-6)
        assert terminateds.tolist() == [False, True, False]  # the bootstrap row is never


def test_without_the_fix_a_time_limit_is_terminal() -> None:
    targets, _ = _targets("truncated", bootstrap=False)
    np.testing.assert_allclose(targets, [2.0, 2.0], rtol=1e-6)


@pytest.mark.parametrize("flags", [(True, True), (True, False), (False, True)])
def test_adapters_pass_terminated_over_truncated(flags: tuple[bool, bool]) -> None:
    """An agent the env reports as both terminated and truncated reaches RLlib terminated
    only, so a truncated flag always means a time limit."""
    from marl.rllib.env.adapters import ParallelAdapter

    term, trunc = flags

    class OneStep:
        possible_agents = agents = ["a"]

        def observation_space(self, agent):
            return SPACE

        def action_space(self, agent):
            return gym.spaces.Discrete(2)

        def reset(self, seed=None, options=None):
            self.agents = ["a"]
            return {"a": np.zeros(2, np.float32)}, {}

        def step(self, actions):
            self.agents = []
            return ({"a": np.zeros(2, np.float32)}, {"a": 0.0}, {"a": term}, {"a": trunc},
                    {"a": {}})

    env = ParallelAdapter(OneStep())
    env.reset()
    _, _, terminateds, truncateds, _ = env.step({"a": 0})
    assert terminateds["a"] == term and truncateds["a"] == (trunc and not term)
    assert terminateds["__all__"] == term and truncateds["__all__"] == (not term)


@pytest.mark.parametrize("sampler", ["stock", "lean"])
def test_both_samplers_mark_a_time_limit_truncated(sampler: str) -> None:
    """Real spread episodes cut at max_cycles from each env runner: truncated, and after
    BootstrapTruncated no longer terminated (so GAE bootstraps them)."""
    from ray.rllib.env.multi_agent_env_runner import MultiAgentEnvRunner

    from marl.experiment import resolve
    from marl.rllib.builder import build_config
    from marl.rllib.env.creator import register
    from marl.rllib.sampling.runner import LeanEnvRunner
    from marl.spec import spec_from_dict

    register()
    spec = spec_from_dict({"name": "t", "env": {"id": "cooperative/spread-v0",
                                                "config": {"max_cycles": 5}},
                           "resources": {"num_env_runners": 0, "num_envs_per_env_runner": 1,
                                         "sampler": "stock"},
                           "algorithm": {"train_batch_size": 40, "minibatch_size": 20}})
    config = build_config(resolve(spec))
    cls = LeanEnvRunner if sampler == "lean" else MultiAgentEnvRunner
    runner = cls(config=config, worker_index=0)
    try:
        episodes = runner.sample()
    finally:
        runner.stop()
    done = [e for e in episodes if e.is_done]
    assert len(done) >= 3
    agents = [sa for e in done for sa in e.agent_episodes.values()]
    assert agents and all(sa.is_truncated for sa in agents)
    BootstrapTruncated()(rl_module=None, batch={}, episodes=done)
    assert not any(sa.is_terminated for sa in agents)
