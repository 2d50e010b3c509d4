"""Box actions of the actor-critic: Gaussian (clip) and tanh-squashed Gaussian heads.

No Ray instance: modules are built from their spec and run on hand-built inputs. Log-probs
and entropies are checked against ``torch.distributions`` (computed here, independently
of RLlib's distribution classes).
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
import torch

OBS = gym.spaces.Box(-1.0, 1.0, (6,), np.float32)
ACT = gym.spaces.Box(0.0, 1.0, (3,), np.float32)  # MPE's continuous actions


def _module(action_squash: str = "clip", inference_only: bool = False, act=ACT):
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    from marl.rllib.modules.actor_critic import ActorCriticModule

    return RLModuleSpec(module_class=ActorCriticModule, observation_space=OBS, action_space=act,
                        inference_only=inference_only,
                        model_config={"hidden": [16], "action_squash": action_squash}).build()


def _inputs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Hand-built rows: means, log stds (within RLlib's [-5, 2] clamp) and pre-squash u."""
    mean = torch.tensor([[0.0, 0.5, -1.0], [1.5, -0.3, 0.2]], dtype=torch.float64)
    log_std = torch.tensor([[0.0, -1.0, 0.7], [-0.5, 0.3, -2.0]], dtype=torch.float64)
    u = torch.tensor([[0.3, 2.0, -1.7], [1.0, -0.1, 0.25]], dtype=torch.float64)
    return mean, log_std, u


def test_clip_gaussian_logp_and_entropy_match_torch_normal() -> None:
    dist_cls = _module("clip").get_train_action_dist_cls()
    mean, log_std, x = _inputs()
    x = x * 2.0  # also outside [-1, 1]: log-probs of the unclipped sample
    dist = dist_cls.from_logits(torch.cat([mean, log_std], -1))
    normal = torch.distributions.Normal(mean, log_std.exp())
    torch.testing.assert_close(dist.logp(x), normal.log_prob(x).sum(-1))
    torch.testing.assert_close(dist.entropy(), normal.entropy().sum(-1))
    # Closed form, for the record: 0.5 log(2 pi e) + log_std per dimension.
    torch.testing.assert_close(dist.entropy(),
                               (0.5 * math.log(2 * math.pi * math.e) + log_std).sum(-1))
    torch.testing.assert_close(dist.to_deterministic().sample(), mean)


def test_tanh_gaussian_logp_has_the_jacobian_and_acts_tanh_mean() -> None:
    dist_cls = _module("tanh").get_train_action_dist_cls()
    mean, log_std, u = _inputs()
    dist = dist_cls.from_logits(torch.cat([mean, log_std], -1))
    a = torch.tanh(u)
    expected = (torch.distributions.Normal(mean, log_std.exp()).log_prob(u).sum(-1)
                - torch.log(1.0 - torch.tanh(u) ** 2).sum(-1))
    torch.testing.assert_close(dist.logp(a), expected)
    torch.testing.assert_close(dist.to_deterministic().sample(), torch.tanh(mean))
    assert dist.sample().abs().max() < 1.0


def _tanh_gaussian_entropy(mean: np.ndarray, std: np.ndarray) -> float:
    """H[tanh(u)], u ~ N(mean, diag(std^2)), by quadrature per dimension:
    H = sum_i H[N(mean_i, std_i)] + E[log(1 - tanh(u_i)^2)]."""
    total = 0.0
    for m, s in zip(mean, std, strict=True):
        u = np.linspace(m - 12 * s, m + 12 * s, 400_001)
        density = np.exp(-0.5 * ((u - m) / s) ** 2) / (s * math.sqrt(2 * math.pi))
        log_det = 2.0 * (math.log(2.0) - u - np.logaddexp(0.0, -2.0 * u))
        total += 0.5 * math.log(2 * math.pi * math.e * s * s) + np.trapezoid(density * log_det, u)
    return float(total)


def test_tanh_gaussian_entropy_estimate_and_kl() -> None:
    dist_cls = _module("tanh").get_train_action_dist_cls()
    rows = 200_000
    mean = torch.tensor([0.4, -1.2, 0.0]).expand(rows, 3)
    log_std = torch.tensor([0.0, -0.5, 0.8]).expand(rows, 3).clone().requires_grad_(True)
    dist = dist_cls.from_logits(torch.cat([mean, log_std], -1))
    torch.manual_seed(0)
    estimate = dist.entropy()
    assert estimate.shape == (rows,)
    exact = _tanh_gaussian_entropy(np.array([0.4, -1.2, 0.0]), np.exp([0.0, -0.5, 0.8]))
    assert float(estimate.detach().mean()) == pytest.approx(exact, abs=0.02)
    # Below the Gaussian's entropy (tanh contracts), and differentiable in log_std.
    normal = torch.distributions.Normal(mean, log_std.detach().exp())
    assert exact < float(normal.entropy().sum(-1)[0]) - 1.0
    estimate.mean().backward()
    assert log_std.grad is not None and torch.isfinite(log_std.grad).all()
    # KL: that of the Gaussians (tanh is a bijection).
    other = dist_cls.from_logits(torch.cat([mean + 0.3, log_std.detach() - 0.2], -1))
    gaussian_kl = torch.distributions.kl_divergence(
        normal, torch.distributions.Normal(mean + 0.3, (log_std.detach() - 0.2).exp())).sum(-1)
    torch.testing.assert_close(dist.kl(other), gaussian_kl)


@pytest.mark.parametrize("action_squash", ["clip", "tanh"])
def test_box_module_has_one_state_independent_log_std(action_squash: str) -> None:
    from ray.rllib.core.columns import Columns

    module = _module(action_squash)
    log_std = dict(module.named_parameters())["pi_log_std"]
    assert log_std.shape == (3,) and log_std.requires_grad
    assert torch.equal(log_std.detach(), torch.zeros(3))  # std 1 at init
    with torch.no_grad():
        log_std.copy_(torch.tensor([0.1, -0.2, 0.3]))
    obs = torch.stack([torch.zeros(6), torch.linspace(-1, 1, 6)])
    out = module.forward_train({Columns.OBS: obs})[Columns.ACTION_DIST_INPUTS]
    assert out.shape == (2, 6)
    mean, part = out[:, :3], out[:, 3:]
    torch.testing.assert_close(part[0], part[1])  # the same log std for both observations
    torch.testing.assert_close(part[0], log_std.detach())
    assert not torch.equal(mean[0], mean[1])  # while the mean depends on the observation
    torch.testing.assert_close(mean, module.pi(obs))
    # Env runners hold the actor, its log std included.
    runner = _module(action_squash, inference_only=True)
    assert "pi_log_std" in runner.get_state() and not hasattr(runner, "critic")


def test_box_module_refuses_multi_dimensional_boxes() -> None:
    with pytest.raises(ValueError, match="flat Box"):
        _module(act=gym.spaces.Box(-1.0, 1.0, (2, 2), np.float32))


def test_box_policies_map_to_the_bounds() -> None:
    """Inference: greedy = the mean (tanh(mean)), sampled = a draw, both mapped from
    [-1, 1] to [low, high]; the random baseline is uniform in the bounds."""
    from marl.rllib.inference import module_policy, random_policy

    space = gym.spaces.Box(np.array([-2.0, 0.0, 10.0], np.float32),
                           np.array([2.0, 1.0, 20.0], np.float32))
    for squash in ("clip", "tanh"):
        module = _module(squash, inference_only=True, act=space)
        with torch.no_grad():
            module.pi[-1].weight.zero_()
            module.pi[-1].bias.copy_(torch.tensor([0.5, -3.0, 0.0]))
            module.pi_log_std.fill_(1.0)
        obs = [np.zeros(6, np.float32)] * 4000
        greedy = module_policy(module, greedy=True)(obs)
        mean = torch.tensor([0.5, -3.0, 0.0])
        det = (torch.tanh(mean) if squash == "tanh" else mean).numpy()
        expected = np.clip(space.low + (det + 1.0) * (space.high - space.low) / 2, space.low,
                           space.high)
        np.testing.assert_allclose(greedy, np.broadcast_to(expected, greedy.shape), rtol=1e-5)
        sampled = module_policy(module, greedy=False, seed=1)(obs)
        assert ((sampled >= space.low) & (sampled <= space.high)).all()
        assert len(np.unique(sampled[:, 0])) > 100  # draws, not the mean
    rand = random_policy(space, seed=0)(obs)
    assert ((rand >= space.low) & (rand <= space.high)).all()
    np.testing.assert_allclose(rand.mean(0), (space.low + space.high) / 2,
                               atol=0.05 * float(np.max(space.high - space.low)))


def test_frozen_random_module_draws_uniformly_in_normalized_units() -> None:
    """A frozen ``random`` policy on a Box space acts in [-1, 1], which the env runners
    map to the bounds (uniform in [low, high])."""
    from ray.rllib.core.columns import Columns
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    from marl.rllib.modules.scripted import RandomPolicyModule

    module = RLModuleSpec(module_class=RandomPolicyModule, observation_space=OBS,
                          action_space=ACT).build()
    actions = module.forward_exploration({Columns.OBS: np.zeros((5000, 6), np.float32)})[
        Columns.ACTIONS]
    assert actions.shape == (5000, 3) and actions.dtype == np.float32
    assert actions.min() >= -1.0 and actions.max() <= 1.0
    np.testing.assert_allclose(actions.mean(0), 0.0, atol=0.05)
    np.testing.assert_allclose(actions.std(0), 1 / math.sqrt(3), atol=0.02)  # uniform
