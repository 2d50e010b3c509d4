"""League players: learners, their frozen snapshots and fixed opponents.

Roles (AlphaStar, Vinyals et al. 2019, Fig. 1):

    main              learns vs everyone; snapshotted, never reset
    main_exploiter    learns vs the current main agents; reset after each snapshot
    league_exploiter  learns vs all frozen players; reset with some probability
    frozen            a snapshot of a learner (``main_0_g3``: main_0's generation 3)
    random            the uniformly random policy, a frozen anchor
    scripted          a hand-written policy provided by the callback

A player id is also its RLlib module id, hence ``[A-Za-z0-9_]`` only.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from marl.league.errors import LeagueValueError
from marl.league.settings import check_module_id

__all__ = [
    "FROZEN_ROLES",
    "LEARNING_ROLES",
    "ROLES",
    "Player",
    "Role",
    "learner_id",
    "snapshot_id",
]

Role = Literal["main", "main_exploiter", "league_exploiter", "frozen", "random", "scripted"]
ROLES: tuple[str, ...] = (
    "main",
    "main_exploiter",
    "league_exploiter",
    "frozen",
    "random",
    "scripted",
)
LEARNING_ROLES: tuple[str, ...] = ("main", "main_exploiter", "league_exploiter")
FROZEN_ROLES: tuple[str, ...] = ("frozen", "random", "scripted")


def learner_id(role: str, index: int) -> str:
    """Id of the ``index``-th learner of ``role``, e.g. ``main_exploiter_0``."""
    return f"{role}_{index}"


def snapshot_id(source: str, generation: int) -> str:
    """Id of ``source``'s frozen snapshot of ``generation``, e.g. ``main_0_g3``."""
    return f"{source}_g{generation}"


@dataclass
class Player:
    """One member of the league; mutated only by ``League``."""

    id: str
    """Player id = RLlib module id (``[A-Za-z0-9_]``)."""
    role: Role
    """One of ``ROLES``."""
    trainable: bool
    """Whether the callback trains this module (learners only)."""
    generation: int = 0
    """Learner: snapshots taken so far (its next one is ``<id>_g<generation>``).
    Frozen: the generation it froze."""
    parent: str | None = None
    """Frozen: the learner it was snapshotted from (lineage); else None."""
    frozen_from: str | None = None
    """Frozen: the role of ``parent`` when it was snapshotted; else None."""
    created_at_step: int = 0
    """League-wide env steps (sum of all ``add_steps``) when the player was created."""
    steps: int = 0
    """Env steps this player has trained (learners) or played (others) in total."""
    steps_since_snapshot: int = 0
    """Env steps since the last snapshot or reset (learners)."""
    games: int = 0
    """Finished games this player took part in."""
    resets: int = 0
    """How often the learner's weights were reset."""

    def __post_init__(self) -> None:
        check_module_id(self.id)
        if self.role not in ROLES:
            raise LeagueValueError(
                f"player {self.id!r}: role must be one of {ROLES}, got {self.role!r}"
            )
        if self.trainable != (self.role in LEARNING_ROLES):
            raise LeagueValueError(
                f"player {self.id!r}: role {self.role!r} "
                f"must have trainable={self.role in LEARNING_ROLES}"
            )

    @property
    def is_learner(self) -> bool:
        """True for main agents and exploiters."""
        return self.role in LEARNING_ROLES

    @property
    def is_frozen(self) -> bool:
        """True for snapshots, the random player and scripted players."""
        return self.role in FROZEN_ROLES

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serializable dict of all fields."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Player:
        """Inverse of ``to_dict``."""
        return cls(**data)
