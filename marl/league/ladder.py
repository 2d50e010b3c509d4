"""A cross-run rating list: agents from any runs of one env on one scale, as engine rating
lists (CCRL, CEGT) rate chess engines.

State is one JSON file (written atomically after every pairing, so an interrupted
``marl ladder play`` resumes where it stopped)::

    {"format": "marl-ladder", "version": 1, "env": "competitive/connect_four-v0",
     "entries": {name: {"ref": ..., "kind": "module" | "scripted", "checkpoint": ...,
                        "player_id": ..., "anchor": bool}},
     "pairs": {"a|b": [W, D, L]}}                  # from a's side, a < b by name

Ratings come from all recorded games at once (``ratings``):

* **Elo** by maximum likelihood of the Bradley-Terry model
  ``P(i beats j) = 1 / (1 + 10^((R_j - R_i) / 400))`` (draws count half), with the first
  anchor (``random`` if present) pinned at 0 so the scale means the same in every ladder
  that shares the anchor; one virtual draw of every entry against the pinned anchor keeps
  unbeaten or winless entries finite (BayesElo's prior). Error bars: 95 % from the
  inverse Hessian of the log-likelihood.
* **openskill** mu / sigma (Plackett-Luce), from the games in a fixed order.

Plain Python (numpy); playing the games is ``marl.cli.ladder``'s job.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from marl.errors import LeagueError
from marl.league.ratings import Ratings
from marl.league.storage import atomic_write_json, read_json

__all__ = ["Ladder", "LadderRow", "fit_elo"]

FORMAT, VERSION = "marl-ladder", 1
ANCHORS = ("random",)


@dataclass(frozen=True)
class LadderRow:
    """One entry's line in ``marl ladder show``."""

    name: str
    kind: str
    anchor: bool
    elo: float
    elo_ci: float
    """Half width of the 95 % interval of ``elo`` (0 for the pinned anchor)."""
    mu: float
    sigma: float
    games: int
    wins: int
    draws: int
    losses: int

    @property
    def score(self) -> float:
        return (self.wins + 0.5 * self.draws) / max(1, self.games)

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "score": self.score}


def _key(a: str, b: str) -> tuple[str, str, bool]:
    """The stored pair key of a vs b, and whether a is its first name."""
    return (a, b, True) if a < b else (b, a, False)


class Ladder:
    """Entries and their head-to-head results."""

    def __init__(self, env: str, entries: dict[str, dict[str, Any]] | None = None,
                 pairs: dict[str, list[int]] | None = None):
        self.env = env
        self.entries: dict[str, dict[str, Any]] = dict(entries or {})
        self.pairs: dict[str, list[int]] = dict(pairs or {})

    # -- state ---------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path) -> Ladder:
        """Read a ladder file.

        Raises:
            LeagueError: the file is not a ladder (one line naming the fix).
        """
        path = Path(path)
        if not path.is_file():
            raise LeagueError(f"no ladder at {path}; start one with `marl ladder add RUN "
                              f"--file {path}`")
        try:
            data = read_json(path)
        except (OSError, ValueError, UnicodeDecodeError, LeagueError) as err:
            raise LeagueError(f"{path} is not a readable ladder file ({err}); fix or delete "
                              f"it") from None
        try:
            if data.get("format") != FORMAT or data.get("version") != VERSION:
                raise ValueError("not a marl ladder")
            ladder = cls(str(data["env"]), dict(data["entries"]), dict(data["pairs"]))
            for key, wdl in ladder.pairs.items():
                a, b = key.split("|")
                if a not in ladder.entries or b not in ladder.entries or len(wdl) != 3 \
                        or any(int(x) < 0 for x in wdl):
                    raise ValueError(f"bad pair {key}")
        except (AttributeError, KeyError, TypeError, ValueError) as err:
            raise LeagueError(f"{path} is not a valid marl ladder file ({err}); fix or delete "
                              f"it") from None
        return ladder

    def save(self, path: str | Path) -> Path:
        """Write atomically (temp file, fsync, rename)."""
        return atomic_write_json(path, {"format": FORMAT, "version": VERSION, "env": self.env,
                                        "entries": self.entries, "pairs": self.pairs})

    # -- entries and games ---------------------------------------------------------------
    def add(self, name: str, entry: dict[str, Any]) -> None:
        """Add an entry (``ref``, ``kind``, ``checkpoint``, ``player_id``).

        Raises:
            LeagueError: the name is taken.
        """
        if name in self.entries:
            raise LeagueError(f"ladder entry {name!r} exists; give another name "
                              f"(REF=NAME) or leave it")
        self.entries[name] = {**entry, "anchor": entry.get("kind") == "scripted"}

    def record(self, a: str, b: str, wins: int, draws: int, losses: int) -> None:
        """Book games of ``a`` against ``b`` (W/D/L from ``a``'s side)."""
        first, second, a_first = _key(a, b)
        wdl = self.pairs.setdefault(f"{first}|{second}", [0, 0, 0])
        add = (wins, draws, losses) if a_first else (losses, draws, wins)
        for i, n in enumerate(add):
            wdl[i] += int(n)

    def games(self, a: str, b: str) -> int:
        first, second, _ = _key(a, b)
        return sum(self.pairs.get(f"{first}|{second}", [0, 0, 0]))

    def schedule(self, games: int) -> list[tuple[str, str, int]]:
        """Round robin: every pair topped up to ``games`` games (pairs of two anchors
        are skipped: their results are not ratings of anyone's agent)."""
        names = sorted(self.entries)
        out = []
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                if self.entries[a]["anchor"] and self.entries[b]["anchor"]:
                    continue
                missing = games - self.games(a, b)
                if missing > 0:
                    out.append((a, b, missing))
        return out

    def _results(self) -> Iterable[tuple[str, str, float, int]]:
        """(a, b, score of a, count) per outcome kind, in a fixed order."""
        for key in sorted(self.pairs):
            a, b = key.split("|")
            for score, n in zip((1.0, 0.5, 0.0), self.pairs[key], strict=True):
                if n:
                    yield a, b, score, int(n)

    # -- ratings -------------------------------------------------------------------------
    def pinned(self) -> str | None:
        anchors = sorted(n for n, e in self.entries.items() if e["anchor"])
        for preferred in ANCHORS:
            if preferred in anchors:
                return preferred
        return anchors[0] if anchors else None

    def ratings(self) -> list[LadderRow]:
        """Every entry's Elo (± 95 %), openskill and W/D/L; best Elo first."""
        names = sorted(self.entries)
        results = list(self._results())
        elo, ci = fit_elo(names, results, self.pinned())
        skill = Ratings()
        for n in names:
            skill.add(n)
        for a, b, s, count in results:  # fixed order: pairs by name, then W, D, L
            for _ in range(count):
                skill.update(a, b, s)
        rows = []
        for n in names:
            w = d = losses = 0
            for a, b, s, count in results:
                if n not in (a, b):
                    continue
                mine = s if n == a else 1.0 - s
                w += count * (mine == 1.0)
                d += count * (mine == 0.5)
                losses += count * (mine == 0.0)
            r = skill.get(n)
            rows.append(LadderRow(n, self.entries[n]["kind"], self.entries[n]["anchor"],
                                  elo[n], ci[n], r.mu, r.sigma, w + d + losses, w, d, losses))
        rows.sort(key=lambda r: (-r.elo, r.name))
        return rows


def fit_elo(names: list[str], results: list[tuple[str, str, float, int]],
            pinned: str | None, prior_draws: float = 1.0) -> tuple[dict[str, float], dict[str, float]]:
    """Bradley-Terry maximum likelihood on the Elo scale (see the module docstring).

    Args:
        results: ``(a, b, score of a, count)``.
        pinned: the entry held at 0 (None: the mean is held at 0).
        prior_draws: virtual draws of every entry against the pinned one (or the mean).

    Returns:
        Elo and the half width of its 95 % interval, per name.
    """
    n = len(names)
    if n == 0:
        return {}, {}
    index = {name: i for i, name in enumerate(names)}
    c = math.log(10) / 400.0
    games: list[tuple[int, int, float, float]] = [(index[a], index[b], s, float(k))
                                                  for a, b, s, k in results]
    anchor = index[pinned] if pinned is not None else None
    if anchor is not None:
        games += [(i, anchor, 0.5, prior_draws) for i in range(n) if i != anchor]
    r = np.zeros(n)
    free = [i for i in range(n) if i != anchor]
    for _ in range(100):
        grad, hess = np.zeros(n), np.zeros((n, n))
        for i, j, s, k in games:
            p = 1.0 / (1.0 + math.exp(-c * (r[i] - r[j])))
            g = k * c * (s - p)
            h = k * c * c * p * (1 - p)
            grad[i] += g
            grad[j] -= g
            hess[i, i] -= h
            hess[j, j] -= h
            hess[i, j] += h
            hess[j, i] += h
        if anchor is None:  # hold the mean at 0: a ridge on the free direction
            hess -= 1e-6 * np.eye(n)
        sub = np.ix_(free, free)
        if not free:
            break
        step = np.linalg.solve(hess[sub] - 1e-9 * np.eye(len(free)), grad[free])
        r[free] -= step
        if np.max(np.abs(step)) < 1e-6:
            break
    if anchor is None:
        r -= r.mean()
    cov = np.zeros((n, n))
    if free:
        cov[np.ix_(free, free)] = np.linalg.inv(-(hess[np.ix_(free, free)]) + 1e-12 * np.eye(len(free)))
    half = 1.96 * np.sqrt(np.clip(np.diag(cov), 0, None))
    return ({name: float(r[i]) for name, i in index.items()},
            {name: float(half[i]) for name, i in index.items()})
