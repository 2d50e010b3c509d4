"""Social outcome metrics of sequential social dilemmas (Perolat et al. 2017).

Pure functions of per-episode tallies, so any env (or a replay) can report them.
With N agents, episode length T, return R_i of agent i:

| Metric         | Formula                                   | Range       |
|----------------|-------------------------------------------|-------------|
| efficiency     | U = sum_i R_i / T                         | R per step  |
| equality       | E = 1 - Gini(R)                           | [0, 1]      |
| sustainability | S = mean time step of the collected apples| [0, T]      |
| peace          | P = N*T - (tagged agent-steps)            | [0, N*T]    |
| peace_fraction | P / (N*T)                                 | [0, 1]      |
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["efficiency", "equality", "gini", "peace", "peace_fraction", "sustainability"]


def efficiency(returns: Sequence[float], episode_length: int) -> float:
    """Utilitarian efficiency: total return of all agents per time step.

    U = (sum_i R_i) / T. Example: returns (3, 1, 0) over T = 4 steps give
    U = 4 / 4 = 1.0.

    Args:
        returns: per-agent episode returns R_i.
        episode_length: T, the number of steps, > 0.

    Returns:
        The total return per step (not per agent-step).

    Raises:
        ValueError: if ``episode_length`` is not positive.
    """
    if episode_length <= 0:
        raise ValueError(f"episode_length must be > 0, got {episode_length}")
    return float(np.sum(returns, dtype=np.float64) / episode_length)


def gini(values: Sequence[float]) -> float:
    """Gini coefficient G = sum_i sum_j |x_i - x_j| / (2 n^2 mean(x)).

    Example: (0, 0, 3) has pairwise |differences| summing to 4 * 3 = 12, n = 3,
    mean = 1, so G = 12 / 18 = 2/3. All-equal values give 0; all zeros give 0.

    Args:
        values: non-negative numbers, at least one.

    Raises:
        ValueError: if empty or any value is negative (Gini is undefined there).
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    if x.size == 0:
        raise ValueError("gini needs at least one value")
    if np.any(x < 0):
        raise ValueError(f"gini needs non-negative values, got {x.tolist()}")
    total = x.sum()
    if total == 0:
        return 0.0
    # Mean absolute difference over all ordered pairs (i, j), i = j included.
    pair_sum = np.abs(x[:, None] - x[None, :]).sum()
    return float(pair_sum / (2.0 * x.size**2 * x.mean()))


def equality(returns: Sequence[float]) -> float:
    """Equality E = 1 - Gini(returns); 1.0 when all returns are zero.

    Example: (0, 0, 3) gives 1 - 2/3 = 1/3; (2, 2) gives 1.0.

    Args:
        returns: non-negative per-agent returns (apples collected).
    """
    return 1.0 - gini(returns)


def sustainability(harvest_times: Sequence[int]) -> float:
    """Sustainability S: mean time step at which apples were collected.

    Pooled over all agents' collections: harvests at steps (1, 2) by one agent
    and (9,) by another give S = (1 + 2 + 9) / 3 = 4.0. (Perolat et al. first
    average per agent, then over agents, which gives (1.5 + 9) / 2 = 5.25 here;
    the pooled mean weighs each apple equally.) Higher means apples were still
    being collected late in the episode. With no apples collected, S = 0.0.

    Args:
        harvest_times: one entry per apple collected, the step (1-based) it was eaten.
    """
    if len(harvest_times) == 0:
        return 0.0
    return float(np.mean(harvest_times, dtype=np.float64))


def peace(tagged_agent_steps: int, num_agents: int, episode_length: int) -> float:
    """Peace P = N*T - (number of agent-steps spent tagged out).

    Example: 3 agents over T = 10 steps, one agent tagged out for 4 steps:
    P = 30 - 4 = 26. Perolat et al. report P / T (mean number of untagged agents,
    here 2.6); ``peace_fraction`` gives P / (N*T).

    Args:
        tagged_agent_steps: sum over agents of the steps each spent tagged out.
        num_agents: N.
        episode_length: T.
    """
    if tagged_agent_steps < 0 or tagged_agent_steps > num_agents * episode_length:
        raise ValueError(
            f"tagged_agent_steps must be in [0, N*T] = "
            f"[0, {num_agents * episode_length}], got {tagged_agent_steps}"
        )
    return float(num_agents * episode_length - tagged_agent_steps)


def peace_fraction(tagged_agent_steps: int, num_agents: int, episode_length: int) -> float:
    """Normalised peace P / (N*T) in [0, 1]: 1.0 means nobody was ever tagged.

    Example: the ``peace`` example gives 26 / 30 = 0.8667. Defined as 1.0 when
    N*T = 0.
    """
    total = num_agents * episode_length
    if total == 0:
        return 1.0
    return peace(tagged_agent_steps, num_agents, episode_length) / total
