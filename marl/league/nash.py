"""Nash averaging of a league's meta-game (Balduzzi et al. 2018, "Re-evaluating evaluation").

The meta-game is the two-player zero-sum game whose pure strategies are the league's
players and whose payoff is the antisymmetric score margin

    A[i, j] = win_rate(i, j) - 1/2          (draws count half; unseen pairs 0)

Its maximum-entropy Nash equilibrium ``p*`` (a mixture over players) is unique, and
player ``i``'s Nash-averaged skill is its expected margin against that mixture,
``(A p*)[i]``: <= 0 for everyone, 0 exactly for the players in the equilibrium's support.
Unlike Elo, these skills are invariant to redundancy: adding copies of a player splits
its equilibrium weight among the copies and leaves every skill unchanged.

Computation: A being antisymmetric, the game's value is 0 and the (symmetric) equilibria
are the polytope ``{p >= 0, sum p = 1, A p <= 0}``. A linear programme (scipy's HiGHS)
finds a point of it; maximum entropy over the polytope (a strictly concave objective) is
then solved by SLSQP from that point. Plain numpy/scipy: no Ray.

``alpha_rank`` is OpenSpiel's alpha-Rank (Omidshafiei et al. 2019) of the same win
rates as a single-population game: the stationary mass of each player under the
evolutionary dynamics (``open_spiel.python.egt.alpharank``; imported on use).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["NashAverage", "alpha_rank", "margin_matrix", "maxent_nash", "nash_average"]

_TOL = 1e-7


@dataclass(frozen=True)
class NashAverage:
    """The meta-game's maximum-entropy Nash and each player's Nash-averaged skill.

    Attributes:
        players: the players, in matrix order.
        weights: equilibrium probability of each player (sums to 1).
        skills: expected score margin of each player against the equilibrium mixture
            (``(A p*)[i]``, in [-1/2, 0]; 0 on the support).
    """

    players: tuple[str, ...]
    weights: tuple[float, ...]
    skills: tuple[float, ...]

    def weight(self, player: str) -> float:
        return self.weights[self.players.index(player)]

    def skill(self, player: str) -> float:
        return self.skills[self.players.index(player)]

    def to_dict(self) -> dict[str, dict[str, float]]:
        """``{player: {"weight": w, "skill": s}}``."""
        return {p: {"weight": w, "skill": s}
                for p, w, s in zip(self.players, self.weights, self.skills, strict=True)}


def margin_matrix(players: Sequence[str], win_rate: Callable[[str, str], float]) -> np.ndarray:
    """``A[i, j] = win_rate(i, j) - 1/2``, made exactly antisymmetric (the mean of the two
    bookings, which agree up to float error)."""
    n = len(players)
    a = np.zeros((n, n))
    for i, p in enumerate(players):
        for j, q in enumerate(players):
            if i != j:
                a[i, j] = float(win_rate(p, q)) - 0.5
    return (a - a.T) / 2.0


def _entropy_grad(p: np.ndarray) -> tuple[float, np.ndarray]:
    q = np.clip(p, 1e-12, None)
    return float(np.sum(q * np.log(q))), np.log(q) + 1.0  # negative entropy and its gradient


def maxent_nash(a: np.ndarray) -> np.ndarray:
    """The maximum-entropy Nash equilibrium of the symmetric zero-sum game ``a``
    (antisymmetric ``n x n``): a probability vector ``p`` with ``a @ p <= 0``."""
    from scipy.optimize import linprog, minimize

    a = np.asarray(a, dtype=float)
    n = a.shape[0]
    if n == 0:
        return np.zeros(0)
    if n == 1:
        return np.ones(1)
    # LP: minimise v subject to a p <= v, sum p = 1, p >= 0 (the value is 0).
    c = np.r_[np.zeros(n), 1.0]
    res = linprog(c, A_ub=np.c_[a, -np.ones(n)], b_ub=np.zeros(n),
                  A_eq=np.r_[np.ones(n), 0.0][None], b_eq=[1.0],
                  bounds=[(0, None)] * n + [(None, None)], method="highs")
    if not res.success:  # pragma: no cover - an antisymmetric game always has an equilibrium
        raise ValueError(f"meta-game LP failed: {res.message}")
    start = np.clip(res.x[:n], 0, None)
    start /= start.sum()
    # Mix towards uniform as far as the polytope allows: a strictly interior-ish start.
    uniform = np.full(n, 1.0 / n)
    for t in (0.5, 0.25, 0.1, 0.05, 0.01, 0.0):
        trial = (1 - t) * start + t * uniform
        if np.all(a @ trial <= _TOL):
            start = trial
            break
    out = minimize(_entropy_grad, start, jac=True, method="SLSQP",
                   bounds=[(0.0, 1.0)] * n,
                   constraints=[{"type": "eq", "fun": lambda p: p.sum() - 1.0,
                                 "jac": lambda p: np.ones((1, n))},
                                {"type": "ineq", "fun": lambda p: -(a @ p),
                                 "jac": lambda p: -a}],
                   options={"ftol": 1e-12, "maxiter": 500})
    p = out.x if out.success and np.all(a @ out.x <= 1e-6) else start
    p = np.clip(p, 0.0, None)
    return p / p.sum()


def nash_average(players: Sequence[str], win_rate: Callable[[str, str], float]) -> NashAverage:
    """Nash averaging of ``players`` from their head-to-head ``win_rate(p, q)``."""
    players = tuple(players)
    a = margin_matrix(players, win_rate)
    p = maxent_nash(a)
    skills = a @ p if len(players) else np.zeros(0)
    return NashAverage(players, tuple(float(x) for x in p), tuple(float(x) for x in skills))


def alpha_rank(players: Sequence[str], win_rate: Callable[[str, str], float],
               alpha: float = 10.0, population: int = 50) -> dict[str, float]:
    """alpha-Rank stationary mass of each player (sums to 1), by OpenSpiel's own code.

    Args:
        alpha: selection intensity (OpenSpiel's ``alpha``; larger sharpens the ranking).
        population: population size ``m`` of the dynamics.
    """
    import warnings

    from open_spiel.python.egt import alpharank

    players = tuple(players)
    if len(players) < 2:
        return {p: 1.0 for p in players}
    n = len(players)
    table = np.array([[0.5 if i == j else float(win_rate(p, q)) for j, q in enumerate(players)]
                      for i, p in enumerate(players)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # exp overflow in its fixation probabilities
        pi = alpharank.compute([table], m=population, alpha=alpha)[2]
    pi = np.clip(np.asarray(pi, dtype=float).reshape(n), 0.0, None)
    return {p: float(x) for p, x in zip(players, pi / pi.sum(), strict=True)}
