"""ippo/mappo pieces on hand-built data and real envs, without a Ray cluster.

Critic inputs (env side and learner connector), GAE on the team critic's values, value
normalization, the value loss, and the separation of actor and critic gradients.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from ray.rllib.connectors.learner import (AddObservationsFromEpisodesToBatch,
                                          AddOneTsToEpisodesAndTruncate)
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
from ray.rllib.core.rl_module.rl_module import RLModuleSpec
from ray.rllib.env.multi_agent_episode import MultiAgentEpisode

from marl.errors import SpecError
from marl.experiment import resolve
from marl.rllib.env.creator import make_rllib_env
from marl.rllib.connectors.team_gae import AddCriticObs, TeamGAE
from marl.rllib.env.critic_input import CRITIC_OBS
from marl.rllib.learners.losses import clipped_surrogate_loss, value_loss
from marl.rllib.modules.actor_critic import ActorCriticModule
from marl.rllib.modules.value_norm import ValueNorm
from marl.spec import spec_from_dict


def _spec(env_id: str, algorithm: dict, policies: dict | None = None):
    return spec_from_dict({"name": "t", "env": {"id": env_id}, "algorithm": algorithm,
                           "policies": policies or {}})


def _critic_env(spec):
    exp = resolve(spec)
    env = make_rllib_env(exp.env_config)
    assert exp.env_config["critic"] == exp.critic.env_config()
    return env, exp.critic


def _one_hot(i: int, n: int) -> np.ndarray:
    out = np.zeros(n, np.float32)
    out[i] = 1
    return out


# ------------------------------------------------------------------ env side
@pytest.mark.parametrize("source", ["team_obs", "state"])
def test_spread_critic_input_is_team_obs_or_state_plus_id_at_every_step(source: str) -> None:
    spec = _spec("cooperative/spread-v0", {"name": "mappo", "critic": {"input": source}})
    env, layout = _critic_env(spec)
    assert layout.teams == {"team": ("agent_0", "agent_1", "agent_2")}
    rng = np.random.default_rng(0)
    obs, infos = env.reset(seed=3)
    order = {"agent_0": ("agent_0", "agent_1", "agent_2"),  # own obs first, then teammates
             "agent_1": ("agent_1", "agent_0", "agent_2"),
             "agent_2": ("agent_2", "agent_0", "agent_1")}
    for t in range(30):  # crosses the 25-step episode end
        for i, agent in enumerate(("agent_0", "agent_1", "agent_2")):
            if source == "state":
                block = np.asarray(env.env.state(), np.float32)
            else:
                block = np.concatenate([obs[m] for m in order[agent]])
            expected = np.concatenate([block, _one_hot(i, 3)])
            np.testing.assert_array_equal(infos[agent][CRITIC_OBS], expected, err_msg=f"t={t}")
        if not env.agents:
            obs, infos = env.reset(seed=4)
            continue
        obs, _, _, _, infos = env.step({a: int(rng.integers(5)) for a in env.agents})
    assert infos["agent_0"][CRITIC_OBS].shape == (57,)


def test_time_feature_appends_the_elapsed_fraction_and_restarts_at_reset() -> None:
    spec = _spec("cooperative/spread-v0", {"name": "mappo", "critic": {"time_feature": True}})
    env, layout = _critic_env(spec)
    assert layout.time_limit == 25 and layout.widths["agent_0"] == 57 + 1
    rng = np.random.default_rng(0)
    obs, infos = env.reset(seed=3)
    fractions = [infos["agent_0"][CRITIC_OBS][-1]]
    while env.agents:
        obs, _, _, trunc, infos = env.step({a: int(rng.integers(5)) for a in env.agents})
        fractions.append(infos["agent_0"][CRITIC_OBS][-1])
        block = np.concatenate([obs[m] for m in ("agent_1", "agent_0", "agent_2")])
        np.testing.assert_array_equal(infos["agent_1"][CRITIC_OBS][:-1],
                                      np.concatenate([block, _one_hot(1, 3)]))
    np.testing.assert_allclose(fractions, np.arange(26) / 25, rtol=1e-6)
    assert all(trunc.values())  # the cut comes at 25 / 25
    _, infos = env.reset(seed=4)
    assert infos["agent_2"][CRITIC_OBS][-1] == 0.0


@pytest.mark.parametrize(("env_id", "name", "message"), [
    ("cooperative/spread-v0", "ippo", "for mappo's central critic, not ippo's"),
    ("competitive/connect_four-v0", "mappo", "is turn-based"),
])
def test_time_feature_refuses_what_it_cannot_count(env_id: str, name: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        resolve(_spec(env_id, {"name": name, "critic": {"time_feature": True}}))


def test_tag_each_team_critic_sees_its_own_members_only() -> None:
    spec = _spec("competitive/tag-v0", {"name": "mappo"},
                 {"mode": "groups", "groups": {"adversary_*": "predators", "agent_*": "prey"}})
    env, layout = _critic_env(spec)
    assert layout.team_of_policy == {"predators": "predators", "prey": "prey"}
    predators = ("adversary_0", "adversary_1", "adversary_2")
    rng = np.random.default_rng(1)
    obs, infos = env.reset(seed=0)
    for _ in range(5):
        for i, agent in enumerate(predators):
            mates = [obs[m] for m in predators if m != agent]
            np.testing.assert_array_equal(infos[agent][CRITIC_OBS],
                                          np.concatenate([obs[agent], *mates, _one_hot(i, 3)]))
        np.testing.assert_array_equal(infos["agent_0"][CRITIC_OBS],
                                      np.concatenate([obs["agent_0"], [1.0]]))
        obs, _, _, _, infos = env.step({a: int(rng.integers(5)) for a in env.agents})
    assert env.critic_dims() == {**{a: 3 * 16 + 3 for a in predators}, "agent_0": 14 + 1}
    assert layout.widths == env.critic_dims()  # resolved once in the driver, same widths


def test_turn_based_critic_input_observes_every_member_now() -> None:
    spec = _spec("competitive/connect_four-v0", {"name": "mappo"})
    env, _ = _critic_env(spec)
    obs, infos = env.reset(seed=0)
    for _ in range(6):
        (agent,) = obs
        raw = env.env
        other = "player_1" if agent == "player_0" else "player_0"
        blocks = [raw.observe(p)["observations"].ravel() for p in (agent, other)]
        idx = ("player_0", "player_1").index(agent)
        np.testing.assert_array_equal(infos[agent][CRITIC_OBS],
                                      np.concatenate([*blocks, _one_hot(idx, 2)]))
        legal = np.flatnonzero(obs[agent]["action_mask"])
        obs, _, _, _, infos = env.step({agent: int(legal[0])})


def test_plain_envs_carry_no_critic_input() -> None:
    env = make_rllib_env({"id": "cooperative/spread-v0", "config": {}, "preprocess": "none"})
    _, infos = env.reset(seed=0)
    assert all(CRITIC_OBS not in (i or {}) for i in infos.values())


# ------------------------------------------------------------------ learner connector
OBS_DIM = 2
AGENTS = ("a0", "a1")


def _obs(agent: str, t: int) -> np.ndarray:
    return np.full(OBS_DIM, 100 * AGENTS.index(agent) + t, np.float32)


def _critic_obs(agent: str, t: int) -> np.ndarray:
    """What the env adapter sends for team_obs + id: own obs at t, the teammate's, the id."""
    other = "a1" if agent == "a0" else "a0"
    return np.concatenate([_obs(agent, t), _obs(other, t), _one_hot(AGENTS.index(agent), 2)])


def _episode(steps: int, rewards: dict[str, list[float]], terminated: bool) -> MultiAgentEpisode:
    space = gym.spaces.Box(-1e3, 1e3, (OBS_DIM,), np.float32)
    ep = MultiAgentEpisode(observation_space=gym.spaces.Dict({a: space for a in AGENTS}),
                           action_space=gym.spaces.Dict(
                               {a: gym.spaces.Discrete(3) for a in AGENTS}),
                           agent_module_ids={a: "shared" for a in AGENTS})
    ep.add_env_reset(observations={a: _obs(a, 0) for a in AGENTS},
                     infos={a: {CRITIC_OBS: _critic_obs(a, 0)} for a in AGENTS})
    for t in range(1, steps + 1):
        done = terminated and t == steps
        ep.add_env_step(observations={a: _obs(a, t) for a in AGENTS},
                        actions={a: 0 for a in AGENTS},
                        rewards={a: rewards[a][t - 1] for a in AGENTS},
                        infos={a: {CRITIC_OBS: _critic_obs(a, t)} for a in AGENTS},
                        terminateds={"__all__": done, **{a: done for a in AGENTS}},
                        truncateds={"__all__": False, **{a: False for a in AGENTS}},
                        extra_model_outputs={a: {Columns.ACTION_LOGP: np.float32(0.0)}
                                             for a in AGENTS})
    return ep.to_numpy()


def _module(critic_dim: int = 2 * OBS_DIM + 2, **config) -> ActorCriticModule:
    return MultiRLModuleSpec(rl_module_specs={"shared": RLModuleSpec(
        module_class=ActorCriticModule,
        observation_space=gym.spaces.Box(-1e3, 1e3, (OBS_DIM,), np.float32),
        action_space=gym.spaces.Discrete(3),
        model_config={"hidden": [8], "critic_input": "central", "critic_obs_dim": critic_dim,
                      **config})}).build()


def test_critic_obs_rows_line_up_with_observations_for_every_agent_and_step() -> None:
    rewards = {a: [1.0] * 4 for a in AGENTS}
    episodes = [_episode(4, rewards, terminated=False), _episode(3, rewards, terminated=True)]
    rl_module = _module()
    batch: dict = {}
    for piece in (AddOneTsToEpisodesAndTruncate(), AddCriticObs(),
                  AddObservationsFromEpisodesToBatch(as_learner_connector=True)):
        batch = piece(rl_module=rl_module, batch=batch, episodes=episodes, shared_data={})
    keys = list(batch[CRITIC_OBS])
    assert sorted(k[1] for k in keys) == ["a0", "a0", "a1", "a1"]
    for key in keys:
        _, agent, module = key
        assert module == "shared"
        crit = np.concatenate(batch[CRITIC_OBS][key]) if isinstance(batch[CRITIC_OBS][key], list) \
            else batch[CRITIC_OBS][key]
        crit = crit.reshape(-1, 2 * OBS_DIM + 2)
        obs = np.stack(batch[Columns.OBS][key]).reshape(-1, OBS_DIM)
        assert len(crit) == len(obs)  # every step plus the bootstrap step
        for t in range(len(obs)):
            t_env = int(obs[t][0]) % 100  # obs encode (agent, t); bootstrap repeats the last
            np.testing.assert_array_equal(crit[t], _critic_obs(agent, t_env))
            np.testing.assert_array_equal(crit[t][:OBS_DIM], obs[t])  # own block first


def test_gae_uses_the_centralized_values_and_normalizes_targets() -> None:
    """Targets/advantages equal GAE on V(critic_obs); V(obs) would give other numbers."""
    rl_module = _module(critic_hidden=[], hidden=[8])  # critic = one linear layer
    module = rl_module["shared"]
    with torch.no_grad():
        module.critic[0].weight.copy_(torch.tensor([[0.01, 0.0, 0.0, 0.02, 0.5, -0.5]]))
        module.critic[0].bias.fill_(0.1)
    rewards = {"a0": [1.0, 0.0, 2.0, 0.5], "a1": [0.0, -1.0, 0.0, 3.0]}
    episodes = [_episode(4, rewards, terminated=False)]
    batch: dict = {}
    for piece in (AddOneTsToEpisodesAndTruncate(), AddCriticObs(),
                  AddObservationsFromEpisodesToBatch(as_learner_connector=True)):
        batch = piece(rl_module=rl_module, batch=batch, episodes=episodes, shared_data={})
    # module batch as AgentToModuleMapping lays it out: a0's rows, then a1's
    keys = sorted(batch[CRITIC_OBS], key=lambda k: k[1])
    column = {c: np.concatenate([np.asarray(batch[c][k]).reshape(5, -1) for k in keys])
              for c in (CRITIC_OBS, Columns.OBS)}
    mask = np.concatenate([np.asarray(batch[Columns.LOSS_MASK][k]) for k in keys])
    term = np.concatenate([np.asarray(batch[Columns.TERMINATEDS][k]) for k in keys])
    trunc = np.concatenate([np.asarray(batch[Columns.TRUNCATEDS][k]) for k in keys])
    rew = np.concatenate([np.append(np.asarray(rewards[k[1]], np.float32), 0.0) for k in keys])
    module_batch = {CRITIC_OBS: torch.tensor(column[CRITIC_OBS]),
                    Columns.OBS: torch.tensor(column[Columns.OBS]),
                    Columns.REWARDS: torch.tensor(rew), Columns.TERMINATEDS: torch.tensor(term),
                    Columns.TRUNCATEDS: torch.tensor(trunc), Columns.LOSS_MASK: torch.tensor(mask)}
    out = TeamGAE(gamma=0.9, lambda_=0.8)(rl_module=rl_module, episodes=episodes,
                                         batch={"shared": module_batch})["shared"]

    values = column[CRITIC_OBS] @ np.array([0.01, 0.0, 0.0, 0.02, 0.5, -0.5]) + 0.1
    targets = np.concatenate([
        _gae(rew[i * 5:(i + 1) * 5], values[i * 5:(i + 1) * 5], 0.9, 0.8) for i in range(2)])
    adv = targets - values
    adv = (adv - adv[mask].mean()) / adv[mask].std()
    np.testing.assert_allclose(out[Columns.VF_PREDS].numpy(), values, rtol=1e-5)
    np.testing.assert_allclose(out[Columns.ADVANTAGES].numpy()[mask], adv[mask], rtol=1e-4,
                               atol=1e-5)
    # targets are normalized by statistics that now include exactly this batch's targets
    mean, std = targets[mask].mean(), targets[mask].std()
    assert module.value_norm.mean_std()[0].item() == pytest.approx(mean, rel=1e-6)
    np.testing.assert_allclose(out[Columns.VALUE_TARGETS].numpy()[mask],
                               (targets[mask] - mean) / std, rtol=1e-4, atol=1e-5)


def _gae(rewards: np.ndarray, values: np.ndarray, gamma: float, lam: float) -> np.ndarray:
    """Textbook GAE on one chunk whose last row is the bootstrap row (truncated chunk)."""
    n = len(rewards) - 1
    adv = np.zeros(n + 1)
    running = 0.0
    for t in reversed(range(n)):
        delta = rewards[t] + gamma * values[t + 1] - values[t]
        running = delta + gamma * lam * running
        adv[t] = running
    return adv + values


# ------------------------------------------------------------------ value normalization
def test_value_norm_updates_debiased_moments_and_inverts() -> None:
    norm = ValueNorm(beta=0.999)
    x0 = torch.zeros(3)
    np.testing.assert_allclose(norm.denormalize(x0).numpy(), x0.numpy())  # identity before updates
    a = torch.tensor([1.0, 2.0, 3.0, 10.0])
    norm.update(a)  # one batch: debiasing makes the moments exact
    mean, std = norm.mean_std()
    assert mean.item() == pytest.approx(4.0)
    assert std.item() == pytest.approx(a.double().std(unbiased=False).item())
    b = torch.tensor([-5.0, -7.0])
    norm.update(b)
    wa, wb = 0.999 ** 4, 0.999 ** 2
    m1 = ((1 - wa) * wb * 4.0 + (1 - wb) * -6.0) / (1 - wa * wb)
    m2 = ((1 - wa) * wb * (a ** 2).mean().item()
          + (1 - wb) * (b ** 2).mean().item()) / (1 - wa * wb)
    mean, std = norm.mean_std()
    assert mean.item() == pytest.approx(m1)
    assert std.item() == pytest.approx(np.sqrt(m2 - m1 ** 2))
    y = torch.linspace(-30, 30, 7)
    np.testing.assert_allclose(norm.denormalize(norm.normalize(y)).numpy(), y.numpy(), atol=1e-5)
    at_mean = norm.normalize(torch.tensor([m1], dtype=torch.float32))
    np.testing.assert_allclose(at_mean.numpy(), [0.0], atol=1e-6)
    state = {k: v.clone() for k, v in norm.state_dict().items()}
    fresh = ValueNorm(beta=0.999)
    fresh.load_state_dict(state)  # checkpoints carry the statistics
    assert fresh.mean_std()[0].item() == pytest.approx(m1)


def test_value_norm_floors_the_variance_of_constant_targets() -> None:
    norm = ValueNorm()
    norm.update(torch.full((50,), 3.0))
    mean, std = norm.mean_std()
    assert mean.item() == pytest.approx(3.0) and std.item() == pytest.approx(0.1)


# ------------------------------------------------------------------ losses and gradients
def test_value_loss_huber_mse_and_clip() -> None:
    v, old, tgt = torch.tensor([0.0, 2.0]), torch.tensor([0.0, 0.0]), torch.tensor([20.0, 2.0])
    huber = value_loss(v, old, tgt, kind="huber", delta=10.0, value_clip=None)
    assert huber.tolist() == pytest.approx([10.0 * (20.0 - 5.0), 0.0])
    mse = value_loss(v, old, tgt, kind="mse", value_clip=None)
    assert mse.tolist() == pytest.approx([400.0, 0.0])
    # clip: row 2 moved 2.0 from its old value; the clipped value 0.2 is 1.8 off -> max wins
    clipped = value_loss(v, old, tgt, kind="mse", value_clip=0.2)
    assert clipped.tolist() == pytest.approx([400.0, 1.8 ** 2])


def test_policy_and_value_losses_touch_only_their_own_network() -> None:
    module = _module()["shared"]
    batch = {Columns.OBS: torch.randn(16, OBS_DIM), CRITIC_OBS: torch.randn(16, 2 * OBS_DIM + 2)}
    logits = module.forward_train(batch)[Columns.ACTION_DIST_INPUTS]
    dist = module.get_train_action_dist_cls().from_logits(logits)
    actions = torch.randint(0, 3, (16,))
    policy = clipped_surrogate_loss(dist.logp(actions), torch.zeros(16), torch.randn(16), 0.2)
    policy.mean().backward()
    assert all(p.grad is not None for p in module.pi.parameters())
    assert all(p.grad is None for p in module.critic.parameters())

    module.zero_grad(set_to_none=True)
    values = module.compute_values(batch)
    value_loss(values, values.detach(), torch.randn(16)).mean().backward()
    assert all(p.grad is not None for p in module.critic.parameters())
    assert all(p.grad is None for p in module.pi.parameters())
