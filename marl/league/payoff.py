"""Payoff table: decayed head-to-head win rates between players.

For each ordered pair (p, q) we keep, as in AlphaStar's pseudocode,

    wins_pq  <- decay * wins_pq  + s        s = 1 win, 0.5 draw, 0 loss
    games_pq <- decay * games_pq + 1
    win_rate(p, q) = wins_pq / games_pq     (0.5 when p and q never met)

so old results fade with half-life ln(0.5)/ln(decay) games of that pair. A
result is booked on both sides: "p scores s against q" is "q scores 1 - s
against p". ``count`` keeps the raw (undecayed) number of games, which the
snapshot rule's minimum-games check uses.
"""

from __future__ import annotations

from typing import Any

from marl.league.errors import LeagueValueError

__all__ = ["PayoffTable", "check_outcome"]

UNSEEN_WIN_RATE = 0.5


def check_outcome(outcome: float) -> float:
    """Return ``outcome`` as a float if it is a score in [0, 1], else raise ``LeagueValueError``."""
    if (
        isinstance(outcome, bool)
        or not isinstance(outcome, (int, float))
        or not 0.0 <= outcome <= 1.0
    ):
        raise LeagueValueError(
            f"match outcome must be the first player's score in [0, 1] "
            f"(1 win, 0.5 draw, 0 loss), got {outcome!r}"
        )
    return float(outcome)


class PayoffTable:
    """Decayed win rates for every ordered pair of players that has met."""

    def __init__(self, decay: float = 0.99) -> None:
        """Create an empty table.

        Args:
            decay: Per-pair decay applied before each new result, in (0, 1].
        """
        if not 0.0 < decay <= 1.0:
            raise LeagueValueError(f"payoff decay must be in (0, 1], got {decay!r}")
        self.decay = float(decay)
        # (p, q) -> [wins, games, count]; wins and games decayed, count raw.
        self._stats: dict[tuple[str, str], list[float]] = {}

    def record(self, p: str, q: str, outcome: float) -> None:
        """Book one finished game: ``p`` scored ``outcome`` against ``q``.

        Args:
            p: First player id.
            q: Second player id.
            outcome: p's score: 1 win, 0.5 draw, 0 loss (fractions allowed).
        """
        s = check_outcome(outcome)
        if p == q:
            # A player against itself scores 1/2 by symmetry: book one game at 0.5
            # instead of two contradictory entries on the same key.
            self._update(p, p, 0.5)
            return
        self._update(p, q, s)
        self._update(q, p, 1.0 - s)

    def _update(self, p: str, q: str, s: float) -> None:
        stats = self._stats.setdefault((p, q), [0.0, 0.0, 0])
        stats[0] = self.decay * stats[0] + s  # wins  <- decay * wins  + s
        stats[1] = self.decay * stats[1] + 1.0  # games <- decay * games + 1
        stats[2] += 1  # raw count, never decayed

    def win_rate(self, p: str, q: str) -> float:
        """Decayed win rate of ``p`` against ``q`` (draws count half); 0.5 if unseen."""
        stats = self._stats.get((p, q))
        if stats is None or stats[1] <= 0.0:
            return UNSEEN_WIN_RATE
        return stats[0] / stats[1]

    def games(self, p: str, q: str) -> float:
        """Decayed number of games between ``p`` and ``q``."""
        stats = self._stats.get((p, q))
        return 0.0 if stats is None else stats[1]

    def count(self, p: str, q: str) -> int:
        """Raw (undecayed) number of games between ``p`` and ``q``."""
        stats = self._stats.get((p, q))
        return 0 if stats is None else int(stats[2])

    def forget(self, player: str) -> None:
        """Drop every result involving ``player`` (used when a learner is reset)."""
        for key in [k for k in self._stats if player in k]:
            del self._stats[key]

    def __len__(self) -> int:
        return len(self._stats)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serializable dict: ``{"decay", "entries": [[p, q, wins, games, count]]}``."""
        entries = [[p, q, w, g, int(n)] for (p, q), (w, g, n) in sorted(self._stats.items())]
        return {"decay": self.decay, "entries": entries}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PayoffTable:
        """Inverse of ``to_dict``."""
        table = cls(decay=data["decay"])
        for p, q, w, g, n in data["entries"]:
            table._stats[(p, q)] = [float(w), float(g), int(n)]
        return table
