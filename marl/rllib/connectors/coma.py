"""Learner connector pieces of ``coma``: the teammates' actions and the counterfactual
advantages (Foerster et al. 2018, "Counterfactual Multi-Agent Policy Gradients").

Pipeline (``ComaTorchLearner.build``): ``AddCriticObs`` -> ``AddOthersActions`` -> ...
RLlib's defaults ... -> ``ComaAdvantages`` (in place of ``TeamGAE``).

``AddOthersActions`` joins the agents of one episode chunk by env step: row t of agent i
gets column ``coma_others`` = [onehot(u_j,t) for teammates j != i, team order], zeros for a
teammate without an action at that step (done). At the bootstrap row (the chunk's last
observation, whose actions are taken only in the next chunk, or never) a teammate's
action is *sampled* from its current policy at its own last observation, so that

    V(s_T) = sum_a pi_i(a|o_i,T) Q(s_T, u_-i, a),   u_-i ~ pi_-i(.|o_-i,T)

is an unbiased one-sample estimate of E_{u~pi} Q(s_T, u).

``ComaAdvantages``, per COMA module, on the whole train batch (before any update: the
policy and critic at sampling time, as PPO's GAE):

    Q      = denormalize(Q(s_t, u_-i,t, .))                         (rows, |A|)
    A_t    = Q(s_t, u_-i,t, u_i,t) - sum_a pi_i(a|o_i,t) Q(s_t, u_-i,t, a)   COMA's advantage
    y_t    = TD(lambda) return on Q of the taken actions:
             y_t = r_t + gamma ((1 - lambda) Q(s_t+1, u_t+1) + lambda y_t+1),
             bootstrapped with V(s_T) above where a chunk was cut or the env truncated
             (``connectors/time_limit.py``), 0 after a terminal step
    column advantages = standardize(A) over real rows; value_targets = normalize(y);
    vf_preds = Q(s_t, u_t) (normalized, for the value clip)

pi_i are the policy's probabilities from the masked logits (masked actions get
probability 0 and drop out of the baseline).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from ray.rllib.connectors.common.numpy_to_tensor import NumpyToTensor
from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.core.columns import Columns
from ray.rllib.env.multi_agent_episode import MultiAgentEpisode
from ray.rllib.utils.postprocessing.value_predictions import compute_value_targets

from marl.rllib.connectors.team_gae import _numpy, attach_columns
from marl.rllib.modules.coma_critic import COMA_OTHERS, ComaModule

__all__ = ["AddOthersActions", "ComaAdvantages", "coma_module", "counterfactual_advantages",
           "env_steps"]

_SKIP = MultiAgentEpisode.SKIP_ENV_TS_TAG


def counterfactual_advantages(q: torch.Tensor, probs: torch.Tensor, actions: torch.Tensor
                              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """COMA's advantage per row.

    Args:
        q: Q(s, u_-i, a) for every own action a, shape (rows, |A|).
        probs: pi_i(a | o_i), shape (rows, |A|) (0 for masked actions).
        actions: the taken actions u_i, shape (rows,).

    Returns:
        (Q(s, u_-i, u_i), baseline sum_a pi_i(a|o_i) Q(s, u_-i, a), their difference).
    """
    q_taken = q.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)
    baseline = (probs * q).sum(-1)
    return q_taken, baseline, q_taken - baseline


def coma_module(rl_module: Any, module_id: str | None) -> ComaModule | None:
    """The (unwrapped) learner-side ComaModule of ``module_id``, else None."""
    if module_id is None or module_id not in rl_module:
        return None
    module = rl_module[module_id]
    module = module.unwrapped() if hasattr(module, "unwrapped") else module
    return module if isinstance(module, ComaModule) and module.has_critic else None


def env_steps(episode: MultiAgentEpisode, agent: str, count: int) -> list[int]:
    """Env steps (from the chunk's start) of an agent's first ``count`` observations in
    the chunk, from the episode's ``env_t_to_agent_t``; ``range(count)`` without one."""
    buf = episode.env_t_to_agent_t.get(agent)
    if buf is not None:
        data = list(buf.data)[buf.lookback:]
        steps = [t for t, v in enumerate(data) if v != _SKIP]
        if len(steps) >= count:
            return steps[:count]
    return list(range(count))


def _stack(items: list[Any]) -> Any:
    if isinstance(items[0], dict):
        return {k: np.stack([o[k] for o in items]) for k in items[0]}
    return np.stack(items)


def _to_tensor(x: Any, device: torch.device) -> Any:
    if isinstance(x, dict):
        return {k: _to_tensor(v, device) for k, v in x.items()}
    return torch.as_tensor(np.asarray(x), device=device)


def _device(module: Any) -> torch.device:
    params = list(module.parameters()) if hasattr(module, "parameters") else []
    return params[0].device if params else torch.device("cpu")


def _sample_actions(module: Any, obs: list[Any]) -> np.ndarray:
    """One action per observation from the module's current (masked) policy."""
    with torch.no_grad():
        out = module.forward_exploration({Columns.OBS: _to_tensor(_stack(obs), _device(module))})
    if Columns.ACTIONS in out:  # scripted modules act directly
        return np.asarray(_numpy(out[Columns.ACTIONS])).astype(np.int64).reshape(-1)
    logits = out[Columns.ACTION_DIST_INPUTS]
    return torch.distributions.Categorical(logits=logits).sample().cpu().numpy()


class AddOthersActions(ConnectorV2):
    """Column ``coma_others``: the teammates' one-hot actions at each row's env step.

    Args:
        teams: team -> members in env order (``CriticLayout.teams``).
        num_actions: agent -> its discrete action count.
    """

    def __init__(self, input_observation_space=None, input_action_space=None, *,
                 teams: dict[str, list[str]], num_actions: dict[str, int]):
        super().__init__(input_observation_space, input_action_space)
        self.teams = {t: list(m) for t, m in teams.items()}
        self.team_of = {a: t for t, members in self.teams.items() for a in members}
        self.num_actions = dict(num_actions)

    def _chunk_rows(self, rl_module: Any, ma: MultiAgentEpisode) -> dict[str, np.ndarray]:
        """Agent -> its ``coma_others`` rows (len(chunk) after the bootstrap step)."""
        # RLlib types agent ids as ``Hashable | str``; marl's are str.
        agents = {str(a): sa for a, sa in ma.agent_episodes.items()}
        real = {a: len(sa) - 1 for a, sa in agents.items()}  # AddOneTs added one step
        steps = {a: env_steps(ma, a, real[a] + 1) for a in agents}
        # Each agent's action at each env step it acted at in this chunk.
        acted: dict[str, dict[int, int]] = {}
        for a, sa in agents.items():
            acts: Any = np.asarray(sa.get_actions(slice(0, real[a]))).reshape(-1) if real[a] else []
            acted[a] = {steps[a][k]: int(acts[k]) for k in range(real[a])}
        # At its last observation an agent has not acted yet: sample from its policy.
        by_module: dict[str, list[str]] = {}
        for a, sa in agents.items():  # a terminated agent acts no more: zeros
            if not sa.is_terminated and sa.module_id is not None and sa.module_id in rl_module:
                by_module.setdefault(sa.module_id, []).append(a)
        for module_id, members in by_module.items():
            obs = [agents[a].get_observations(-1) for a in members]
            for a, u in zip(members, _sample_actions(rl_module[module_id], obs), strict=True):
                acted[a].setdefault(steps[a][real[a]], int(u))
        out = {}
        for i in agents:
            others = [j for j in self.teams[self.team_of[i]] if j != i]
            width = sum(self.num_actions[j] for j in others)
            rows = np.zeros((real[i] + 1, width), np.float32)
            for k, t in enumerate(steps[i]):
                offset = 0
                for j in others:
                    u = acted.get(j, {}).get(t)
                    if u is not None:
                        rows[k, offset + u] = 1.0
                    offset += self.num_actions[j]
            out[i] = rows
        return out

    def __call__(self, *, rl_module: Any, batch: dict[str, Any], episodes: list[Any],
                 **kwargs: Any) -> Any:
        if not episodes or not isinstance(episodes[0], MultiAgentEpisode):
            return batch
        rows: dict[tuple[str, str], np.ndarray] = {}
        for ma in episodes:
            if any(coma_module(rl_module, sa.module_id) is not None
                   for sa in ma.agent_episodes.values()):
                for agent, r in self._chunk_rows(rl_module, ma).items():
                    rows[(str(ma.id_), agent)] = r
        # Same order as the observation column (RLlib batches columns in this order).
        for sa in self.single_agent_episode_iterator(episodes, agents_that_stepped_only=False):
            if coma_module(rl_module, sa.module_id) is None:
                continue
            r = rows[(str(sa.multi_agent_episode_id), str(sa.agent_id))]
            self.add_n_batch_items(batch, COMA_OTHERS, r, len(sa), sa)
        return batch


class ComaAdvantages(ConnectorV2):
    """COMA's advantages and TD(lambda) critic targets (see the module docstring)."""

    def __init__(self, input_observation_space=None, input_action_space=None, *,
                 gamma: float, lambda_: float):
        super().__init__(input_observation_space, input_action_space)
        self.gamma = gamma
        self.lambda_ = lambda_
        self._to_tensor: NumpyToTensor | None = None

    def __call__(self, *, rl_module: Any, episodes: list[Any], batch: dict[str, Any],
                 **kwargs: Any) -> Any:
        results: dict[str, dict[str, np.ndarray]] = {}
        device = None
        for module_id, mb in batch.items():
            module = coma_module(rl_module, module_id)
            if module is None:
                continue
            with torch.no_grad():
                q_norm = module.q_values(mb)
                norm = module.value_norm
                q = norm.denormalize(q_norm) if norm is not None else q_norm
                logits = module._forward(mb)[Columns.ACTION_DIST_INPUTS]
                probs = torch.softmax(logits, dim=-1)
                actions = mb[Columns.ACTIONS]
                q_taken, baseline, adv_t = counterfactual_advantages(q, probs, actions)
                q_norm_taken = q_norm.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)
            device = q_norm.device
            valid = _numpy(mb[Columns.LOSS_MASK]).astype(bool)
            # Real rows: Q of the taken joint action; bootstrap rows: V = E_pi_i Q.
            values = np.where(valid, _numpy(q_taken), _numpy(baseline))
            targets = compute_value_targets(
                values=values, rewards=_numpy(mb[Columns.REWARDS]),
                terminateds=_numpy(mb[Columns.TERMINATEDS]),
                truncateds=_numpy(mb[Columns.TRUNCATEDS]),
                gamma=self.gamma, lambda_=self.lambda_)
            adv = _numpy(adv_t)
            adv = (adv - adv[valid].mean()) / max(1e-4, float(adv[valid].std()))
            if norm is not None:
                norm.update(torch.as_tensor(targets[valid], device=device))
                targets = _numpy(norm.normalize(torch.as_tensor(targets, device=device)))
            results[module_id] = {
                Columns.ADVANTAGES: adv.astype(np.float32),
                Columns.VALUE_TARGETS: np.asarray(targets, np.float32),
                Columns.VF_PREDS: _numpy(q_norm_taken).astype(np.float32),
            }
        return attach_columns(self, rl_module=rl_module, episodes=episodes, batch=batch,
                              results=results, device=device)
