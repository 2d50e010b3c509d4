"""COMA's actor-critic: marl's actor with a counterfactual Q critic (Foerster et al. 2018).

    actor   pi(own obs) -> action logits           as ActorCriticModule (env runners too)
    critic  Q(critic_obs, u_-i) -> |A| values       learners only; one value per own action

The critic input of agent i's row at step t is ``critic_obs`` (mappo's: env state or team
observations, plus i's one-hot index in its team; ``marl.rllib.env.critic_input``)
concatenated with column ``coma_others``: the one-hot actions of i's teammates at the
same env step, in team order without i (``marl.rllib.connectors.coma``). The head gives
Q(s, u_-i, a) for every own action a at once, so the counterfactual baseline
sum_a pi(a|o_i) Q(s, u_-i, a) costs one forward pass.

``compute_values`` returns Q of the taken action (``Columns.ACTIONS``), in the ValueNorm's
normalized units: the MAPPO learner's value loss (Huber, value clip) then fits
Q(s, u_t) to the TD(lambda) targets unchanged (``marl.rllib.learners.coma``).

model_config: ActorCriticModule's (``critic_input: central``, ``critic_obs_dim``) plus
``coma_others_dim`` (sum of the teammates' action counts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from ray.rllib.core.columns import Columns

from marl.errors import SpecError
from marl.rllib.env.critic_input import CRITIC_OBS
from marl.rllib.modules.actor_critic import ActorCriticModule, _linear, encoder_layers

if TYPE_CHECKING:
    from marl.experiment import Experiment

__all__ = ["COMA_OTHERS", "ComaModule", "coma_model_config"]

COMA_OTHERS = "coma_others"
"""Batch column: the teammates' one-hot actions at the row's env step."""


class ComaModule(ActorCriticModule):
    """ActorCriticModule whose learner-only critic is COMA's Q(s, u_-i, .) head."""

    def setup(self) -> None:
        super().setup()
        if self.inference_only:
            return
        cfg = self.model_config or {}
        assert isinstance(cfg, dict) and self.central, "coma's critic is centralized"
        assert not self.continuous, "coma needs discrete actions (marl.algorithms)"
        hidden = list(cfg.get("critic_hidden") or cfg.get("hidden", [64, 64]))
        in_dim = int(cfg["critic_obs_dim"]) + int(cfg["coma_others_dim"])
        layers, width = encoder_layers(in_dim, cfg, hidden, cfg.get("activation", "tanh"))
        n_actions = int(self.action_space.n)  # type: ignore[union-attr]
        self.critic = torch.nn.Sequential(*layers, _linear(width, n_actions, 1.0))

    def q_values(self, batch: dict[str, Any]) -> torch.Tensor:
        """Q(s, u_-i, a) for every own action a, shape (rows, |A|), normalized units."""
        return self.critic(torch.cat([batch[CRITIC_OBS], batch[COMA_OTHERS]], dim=-1))

    def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> torch.Tensor:
        """Q(s, u_-i, u_i) of each row's taken action (normalized units)."""
        actions = batch[Columns.ACTIONS].long().unsqueeze(-1)
        return self.q_values(batch).gather(-1, actions).squeeze(-1)


def coma_model_config(exp: Experiment, policy: str, config: dict[str, Any]) -> dict[str, Any]:
    """``config`` (the policy's actor-critic model_config) with COMA's critic width.

    The others' block holds one one-hot per teammate; ``marl.algorithms.coma_problem``
    has checked that a team's members share one discrete action count.
    """
    layout = exp.critic
    assert layout is not None and policy in layout.team_of_policy, "coma: a team critic"
    members = layout.teams[layout.team_of_policy[policy]]
    counts = {exp.num_actions(m) for m in members}
    if len(counts) != 1:
        raise SpecError(f"algorithm.name: coma needs one action count within a team; team "
                        f"{layout.team_of_policy[policy]!r} has {sorted(counts)}: use mappo")
    n = counts.pop()
    return {**config, "coma_others_dim": (len(members) - 1) * n}
