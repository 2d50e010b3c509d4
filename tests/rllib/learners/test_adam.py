"""The learners' Adam: eps 1e-5, fused on CPU, the same steps as torch's per-tensor loop."""

from __future__ import annotations

import copy

import torch
from torch import nn

from marl.rllib.learners.ppo import ADAM_EPS, adam


def test_fused_adam_steps_as_the_per_tensor_loop() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))
    start = copy.deepcopy(net)
    ref = copy.deepcopy(net)
    fused = adam(list(net.parameters()))
    loop = torch.optim.Adam(ref.parameters(), eps=ADAM_EPS)
    assert fused.defaults["fused"] is True and fused.defaults["eps"] == ADAM_EPS
    assert not loop.defaults["fused"]
    for _ in range(25):
        x = torch.randn(16, 5)
        for model, opt in ((net, fused), (ref, loop)):
            opt.zero_grad()
            model(x).pow(2).mean().backward()
            opt.step()
    for a, b, s in zip(net.parameters(), ref.parameters(), start.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-6)
        assert (a - s).abs().max() > 1e-3  # 25 steps at lr 1e-3 moved every tensor
