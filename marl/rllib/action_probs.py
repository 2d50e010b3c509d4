"""A module's action distribution as a plain ``probs(obs, mask)`` function, and the
exploitability probe of OpenSpiel games (``evaluation.exploitability_every``).

OpenSpiel's best-response code asks a policy for its action probabilities at every
decision state (``marl.exploitability``); this is the bridge from an RLModule.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from ray.rllib.core.columns import Columns

from marl.experiment import Experiment

__all__ = ["ExploitabilityProbe", "module_evaluator", "module_probs"]


def module_probs(module: Any) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """``probs(obs, mask)``: the module's softmax over masked logits for one observation
    (mask-dict modules: ``{"observations": obs, "action_mask": mask}``)."""

    @torch.no_grad()
    def probs(obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        x = {"observations": torch.as_tensor(obs, dtype=torch.float32)[None],
             "action_mask": torch.as_tensor(mask, dtype=torch.float32)[None]}
        logits = module.forward_inference({Columns.OBS: x})[Columns.ACTION_DIST_INPUTS]
        return torch.softmax(logits, -1)[0].numpy()

    return probs


class ExploitabilityProbe:
    """Every ``every`` iterations: exact NashConv of the learner's current policies."""

    def __init__(self, exp: Experiment, every: int, game: Any):
        self.exp, self.every, self.game = exp, every, game
        self.key = "league/exploitability" if exp.has_league else "eval/exploitability"

    @classmethod
    def for_experiment(cls, exp: Experiment) -> ExploitabilityProbe | None:
        every = exp.spec.evaluation.exploitability_every
        if not every:
            return None
        from marl.exploitability import openspiel_game

        return cls(exp, every, openspiel_game(exp))

    def maybe_run(self, algo: Any) -> dict[str, float]:
        if int(algo.iteration) % self.every:
            return {}
        from marl.exploitability import measure_profile
        from marl.rllib.inference import live_module

        specs = algo.config.rl_module_spec.rl_module_specs
        plan = self.exp.plan
        modules = {p: live_module(algo, specs[p], p) for p in plan.agents_of
                   if p not in plan.frozen}
        # OpenSpiel's player i is the env's i-th agent (envs.openspiel: player_i).
        profile = []
        for agent in self.exp.agents:
            policy = plan.policy_of(agent)
            if policy in modules:
                profile.append(module_probs(modules[policy]))
            else:  # a frozen random seat
                profile.append(lambda obs, mask: mask / mask.sum())
        result = measure_profile(self.game, profile)
        return {self.key: result.exploitability, self.key.replace("exploitability", "nash_conv"):
                result.nash_conv}


def module_evaluator(module: Any) -> Callable[[Any], tuple[np.ndarray, float]]:
    """``evaluate(obs) -> (priors, value)`` for MCTS (``marl.search``): the module's
    softmax over masked logits and its critic's value of ``obs`` for the player to move,
    in return units (a ValueNorm'd critic is denormalized).

    Raises:
        ValueError: the module has no critic (an inference-only copy).
    """
    if getattr(module, "inference_only", False) or not hasattr(module, "compute_values"):
        raise ValueError("MCTS needs the module's value head: load it from a checkpoint")
    norm = getattr(module, "value_norm", None)

    @torch.no_grad()
    def evaluate(obs: Any) -> tuple[np.ndarray, float]:
        x = {"observations": torch.as_tensor(np.asarray(obs["observations"]),
                                             dtype=torch.float32)[None],
             "action_mask": torch.as_tensor(np.asarray(obs["action_mask"]),
                                            dtype=torch.float32)[None]}
        batch = {Columns.OBS: x}
        logits = module.forward_inference(batch)[Columns.ACTION_DIST_INPUTS]
        value = module.compute_values(batch)
        if norm is not None:
            value = norm.denormalize(value)
        return torch.softmax(logits, -1)[0].numpy(), float(value.reshape(-1)[0])

    return evaluate
