"""The cnn encoder on image observations (H, W, C): strided unpadded and same-padded
conv entries, the width by a forward pass, uint8 scaling, the Nature CNN default, and the
model_config the spec of a pixel env gives its module."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

from marl.experiment import resolve
from marl.policies import NATURE_CONV
from marl.rllib.modules.actor_critic import ActorCriticModule, conv_layers
from marl.rllib.modules.specs import actor_critic_config, module_specs
from marl.spec import spec_from_dict


def _module(shape: tuple[int, ...], config: dict, n: int = 3) -> ActorCriticModule:
    space = gym.spaces.Box(0.0, 1.0, shape, np.float32)
    return RLModuleSpec(module_class=ActorCriticModule, observation_space=space,
                        action_space=gym.spaces.Discrete(n),
                        model_config={"encoder": "cnn", "hidden": [16],
                                      "value_normalization": False, **config}).build()


def test_strided_and_same_padded_entries_and_the_flat_width() -> None:
    module = _module((32, 24, 2), {"board": [32, 24, 2], "conv": [[8, 4, 2], [16, 3]]})
    first, second = module.pi[1], module.pi[3]
    assert isinstance(first, torch.nn.Conv2d) and isinstance(second, torch.nn.Conv2d)
    assert (first.in_channels, first.out_channels, first.kernel_size) == (2, 8, (4, 4))
    assert first.stride == (2, 2) and first.padding == (0, 0)
    assert second.stride == (1, 1) and second.padding == (1, 1)
    # 32x24 -> (32-4)//2+1 x (24-4)//2+1 = 15x11 -> same padding keeps 15x11; 16 channels.
    linear = module.pi[6]
    assert isinstance(linear, torch.nn.Linear) and linear.in_features == 16 * 15 * 11
    obs = torch.rand(5, 32, 24, 2)
    out = module.forward_train({Columns.OBS: obs})[Columns.ACTION_DIST_INPUTS]
    assert out.shape == (5, 3) and torch.isfinite(out).all()
    assert module.compute_values({Columns.OBS: obs}).shape == (5,)
    assert isinstance(module.critic[1], torch.nn.Conv2d)  # own-obs critic: its own cnn


def test_nature_cnn_on_84x84x4_has_its_published_sizes() -> None:
    layers, width = conv_layers((84, 84, 4), NATURE_CONV)
    assert width == 64 * 7 * 7  # 84 -> 20 -> 9 -> 7
    convs = [m for m in layers if isinstance(m, torch.nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size[0], c.stride[0]) for c in convs] == [
        (32, 8, 4), (64, 4, 2), (64, 3, 1)]


def test_image_pixels_are_viewed_channels_first() -> None:
    module = _module((6, 5, 3), {"board": [6, 5, 3], "conv": [[4, 3]]})
    image = torch.zeros(1, 6, 5, 3)
    image[0, 4, 1, 2] = 1.0  # row 4, column 1, third channel
    viewed = module.pi[0](image.flatten(1))
    assert viewed.shape == (1, 3, 6, 5) and float(viewed[0, 2, 4, 1]) == 1.0


def test_uint8_scale_makes_255_look_like_1() -> None:
    torch.manual_seed(0)
    scaled = _module((8, 8, 1), {"board": [8, 8, 1], "conv": [[4, 3]], "obs_scale": 1 / 255})
    torch.manual_seed(0)
    plain = _module((8, 8, 1), {"board": [8, 8, 1], "conv": [[4, 3]]})
    pixels = torch.randint(0, 256, (4, 8, 8, 1)).float()
    got = scaled.forward_inference({Columns.OBS: pixels})[Columns.ACTION_DIST_INPUTS]
    want = plain.forward_inference({Columns.OBS: pixels / 255})[Columns.ACTION_DIST_INPUTS]
    torch.testing.assert_close(got, want)


def test_conv_that_does_not_fit_raises() -> None:
    with pytest.raises(ValueError, match="does not fit a 6x6x1 observation"):
        conv_layers((6, 6, 1), NATURE_CONV)


def test_pistonball_spec_gives_its_module_the_image_and_the_preset_cnn() -> None:
    exp = resolve(spec_from_dict({"name": "pb", "env": {"id": "cooperative/pistonball-v0",
                                                        "config": {"n_pistons": 3}}}))
    config = actor_critic_config(exp, "shared")
    assert config["board"] == [32, 32, 4] and config["conv"] == [[16, 4, 2], [32, 3, 2]]
    assert config["obs_scale"] == pytest.approx(1 / 255) and config["hidden"] == [256]
    module = module_specs(exp, exp.plan)["shared"].build()
    assert isinstance(module.pi[1], torch.nn.Conv2d) and module.pi[1].in_channels == 4
    assert module.pi[6].in_features == 32 * 7 * 7  # 32 -> 15 -> 7
    # share_encoder: the critic is one value head on the actor's last hidden layer.
    assert len(module.critic) == 1 and module.critic[0].in_features == 256
    obs = torch.randint(0, 256, (2, 32, 32, 4)).float()  # what the adapter feeds: float32
    assert module.forward_inference({Columns.OBS: obs})[Columns.ACTION_DIST_INPUTS].shape == (2, 3)
    values = module.compute_values({Columns.OBS: obs})
    assert values.shape == (2,) and torch.isfinite(values).all()


def test_pistonball_cnn_without_conv_is_the_nature_cnn() -> None:
    exp = resolve(spec_from_dict({
        "name": "pb", "env": {"id": "cooperative/pistonball-v0", "config": {"n_pistons": 3},
                              "preprocess": [{"color_reduction": {"mode": "B"}},
                                             {"resize": {"x_size": 64, "y_size": 64}},
                                             {"frame_stack": 4}]},
        "policies": {"model": {"encoder": "cnn", "hidden": [512], "activation": "relu"}}}))
    config = actor_critic_config(exp, "shared")
    assert config["board"] == [64, 64, 4] and config["conv"] == [list(c) for c in NATURE_CONV]
    module = module_specs(exp, exp.plan)["shared"].build()
    assert module.pi[8].in_features == 64 * 4 * 4  # 64 -> 15 -> 6 -> 4
