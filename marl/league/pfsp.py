"""Prioritized fictitious self-play (PFSP) weightings.

AlphaStar (Vinyals et al. 2019, Methods "Prioritized fictitious self-play") picks
opponent B for learner A with probability

    P(B) = f(x_B) / sum_C f(x_C),    x_B = P[A beats B]

where f turns a win rate into a priority:

    hard           f(x) = (1 - x)^p        focus on opponents A still loses to
                                           (p = 2 is AlphaStar's "squared")
    variance       f(x) = x (1 - x)        focus on even matches (curriculum)
    linear_capped  f(x) = min(0.5, 1 - x)  league exploiters: never ignore
                                           anyone, cap the hard ones
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

__all__ = ["WEIGHTINGS", "get_weighting", "hard", "linear_capped", "pfsp_distribution", "variance"]

Weighting = Callable[[float], float]


def hard(x: float, p: float = 2.0) -> float:
    """Hard weighting ``(1 - x)^p``: opponents the learner cannot beat dominate."""
    return float((1.0 - x) ** p)


def variance(x: float) -> float:
    """Variance weighting ``x (1 - x)``: peaks at even matches (x = 0.5)."""
    return x * (1.0 - x)


def linear_capped(x: float) -> float:
    """Capped linear weighting ``min(0.5, 1 - x)``: beaten opponents fade, hard ones are capped."""
    return min(0.5, 1.0 - x)


WEIGHTINGS: dict[str, Callable[..., float]] = {
    "hard": hard,
    "variance": variance,
    "linear_capped": linear_capped,
}
"""Weighting functions by name, as used in settings."""


def get_weighting(name: str, exponent: float = 2.0) -> Weighting:
    """Return the one-argument weighting ``f(x)`` named ``name``.

    Args:
        name: One of ``WEIGHTINGS``.
        exponent: The ``p`` of the ``hard`` weighting; ignored by the others.

    Raises:
        KeyError: If ``name`` is unknown.
    """
    if name not in WEIGHTINGS:
        raise KeyError(f"unknown PFSP weighting {name!r}; choose one of {sorted(WEIGHTINGS)}")
    if name == "hard":
        return lambda x: hard(x, exponent)
    return WEIGHTINGS[name]


def pfsp_distribution(
    win_rates: Sequence[float], weighting: str | Weighting = "hard", exponent: float = 2.0
) -> list[float]:
    """Normalized PFSP probabilities ``f(x_i) / sum_j f(x_j)``.

    Args:
        win_rates: The learner's win rate against each candidate, each in [0, 1].
        weighting: A name from ``WEIGHTINGS`` or a callable ``f(x)``.
        exponent: The ``p`` of the ``hard`` weighting when given by name.

    Returns:
        One probability per candidate, summing to 1; uniform when every weight is
        zero (e.g. the learner beats everyone 100 % under ``hard``); empty for no
        candidates.
    """
    fn = get_weighting(weighting, exponent) if isinstance(weighting, str) else weighting
    weights = [max(0.0, fn(float(x))) for x in win_rates]
    total = sum(weights)
    if not weights:
        return []
    if total <= 1e-12:
        return [1.0 / len(weights)] * len(weights)
    return [w / total for w in weights]
