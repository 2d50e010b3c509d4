"""Decisions the league hands to its driver (the RLlib callback).

The league never touches weights. ``League.decide()`` returns a list of these;
the driver applies each to the model in list order (a ``Snapshot`` of a player
always comes before its ``Reset``), then calls ``League.apply`` with the same
list so the league's bookkeeping follows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from marl.league.errors import LeagueValueError

__all__ = [
    "Decision",
    "Reset",
    "Snapshot",
    "SnapshotReason",
    "decision_from_dict",
    "decision_to_dict",
]

SnapshotReason = Literal["win_rate", "step_budget"]


@dataclass(frozen=True)
class Snapshot:
    """Copy learner ``source_id``'s current weights into a new frozen module ``new_id``."""

    source_id: str
    new_id: str
    reason: SnapshotReason = "win_rate"
    """Why: it beat every target above the threshold, or it used up its step budget."""


@dataclass(frozen=True)
class Reset:
    """Re-initialize learner ``player_id``'s weights (and optimizer state)."""

    player_id: str


Decision = Snapshot | Reset


def decision_to_dict(decision: Decision) -> dict[str, Any]:
    """``{"kind": "snapshot" | "reset", **fields}``, for logs and JSON."""
    kind = "snapshot" if isinstance(decision, Snapshot) else "reset"
    return {"kind": kind, **asdict(decision)}


def decision_from_dict(data: dict[str, Any]) -> Decision:
    """Inverse of ``decision_to_dict``."""
    fields = {k: v for k, v in data.items() if k != "kind"}
    if data.get("kind") == "snapshot":
        return Snapshot(**fields)
    if data.get("kind") == "reset":
        return Reset(**fields)
    raise LeagueValueError(f"unknown decision kind {data.get('kind')!r}: use 'snapshot' or 'reset'")
