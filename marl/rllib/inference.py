"""Trained policies from a checkpoint as plain ``act(observations) -> actions`` callables."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.rl_module import RLModule

from marl.policies import PolicyPlan

__all__ = ["Policy", "checkpoint_policy", "learner_weights", "live_module", "load_policies",
           "module_dir", "module_policy", "random_policy"]

Policy = Callable[[Sequence[Any]], np.ndarray]


def module_dir(checkpoint: Path, policy: str) -> Path:
    return checkpoint / "learner_group" / "learner" / "rl_module" / policy


def random_policy(n_actions: int, seed: int = 0) -> Policy:
    """Uniform over legal actions (``action_mask`` respected)."""
    rng = np.random.default_rng(seed)

    def act(observations: Sequence[Any]) -> np.ndarray:
        out = []
        for obs in observations:
            mask = obs["action_mask"] if isinstance(obs, dict) else np.ones(n_actions)
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
    """Wrap an RLModule: one batched forward per call, argmax or sampled actions."""
    gen = torch.Generator().manual_seed(seed)

    @torch.no_grad()
    def act(observations: Sequence[Any]) -> np.ndarray:
        out = module.forward_inference({Columns.OBS: _stack(observations)})
        logits = out[Columns.ACTION_DIST_INPUTS]
        if greedy:
            return logits.argmax(-1).numpy()
        return torch.multinomial(torch.softmax(logits, -1), 1, generator=gen).squeeze(-1).numpy()

    return act


def load_policies(checkpoint: Path, plan: PolicyPlan, n_actions: dict[str, int],
                  greedy: bool = False, seed: int = 0) -> dict[str, Policy]:
    """Every policy of a run: trained ones from the checkpoint, frozen ones by kind."""
    policies: dict[str, Policy] = {}
    for policy in plan.agents_of:
        if policy in plan.frozen:
            policies[policy] = random_policy(n_actions[policy], seed)
        else:
            module = RLModule.from_checkpoint(str(module_dir(checkpoint, policy).resolve()))
            module.eval()
            policies[policy] = module_policy(module, greedy, seed)
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


def checkpoint_policy(checkpoint: Path, player_id: str, greedy: bool = False, seed: int = 0) -> Policy:
    """One trained module of a checkpoint (e.g. a league player) as an ``act`` callable."""
    module = RLModule.from_checkpoint(str(module_dir(Path(checkpoint), player_id).resolve()))
    module.eval()
    return module_policy(module, greedy, seed)
