"""``policies.model.share_encoder``: an own-observation critic as one value head on the
actor's last hidden layer, on hand-built inputs."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.rl_module import RLModuleSpec
from torch import nn

from marl.errors import SpecError
from marl.experiment import resolve
from marl.rllib.modules.actor_critic import ActorCriticModule
from marl.rllib.modules.specs import actor_critic_config
from marl.spec import spec_from_dict

BOARD = {"encoder": "cnn", "board": [6, 7, 2], "conv": [[4, 3]], "hidden": [8],
         "value_normalization": False}


def _module(share: bool, inference_only: bool = False) -> ActorCriticModule:
    space = gym.spaces.Dict({"observations": gym.spaces.Box(0.0, 1.0, (84,), np.float32),
                             "action_mask": gym.spaces.Box(0.0, 1.0, (7,), np.float32)})
    return RLModuleSpec(module_class=ActorCriticModule, observation_space=space,
                        action_space=gym.spaces.Discrete(7), inference_only=inference_only,
                        model_config={**BOARD, "share_encoder": share}).build()


def _batch(rows: int = 5) -> dict:
    gen = torch.Generator().manual_seed(0)
    mask = torch.ones(rows, 7)
    mask[:, 3] = 0.0
    return {Columns.OBS: {"observations": (torch.rand(rows, 84, generator=gen) > 0.5).float(),
                          "action_mask": mask}}


def test_the_critic_is_one_value_head_on_the_actors_last_hidden_layer() -> None:
    module = _module(share=True)
    assert len(module.critic) == 1 and isinstance(module.critic[0], nn.Linear)
    assert module.critic[0].in_features == module.pi[-1].in_features == 8
    separate = _module(share=False)
    assert isinstance(separate.critic[1], nn.Conv2d)  # its own encoder
    n = sum(p.numel() for p in module.parameters())
    assert n < sum(p.numel() for p in separate.parameters())


def test_forward_train_hands_its_embeddings_to_compute_values() -> None:
    module = _module(share=True)
    batch = _batch()
    out = module.forward_train(batch)
    embeddings = out[Columns.EMBEDDINGS]
    assert embeddings.shape == (5, 8)
    # The embeddings are the trunk's output: the same values with or without them.
    with_emb = module.compute_values(batch, embeddings=embeddings)
    without = module.compute_values(batch)
    assert torch.allclose(with_emb, without)
    assert torch.allclose(with_emb, module.critic(embeddings).squeeze(-1))
    # Logits come from the same pass as sampling's, and stay masked.
    logits = out[Columns.ACTION_DIST_INPUTS]
    assert torch.allclose(logits, module.forward_inference(batch)[Columns.ACTION_DIST_INPUTS])
    assert (logits[:, 3] < -1e30).all()


def test_the_value_loss_trains_the_shared_layers_and_not_the_policy_head() -> None:
    module = _module(share=True)
    batch = _batch()
    out = module.forward_train(batch)
    module.compute_values(batch, embeddings=out[Columns.EMBEDDINGS]).pow(2).sum().backward()
    conv, head = module.pi[1], module.pi[-1]
    assert conv.weight.grad is not None and conv.weight.grad.abs().sum() > 0
    assert head.weight.grad is None


def test_env_runners_get_the_trunk_and_not_the_value_head() -> None:
    full, runner = _module(share=True), _module(share=True, inference_only=True)
    assert not hasattr(runner, "critic")
    state = full.get_state(inference_only=True)
    assert not any(k.startswith("critic") for k in state)
    runner.set_state(state)
    batch = _batch()
    assert torch.allclose(runner.forward_inference(batch)[Columns.ACTION_DIST_INPUTS],
                          full.forward_inference(batch)[Columns.ACTION_DIST_INPUTS])


def test_spec_carries_share_encoder_and_mappo_refuses_it() -> None:
    data = {"name": "c4", "env": {"id": "competitive/connect_four-v0"},
            "policies": {"model": {"encoder": "cnn", "share_encoder": True}}}
    assert actor_critic_config(resolve(spec_from_dict(data)), "shared")["share_encoder"]
    with pytest.raises(SpecError, match="share_encoder: mappo's critic does not see"):
        spec_from_dict({"name": "sp", "env": {"id": "cooperative/spread-v0"},
                        "algorithm": {"name": "mappo"},
                        "policies": {"model": {"share_encoder": True}}})
