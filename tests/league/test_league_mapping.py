"""EpisodeMapping: weights, seats, teams, pickling, same answers in a fresh process."""

from __future__ import annotations

import hashlib
import os
import pickle
import subprocess
import sys
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from marl.league import EpisodeMapping, MatchEntry, MatchTable, match_for_episode_id

REPO = Path(__file__).resolve().parents[2]
SEATS = ("player_0", "player_1")
TABLE = MatchTable(
    entries=(
        MatchEntry("main_0", "random", 0.5),
        MatchEntry("main_0", "main_0_g0", 0.2),
        MatchEntry("main_exploiter_0", "main_0", 0.3),
    ),
    iteration=5,
)


def _episode_ids(n: int) -> list[str]:
    """Deterministic uuid4-like hex ids."""
    return [hashlib.md5(str(i).encode()).hexdigest() for i in range(n)]


@dataclass
class FakeEpisode:
    id_: str


def test_seats_get_learner_and_opponent() -> None:
    fn = EpisodeMapping(TABLE, SEATS)
    for eid in _episode_ids(50):
        learner, opponent, seat = fn.match_for_episode_id(eid)
        assert fn(SEATS[seat], FakeEpisode(eid)) == learner
        assert fn(SEATS[1 - seat], eid) == opponent
        assert fn("player_0", eid, worker=None) == fn("player_0", FakeEpisode(eid))


def test_episodes_follow_weights_and_both_seats() -> None:
    fn = EpisodeMapping(TABLE, SEATS)
    ids = _episode_ids(4000)
    matches = Counter(fn.match_for_episode_id(eid)[:2] for eid in ids)
    seats = Counter(fn.match_for_episode_id(eid)[2] for eid in ids)
    for learner, opponent, weight in TABLE:
        assert matches[(learner, opponent)] / len(ids) == pytest.approx(weight, abs=0.03)
    assert seats[0] / len(ids) == pytest.approx(0.5, abs=0.03)


def test_uses_crc32_of_the_episode_id() -> None:
    # Two seats: the low bit of crc32 is the learner's seat.
    for eid in _episode_ids(20):
        assert match_for_episode_id(TABLE.entries, eid, 2)[2] == zlib.crc32(eid.encode()) % 2


def test_team_games_map_whole_teams() -> None:
    teams = {"adversary_0": 0, "adversary_1": 0, "agent_0": 1, "agent_1": 1}
    fn = EpisodeMapping(TABLE, teams)
    for eid in _episode_ids(30):
        learner, opponent, seat = fn.match_for_episode_id(eid)
        modules = {aid: fn(aid, eid) for aid in teams}
        assert modules["adversary_0"] == modules["adversary_1"]
        assert modules["agent_0"] == modules["agent_1"]
        learner_team = "adversary_0" if seat == 0 else "agent_0"
        other_team = "agent_0" if seat == 0 else "adversary_0"
        assert (modules[learner_team], modules[other_team]) == (learner, opponent)


def test_bad_inputs_are_rejected() -> None:
    fn = EpisodeMapping(TABLE, SEATS)
    with pytest.raises(ValueError, match="unknown agent"):
        fn("player_9", "abc")
    with pytest.raises(ValueError, match="needs the episode"):
        fn("player_0")
    with pytest.raises(ValueError, match="seats"):
        EpisodeMapping(TABLE, ("solo",))
    with pytest.raises(ValueError, match="seats"):
        EpisodeMapping(TABLE, {"a": 0, "b": 2})


_CHILD = """
import pickle, sys
fn = pickle.loads(sys.stdin.buffer.read())
ids = [line.strip() for line in sys.argv[1].split(",")]
print(";".join(f"{fn('player_0', i)},{fn('player_1', i)}" for i in ids))
"""


def test_pickles_and_answers_the_same_in_a_fresh_process() -> None:
    fn = EpisodeMapping(TABLE, SEATS)
    blob = pickle.dumps(fn)
    assert len(blob) < 1000
    assert pickle.loads(blob) == fn
    ids = _episode_ids(40)
    expected = ";".join(f"{fn('player_0', i)},{fn('player_1', i)}" for i in ids)
    for hash_seed in ("1", "987654"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, ",".join(ids)],
            input=blob,
            capture_output=True,
            cwd=REPO,
            env=env,
            check=True,
            timeout=60,
        )
        assert out.stdout.decode().strip() == expected
