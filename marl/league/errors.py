"""The league's one error class.

``LeagueValueError`` sits in two trees at once: it is a ``marl.errors.LeagueError``
(so the CLI's single ``except MarlError`` prints it and exits 2) and a
``ValueError`` (so plain-Python callers and tests can catch the usual type).
"""

from __future__ import annotations

from marl.errors import LeagueError

__all__ = ["LeagueValueError"]


class LeagueValueError(LeagueError, ValueError):
    """Invalid league settings, state, player id, outcome or decision."""
