"""Ratings: Elo and an openskill (TrueSkill-style) rating with uncertainty.

Elo (hand-written, it is two lines):

    E_a  = 1 / (1 + 10^((R_b - R_a) / 400))      expected score of a vs b
    R_a' = R_a + K (S_a - E_a)                   S_a = 1 win, 0.5 draw, 0 loss
    R_b' = R_b + K ((1 - S_a) - (1 - E_a))       zero-sum: R_a + R_b is conserved

Skill: openskill's Plackett-Luce model (Weng & Lin 2011), a Bayesian rating with
mean ``mu`` and uncertainty ``sigma``; ``ordinal = mu - 3 sigma`` is a
conservative estimate that only rises once the rating is both high and certain.
Fractional outcomes (e.g. 0.7 from a mean over games) update Elo exactly and
openskill as the nearest of win / draw / loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from openskill.models import PlackettLuce

from marl.league.errors import LeagueValueError
from marl.league.payoff import check_outcome

__all__ = ["ELO_INITIAL", "Rating", "Ratings", "elo_expected", "elo_update"]

ELO_INITIAL = 1200.0


def elo_expected(r_a: float, r_b: float) -> float:
    """Expected score of a player rated ``r_a`` against one rated ``r_b``."""
    return float(1.0 / (1.0 + 10.0 ** ((r_b - r_a) / 400.0)))


def elo_update(r_a: float, r_b: float, score_a: float, k: float = 32.0) -> tuple[float, float]:
    """Elo ratings after one game.

    Args:
        r_a: Rating of a before the game.
        r_b: Rating of b before the game.
        score_a: a's score: 1 win, 0.5 draw, 0 loss.
        k: K factor: the largest possible change.

    Returns:
        ``(r_a', r_b')``.
    """
    delta = k * (score_a - elo_expected(r_a, r_b))
    return r_a + delta, r_b - delta


@dataclass(frozen=True)
class Rating:
    """One player's ratings at a point in time."""

    elo: float
    mu: float
    sigma: float

    @property
    def ordinal(self) -> float:
        """Conservative skill ``mu - 3 sigma`` (openskill's ``ordinal()``)."""
        return self.mu - 3.0 * self.sigma


class Ratings:
    """Elo and openskill ratings of every player, updated from each finished match."""

    def __init__(self, elo_k: float = 32.0, elo_initial: float = ELO_INITIAL) -> None:
        """Create an empty rating book.

        Args:
            elo_k: Elo K factor.
            elo_initial: Elo of a newly added player.
        """
        self.elo_k = float(elo_k)
        self.elo_initial = float(elo_initial)
        self._model = PlackettLuce()  # mu0 = 25, sigma0 = 25/3, tau = 25/300 (openskill defaults)
        self._elo: dict[str, float] = {}
        self._skill: dict[str, tuple[float, float]] = {}  # id -> (mu, sigma)

    def add(self, player: str, copy_from: str | None = None) -> None:
        """Start rating ``player``, at the defaults or at ``copy_from``'s current ratings."""
        if copy_from is None:
            self._elo[player] = self.elo_initial
            self._skill[player] = (self._model.mu, self._model.sigma)
        else:
            self._elo[player] = self._elo[copy_from]
            self._skill[player] = self._skill[copy_from]

    def reset(self, player: str) -> None:
        """Put ``player`` back to the default ratings (after its weights were reset)."""
        self.add(player)

    def __contains__(self, player: str) -> bool:
        return player in self._elo

    def get(self, player: str) -> Rating:
        """Current ratings of ``player``."""
        mu, sigma = self._skill[player]
        return Rating(elo=self._elo[player], mu=mu, sigma=sigma)

    def update(self, p: str, q: str, outcome: float) -> None:
        """Update both players from one game in which ``p`` scored ``outcome`` against ``q``.

        Args:
            p: First player id (must have been added).
            q: Second player id (must have been added).
            outcome: p's score: 1 win, 0.5 draw, 0 loss.
        """
        s = check_outcome(outcome)
        for player in (p, q):
            if player not in self._elo:
                raise LeagueValueError(f"no rating for player {player!r}: add it first")
        if p == q:  # a game against oneself carries no information about skill
            return
        self._elo[p], self._elo[q] = elo_update(self._elo[p], self._elo[q], s, self.elo_k)

        # openskill ranks: lower is better, equal ranks are a draw; a fractional
        # score counts as the nearest of loss (0), draw (0.5) and win (1).
        nearest = round(2.0 * s) / 2.0
        ranks = [0.0, 1.0] if nearest == 1.0 else [1.0, 0.0] if nearest == 0.0 else [0.0, 0.0]
        a = self._model.rating(*self._skill[p])
        b = self._model.rating(*self._skill[q])
        [[a2], [b2]] = self._model.rate([[a], [b]], ranks=ranks)
        self._skill[p] = (a2.mu, a2.sigma)
        self._skill[q] = (b2.mu, b2.sigma)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict ``{"elo_k", "elo_initial", "players": {id: [elo, mu, sigma]}}``."""
        return {
            "elo_k": self.elo_k,
            "elo_initial": self.elo_initial,
            "players": {pid: [self._elo[pid], *self._skill[pid]] for pid in sorted(self._elo)},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ratings:
        """Inverse of ``to_dict``."""
        ratings = cls(elo_k=data["elo_k"], elo_initial=data["elo_initial"])
        for pid, (elo, mu, sigma) in data["players"].items():
            ratings._elo[pid] = float(elo)
            ratings._skill[pid] = (float(mu), float(sigma))
        return ratings
