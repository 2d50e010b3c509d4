"""coma pieces on hand-built data, without Ray: the counterfactual advantages and TD(lambda)
targets against numbers worked out by hand, the teammates' actions joined by env step,
and the spec checks."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from ray.rllib.connectors.learner import AddOneTsToEpisodesAndTruncate
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
from ray.rllib.core.rl_module.rl_module import RLModuleSpec
from ray.rllib.env.multi_agent_episode import MultiAgentEpisode

from marl.errors import SpecError
from marl.rllib.connectors.coma import (AddOthersActions, ComaAdvantages,
                                        counterfactual_advantages)
from marl.rllib.env.critic_input import CRITIC_OBS
from marl.rllib.modules.coma_critic import COMA_OTHERS, ComaModule
from marl.spec import spec_from_dict


def _coma_module(obs_dim: int, n_actions: int, critic_dim: int, others_dim: int, **cfg):
    return MultiRLModuleSpec(rl_module_specs={"shared": RLModuleSpec(
        module_class=ComaModule,
        observation_space=gym.spaces.Box(-1e3, 1e3, (obs_dim,), np.float32),
        action_space=gym.spaces.Discrete(n_actions),
        model_config={"hidden": [8], "critic_input": "central", "critic_obs_dim": critic_dim,
                      "coma_others_dim": others_dim, **cfg})}).build()


def test_counterfactual_advantage_is_q_of_the_action_minus_the_policy_average() -> None:
    q = torch.tensor([[1.0, 2.0, 3.0], [0.0, 4.0, -2.0]])
    probs = torch.tensor([[0.2, 0.3, 0.5], [0.5, 0.5, 0.0]])
    q_taken, baseline, adv = counterfactual_advantages(q, probs, torch.tensor([2, 0]))
    np.testing.assert_allclose(q_taken.numpy(), [3.0, 0.0])
    np.testing.assert_allclose(baseline.numpy(), [2.3, 2.0], rtol=1e-6)  # .2+.6+1.5; 0+2+0
    np.testing.assert_allclose(adv.numpy(), [0.7, -2.0], rtol=1e-6)


def test_coma_advantages_and_td_lambda_targets_on_a_hand_built_batch() -> None:
    """A chunk of two real steps (truncated after the second) plus its bootstrap row.

    The critic is the identity on critic_obs (critic_obs holds Q(s, u_-i, .)), the actor
    the identity on the observation (obs holds the logits), value normalization off.

        row 0: Q = [1, 2, 3],  pi = [.2, .3, .5], u = 2:  A = 3 - 2.3 = 0.7
        row 1: Q = [0, 4, -2], pi = [.5, .5, 0] (action 2 masked), u = 0:  A = 0 - 2 = -2
        row 2 (bootstrap): Q = [2, 2, 5], pi = [.2, .3, .5]:  V(s_T) = .4 + .6 + 2.5 = 3.5
        gamma 0.9, lambda 0.5, rewards 1, -1:
        y1 = -1 + 0.9 * 3.5 = 2.15
        y0 = 1 + 0.9 * (0.5 * Q(s_1, u_1) + 0.5 * y1) = 1 + 0.9 * (0 + 1.075) = 1.9675
        standardized advantages over the real rows: [0.7, -2] -> [1, -1]
    """
    rl_module = _coma_module(3, 3, critic_dim=3, others_dim=0, value_normalization=False)
    module = rl_module["shared"]
    with torch.no_grad():
        module.critic = torch.nn.Linear(3, 3, bias=False)
        module.critic.weight.copy_(torch.eye(3))
        module.pi = torch.nn.Linear(3, 3, bias=False)
        module.pi.weight.copy_(torch.eye(3))
    logits = np.log(np.array([[0.2, 0.3, 0.5], [0.5, 0.5, 1e-30], [0.2, 0.3, 0.5]]))
    batch = {
        Columns.OBS: torch.tensor(logits, dtype=torch.float32),
        CRITIC_OBS: torch.tensor([[1.0, 2.0, 3.0], [0.0, 4.0, -2.0], [2.0, 2.0, 5.0]]),
        COMA_OTHERS: torch.zeros(3, 0),
        Columns.ACTIONS: torch.tensor([2, 0, 0]),  # the bootstrap row's is a dummy copy
        Columns.REWARDS: torch.tensor([1.0, -1.0, 0.0]),
        Columns.TERMINATEDS: torch.tensor([False, False, False]),
        Columns.TRUNCATEDS: torch.tensor([False, True, False]),
        Columns.LOSS_MASK: torch.tensor([True, True, False]),
    }
    out = ComaAdvantages(gamma=0.9, lambda_=0.5)(rl_module=rl_module, episodes=[],
                                                 batch={"shared": batch})["shared"]
    np.testing.assert_allclose(out[Columns.VALUE_TARGETS].numpy()[:2], [1.9675, 2.15],
                               rtol=1e-5)
    np.testing.assert_allclose(out[Columns.ADVANTAGES].numpy()[:2], [1.0, -1.0], rtol=1e-5)
    np.testing.assert_allclose(out[Columns.VF_PREDS].numpy()[:2], [3.0, 0.0])  # Q(s, u)
    # the learner's value loss fits exactly this: Q of the taken action
    np.testing.assert_allclose(module.compute_values(batch).detach().numpy(), [3.0, 0.0, 2.0])


AGENTS = ("a0", "a1", "a2")


def _episode() -> MultiAgentEpisode:
    """Three agents, 3 env steps; a2 terminates after its 2nd step (acts at t=0, 1)."""
    space = gym.spaces.Box(-1e3, 1e3, (2,), np.float32)
    ep = MultiAgentEpisode(observation_space=gym.spaces.Dict({a: space for a in AGENTS}),
                           action_space=gym.spaces.Dict(
                               {a: gym.spaces.Discrete(4) for a in AGENTS}),
                           agent_module_ids={a: "shared" for a in AGENTS})
    obs = {a: np.zeros(2, np.float32) for a in AGENTS}
    ep.add_env_reset(observations=obs, infos={a: {} for a in AGENTS})
    actions = {0: {"a0": 0, "a1": 1, "a2": 2}, 1: {"a0": 3, "a1": 2, "a2": 1},
               2: {"a0": 1, "a1": 0}}
    for t in range(3):
        live = list(actions[t])
        done = {a: a == "a2" and t == 1 for a in live}
        ep.add_env_step(observations={a: obs[a] for a in live}, actions=actions[t],
                        rewards={a: 0.0 for a in live}, infos={a: {} for a in live},
                        terminateds={"__all__": False, **done},
                        truncateds={"__all__": False, **{a: False for a in live}},
                        extra_model_outputs={a: {Columns.ACTION_LOGP: np.float32(0.0)}
                                             for a in live})
    return ep.to_numpy()


def _one_hots(*actions: int | None) -> np.ndarray:
    out = np.zeros((len(actions), 4), np.float32)
    for k, u in enumerate(actions):
        if u is not None:
            out[k, u] = 1.0
    return out.reshape(-1)


def test_teammates_actions_are_joined_by_env_step_done_ones_are_zero() -> None:
    rl_module = _coma_module(2, 4, critic_dim=2, others_dim=8)
    episodes = [_episode()]
    connector = AddOthersActions(teams={"team": list(AGENTS)},
                                 num_actions={a: 4 for a in AGENTS})
    batch: dict = {}
    for piece in (AddOneTsToEpisodesAndTruncate(), connector):
        batch = piece(rl_module=rl_module, batch=batch, episodes=episodes, shared_data={})
    rows = {k[1]: np.asarray(v, np.float32).reshape(-1, 8)
            for k, v in batch[COMA_OTHERS].items()}
    assert {a: len(r) for a, r in rows.items()} == {"a0": 4, "a1": 4, "a2": 3}
    # a0: teammates a1, a2 at t = 0, 1, 2; a2 is done at t = 2
    np.testing.assert_array_equal(rows["a0"][:3], [_one_hots(1, 2), _one_hots(2, 1),
                                                   _one_hots(0, None)])
    np.testing.assert_array_equal(rows["a1"][:3], [_one_hots(0, 2), _one_hots(3, 1),
                                                   _one_hots(1, None)])
    np.testing.assert_array_equal(rows["a2"][:2], [_one_hots(0, 1), _one_hots(3, 2)])
    # bootstrap rows (t = 3): live teammates' actions sampled from the policy, the
    # terminated a2 gets zeros
    boot = rows["a0"][3].reshape(2, 4)
    assert boot[0].sum() == 1 and boot[1].sum() == 0
    # a2's bootstrap row (t = 2) sees what a0 and a1 really did at t = 2
    np.testing.assert_array_equal(rows["a2"][2], _one_hots(1, 0))


@pytest.mark.parametrize(("env_id", "words"), [
    ("competitive/tag-v0", "cooperative"),
    ("cooperative/multiwalker-v0", "discrete actions"),
    ("cooperative/hanabi-v0", "simultaneous moves"),
])
def test_coma_refuses_envs_it_cannot_train_with_one_line(env_id: str, words: str) -> None:
    from envs.registry import check_env_id

    try:
        check_env_id(env_id)
    except KeyError:
        pytest.skip(f"{env_id} not registered")
    with pytest.raises(SpecError) as err:
        spec_from_dict({"name": "t", "env": {"id": env_id}, "algorithm": {"name": "coma"}})
    message = str(err.value)
    assert "\n" not in message and words in message and "mappo" in message
