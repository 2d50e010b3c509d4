"""Trained policies from a checkpoint as plain ``act(observations) -> actions`` callables."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

import gymnasium as gym
import numpy as np
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.distribution.torch.torch_distribution import TorchDistribution
from ray.rllib.core.rl_module.rl_module import RLModule
from ray.rllib.core.rl_module.torch import TorchRLModule
from ray.rllib.utils.spaces.space_utils import unsquash_action

from marl.play import random_box_policy
from marl.policies import PolicyPlan
from marl.rllib.modules.distributions import squash

__all__ = ["Policy", "checkpoint_module", "checkpoint_policy", "learner_weights", "live_module", "load_policies",
           "module_dir", "module_policy", "random_policy"]

Policy = Callable[[Sequence[Any]], np.ndarray]


def module_dir(checkpoint: Path, policy: str) -> Path:
    return checkpoint / "learner_group" / "learner" / "rl_module" / policy


def random_policy(n_actions: int | gym.Space, seed: int = 0) -> Policy:
    """Uniform over legal actions (``action_mask`` respected); ``n_actions`` may be the
    action space: a Box space gives actions uniform in ``[low, high]``."""
    if isinstance(n_actions, gym.spaces.Box):
        return random_box_policy(n_actions, seed)
    if isinstance(n_actions, gym.spaces.Discrete):
        n_actions = int(n_actions.n)
    if isinstance(n_actions, gym.Space):
        raise ValueError(f"random_policy: a Discrete or Box action space, not {n_actions}")
    n = n_actions
    rng = np.random.default_rng(seed)

    def act(observations: Sequence[Any]) -> np.ndarray:
        out = []
        for obs in observations:
            mask = obs["action_mask"] if isinstance(obs, dict) else np.ones(n)
            out.append(int(rng.choice(np.flatnonzero(mask))))
        return np.asarray(out)

    return act


def _stack(observations: Sequence[Any]) -> Any:
    first = observations[0]
    if isinstance(first, dict):
        return {k: torch.as_tensor(np.stack([o[k] for o in observations]), dtype=torch.float32)
                for k in first}
    return torch.as_tensor(np.stack(observations), dtype=torch.float32)


def module_policy(module: RLModule, greedy: bool, seed: int = 0) -> Policy:
    """Wrap an RLModule: one batched forward per call, argmax or sampled actions (Box:
    the mean, or a draw, through the module's squashing, mapped to the bounds). A dqn
    ``QModule`` always acts greedily: argmax of its masked Q values."""
    from marl.rllib.modules.q_module import QModule

    gen = torch.Generator().manual_seed(seed)
    greedy = greedy or isinstance(module, QModule)
    if isinstance(module.action_space, gym.spaces.Box):
        return _box_policy(module, greedy, gen)

    @torch.no_grad()
    def act(observations: Sequence[Any]) -> np.ndarray:
        out = module.forward_inference({Columns.OBS: _stack(observations)})
        logits = out[Columns.ACTION_DIST_INPUTS]
        if greedy:
            return logits.argmax(-1).numpy()
        return torch.multinomial(torch.softmax(logits, -1), 1, generator=gen).squeeze(-1).numpy()

    return act


def _box_policy(module: RLModule, greedy: bool, gen: torch.Generator) -> Policy:
    """Box actions as the env runners send them: the module's distribution in [-1, 1]
    units (greedy: its deterministic action, mean or tanh(mean)), then RLlib's
    ``unsquash_action`` to the space's bounds, clipped (``normalize_actions``)."""
    space = module.action_space
    dist_cls = module.get_inference_action_dist_cls()
    action_squash = getattr(module, "action_squash", "clip")

    @torch.no_grad()
    def act(observations: Sequence[Any]) -> np.ndarray:
        out = module.forward_inference({Columns.OBS: _stack(observations)})
        dist = dist_cls.from_logits(out[Columns.ACTION_DIST_INPUTS])
        if greedy:
            # RLlib annotates sample() numpy | torch; torch distributions give tensors.
            actions = cast(torch.Tensor, dist.to_deterministic().sample())
        else:  # a draw from our own generator: N(loc, scale) of RLlib's wrapper
            assert isinstance(dist, TorchDistribution), "Box actions: a torch Gaussian"
            normal = dist._dist
            noise = torch.randn(normal.loc.shape, generator=gen, dtype=normal.loc.dtype)
            actions = squash(normal.loc + normal.scale * noise, action_squash)
        return unsquash_action(actions.numpy(), space)

    return act


def load_policies(checkpoint: Path, plan: PolicyPlan, n_actions: dict[str, Any],
                  greedy: bool = False, seed: int = 0) -> dict[str, Policy]:
    """Every policy of a run: trained ones from the checkpoint, frozen ones by kind.

    Args:
        n_actions: policy -> its number of discrete actions or its action space (needed
            for Box spaces, whose random policy draws in the bounds).
    """
    policies: dict[str, Policy] = {}
    for policy in plan.agents_of:
        if policy in plan.frozen:
            policies[policy] = random_policy(n_actions[policy], seed)
        else:
            policies[policy] = checkpoint_policy(checkpoint, policy, greedy, seed)
    return policies


def learner_weights(algo: Any, module_id: str) -> dict[str, Any]:
    """A module's weights as the learner holds them (actor *and* critic)."""
    state = algo.learner_group.get_state(components=f"learner/rl_module/{module_id}")
    return state["learner"]["rl_module"].get(module_id, {})


def live_module(algo: Any, module_spec: Any, module_id: str) -> RLModule:
    """An inference copy of ``module_id`` (built from ``module_spec``) with the learner's
    current weights; weightless modules (scripted players) come back as built."""
    module = module_spec.build()
    weights = learner_weights(algo, module_id)
    if weights:
        module.set_state(weights)
    module.eval()
    return module


def checkpoint_module(checkpoint: Path, player_id: str) -> RLModule:
    """One trained module of a checkpoint (e.g. a league player), in eval mode."""
    # RLlib annotates from_checkpoint with its base class Checkpointable; called on
    # RLModule it builds an RLModule, and marl's trained modules are torch ones.
    module = cast(TorchRLModule, RLModule.from_checkpoint(
        str(module_dir(Path(checkpoint), player_id).resolve())))
    module.eval()
    return module


def checkpoint_policy(checkpoint: Path, player_id: str, greedy: bool = False, seed: int = 0) -> Policy:
    """One trained module of a checkpoint (e.g. a league player) as an ``act`` callable."""
    return module_policy(checkpoint_module(checkpoint, player_id), greedy, seed)
