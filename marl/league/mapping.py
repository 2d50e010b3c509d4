"""Episode -> match mapping: a stateless, picklable ``policy_mapping_fn``.

RLlib calls ``fn(agent_id, episode)`` on every EnvRunner and may call it again
on a Learner (the function is pickled into episodes), so the answer must depend
only on the immutable ``MatchTable`` and the episode id: no counters, no
closures over callback state, no salted ``hash(str)``. We use CRC-32:

    h          = crc32(utf8(episode_id))                 uniform-ish uint32
    seat       = h mod S                                  seat/team the learner takes
    u          = (h div S) / (floor((2^32 - 1) / S) + 1)  in [0, 1), the other bits
    entry      = first i with u * W < cumsum(weights)[i]  inverse-CDF over the table

Every agent on the learner's seat (or team) plays the learner module; every
other agent plays the opponent module.
"""

from __future__ import annotations

import bisect
import itertools
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

from marl.league.errors import LeagueValueError
from marl.league.matchmaking import MatchEntry, MatchTable

__all__ = ["EpisodeMapping", "match_for_episode_id"]

_UINT32_MAX = 2**32 - 1


def match_for_episode_id(
    entries: Sequence[MatchEntry], episode_id: str, num_seats: int = 2
) -> tuple[str, str, int]:
    """The match an episode plays, from its id alone.

    Args:
        entries: Match table entries ``(learner, opponent, weight)``.
        episode_id: The episode's id (RLlib: ``episode.id_``, a uuid4 hex).
        num_seats: Number of seats or teams in the game.

    Returns:
        ``(learner_id, opponent_id, learner_seat)``.
    """
    cumulative = tuple(itertools.accumulate(e.weight for e in entries))
    return _pick(entries, cumulative, episode_id, num_seats)


def _pick(
    entries: Sequence[MatchEntry], cumulative: Sequence[float], episode_id: str, num_seats: int
) -> tuple[str, str, int]:
    h = zlib.crc32(episode_id.encode("utf-8"))
    seat = h % num_seats  # the low part of h picks the learner's seat
    u = (h // num_seats) / (_UINT32_MAX // num_seats + 1)  # the rest: u in [0, 1)
    # Inverse CDF: the first entry whose cumulative weight exceeds u * W.
    i = min(bisect.bisect_right(cumulative, u * cumulative[-1]), len(entries) - 1)
    return entries[i].learner, entries[i].opponent, seat


class EpisodeMapping:
    """``policy_mapping_fn`` built from a ``MatchTable`` and the game's seats.

    Holds only tuples and a dict of strings, so it pickles small and answers the
    same in every process.

    Example:
        >>> fn = EpisodeMapping(table, ("player_0", "player_1"))
        >>> fn("player_0", episode)  # -> learner or opponent module id
    """

    __slots__ = ("_cumulative", "entries", "iteration", "num_seats", "seat_of")

    def __init__(self, table: MatchTable, agents: Sequence[str] | Mapping[str, int]) -> None:
        """Build the mapping.

        Args:
            table: The match table to sample matches from.
            agents: Either the agent ids in seat order (two-seat games:
                ``("player_0", "player_1")``), or a dict agent id -> team index
                0..S-1 for team games (e.g. predators 0, prey 1).

        Raises:
            LeagueValueError: If there are fewer than two seats, or team indices
                are not 0..S-1.
        """
        if isinstance(agents, Mapping):
            seat_of = {str(a): int(t) for a, t in agents.items()}
        else:
            seat_of = {str(a): i for i, a in enumerate(agents)}
        seats = sorted(set(seat_of.values()))
        if len(seats) < 2 or seats != list(range(len(seats))):
            raise LeagueValueError(
                f"EpisodeMapping needs >= 2 seats/teams numbered 0..S-1, got {seat_of!r}"
            )
        self.entries: tuple[MatchEntry, ...] = table.entries
        self.iteration: int = table.iteration
        self.seat_of: dict[str, int] = seat_of
        self.num_seats: int = len(seats)
        self._cumulative = tuple(itertools.accumulate(e.weight for e in self.entries))

    def match_for_episode_id(self, episode_id: str) -> tuple[str, str, int]:
        """``(learner_id, opponent_id, learner_seat)`` for the episode with this id."""
        return _pick(self.entries, self._cumulative, episode_id, self.num_seats)

    def __call__(self, agent_id: str, episode: Any = None, **kwargs: Any) -> str:
        """Module id for ``agent_id`` in ``episode``.

        Args:
            agent_id: The agent's id in the env.
            episode: An RLlib episode (anything with ``id_``) or the episode id itself.
            **kwargs: Ignored (RLlib may pass more in future versions).

        Returns:
            The learner's module id if the agent sits on the learner's seat/team,
            else the opponent's.
        """
        if episode is None:
            raise LeagueValueError("EpisodeMapping needs the episode (or its id) to pick a match")
        episode_id = episode if isinstance(episode, str) else episode.id_
        try:
            seat = self.seat_of[agent_id]
        except KeyError:
            raise LeagueValueError(
                f"unknown agent {agent_id!r}: this mapping knows {sorted(self.seat_of)}"
            ) from None
        learner, opponent, learner_seat = self.match_for_episode_id(episode_id)
        return learner if seat == learner_seat else opponent

    def __getstate__(self) -> tuple[Any, ...]:
        return (self.entries, self.iteration, self.seat_of, self.num_seats)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self.entries, self.iteration, self.seat_of, self.num_seats = state
        self._cumulative = tuple(itertools.accumulate(e.weight for e in self.entries))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EpisodeMapping) and self.__getstate__() == other.__getstate__()

    def __repr__(self) -> str:
        return (
            f"EpisodeMapping(iteration={self.iteration}, entries={len(self.entries)}, "
            f"seats={self.seat_of})"
        )
