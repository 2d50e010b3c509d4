"""Reward-shaping wrappers for mixed-motive ParallelEnvs.

Both wrap any PettingZoo ``ParallelEnv``, change only the rewards, and keep the
env's own reward in ``infos[agent]["raw_reward"]`` and its episode sum so far in
``infos[agent]["raw_return"]``, so the true returns (and the social metrics built on
them) can still be logged. ``make_shaping`` builds one from a spec's ``env.shaping``.
Shaping is over the agents that receive a reward this step; N below is their number.

| Wrapper           | Shaped reward of agent i                                        |
|-------------------|-----------------------------------------------------------------|
| InequityAversion  | r_i - a/(N-1) sum_j max(e_j - e_i, 0) - b/(N-1) sum_j max(e_i - e_j, 0) |
| Prosocial         | (1 - w) r_i + w mean_j r_j                                      |
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from pettingzoo import ParallelEnv
from pettingzoo.utils import BaseParallelWrapper

__all__ = ["InequityAversion", "Prosocial", "make_shaping"]


class _Shaping(BaseParallelWrapper):
    """Keeps each agent's raw (env) episode return for ``infos``."""

    def __init__(self, env: ParallelEnv) -> None:
        super().__init__(env)
        self._raw_return: dict[Any, float] = {}

    def reset(self, seed: int | None = None, options: dict | None = None):
        self._raw_return = {}
        return self.env.reset(seed=seed, options=options)

    def _with_raw(self, infos: dict[Any, dict], raw: dict[Any, float]) -> dict[Any, dict]:
        # Fresh per-agent dicts: an env may share one info dict between agents.
        out = dict(infos)
        for agent, r in raw.items():
            total = self._raw_return.get(agent, 0.0) + r
            self._raw_return[agent] = total
            out[agent] = {**infos.get(agent, {}), "raw_reward": r, "raw_return": total}
        return out


class InequityAversion(_Shaping):
    """Inequity-averse rewards (Hughes et al. 2018, "Inequity aversion improves
    cooperation in intertemporal social dilemmas").

    Each agent keeps a temporally smoothed reward e_i^t = gamma * lam * e_i^{t-1} + r_i^t
    (e_i^0 = 0 at reset) and is penalised for disadvantageous inequity (others ahead,
    weight alpha, "envy") and for advantageous inequity (itself ahead, weight beta,
    "guilt"):

        u_i = r_i - alpha/(N-1) sum_{j!=i} max(e_j - e_i, 0)
                  - beta/(N-1)  sum_{j!=i} max(e_i - e_j, 0)

    Example, alpha = 5, beta = 0.05, N = 2, first step, r = (1, 0): e = (1, 0), so
    u_0 = 1 - 0.05 * 1 = 0.95 and u_1 = 0 - 5 * 1 = -5.

    Args:
        env: any ParallelEnv.
        alpha: envy weight (>= 0).
        beta: guilt weight (>= 0).
        gamma: discount, in [0, 1].
        lam: smoothing, in [0, 1]; the trace decays by gamma * lam per step.
    """

    def __init__(
        self,
        env: ParallelEnv,
        alpha: float = 5.0,
        beta: float = 0.05,
        gamma: float = 0.99,
        lam: float = 0.95,
    ) -> None:
        super().__init__(env)
        if alpha < 0 or beta < 0:
            raise ValueError(f"alpha and beta must be >= 0, got alpha={alpha}, beta={beta}")
        if not (0 <= gamma <= 1 and 0 <= lam <= 1):
            raise ValueError(f"gamma and lam must be in [0, 1], got gamma={gamma}, lam={lam}")
        self.alpha, self.beta, self.gamma, self.lam = alpha, beta, gamma, lam
        self._trace: dict[Any, float] = {}

    def reset(self, seed: int | None = None, options: dict | None = None):
        self._trace = {}
        return super().reset(seed=seed, options=options)

    def step(self, actions: dict):
        obs, rewards, terms, truncs, infos = self.env.step(actions)
        agents = list(rewards)
        r = np.array([float(rewards[a]) for a in agents])
        decay = self.gamma * self.lam
        e = np.array([decay * self._trace.get(a, 0.0) for a in agents]) + r
        self._trace.update(zip(agents, e.tolist()))
        n = len(agents)
        shaped = r
        if n > 1:
            diff = e[None, :] - e[:, None]  # diff[i, j] = e_j - e_i
            envy = np.maximum(diff, 0.0).sum(1)
            guilt = np.maximum(-diff, 0.0).sum(1)
            shaped = r - (self.alpha * envy + self.beta * guilt) / (n - 1)
        raw = dict(zip(agents, r.tolist()))
        return obs, dict(zip(agents, shaped.tolist())), terms, truncs, self._with_raw(infos, raw)


class Prosocial(_Shaping):
    """Prosocial rewards: each agent's reward is mixed with the group mean.

        r_i' = (1 - w) r_i + w * mean_j r_j

    w = 0 is selfish (the env's rewards), w = 1 is fully cooperative (everyone gets
    the mean). Example, w = 0.5, r = (2, 0): mean 1, so r' = (1.5, 0.5).

    Args:
        env: any ParallelEnv.
        weight: w in [0, 1].
    """

    def __init__(self, env: ParallelEnv, weight: float) -> None:
        super().__init__(env)
        if not 0 <= weight <= 1:
            raise ValueError(f"weight must be in [0, 1], got {weight}")
        self.weight = weight

    def step(self, actions: dict):
        obs, rewards, terms, truncs, infos = self.env.step(actions)
        raw = {a: float(r) for a, r in rewards.items()}
        if not raw:
            return obs, rewards, terms, truncs, infos
        mean = sum(raw.values()) / len(raw)
        w = self.weight
        shaped = {a: (1 - w) * r + w * mean for a, r in raw.items()}
        return obs, shaped, terms, truncs, self._with_raw(infos, raw)


def make_shaping(env: Any, shaping: Mapping[str, Any]) -> BaseParallelWrapper:
    """Wrap ``env`` with the shaping a spec's ``env.shaping`` section names.

    Args:
        env: a ParallelEnv.
        shaping: ``{"kind": "inequity_aversion", "alpha", "beta", "gamma", "lambda"}``
            or ``{"kind": "prosocial", "weight"}``; omitted numbers take the defaults.

    Raises:
        ValueError: for a turn-based (AEC) env, an unknown kind or bad values.
    """
    if not isinstance(env, ParallelEnv):
        raise ValueError(
            f"reward shaping needs a parallel env, got {type(env).__name__} (turn-based)"
        )
    args = dict(shaping)
    kind = args.pop("kind", None)
    if kind == "inequity_aversion":
        if "lambda" in args:
            args["lam"] = args.pop("lambda")
        return InequityAversion(env, **args)
    if kind == "prosocial":
        return Prosocial(env, **args)
    raise ValueError(f"unknown shaping kind {kind!r}; use inequity_aversion or prosocial")
