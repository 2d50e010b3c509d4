"""Payoff table: exponential decay, draws, unseen pairs, symmetric bookkeeping."""

from __future__ import annotations

import json

import pytest

from marl.league import PayoffTable


def test_unseen_pair_is_even() -> None:
    table = PayoffTable(decay=0.99)
    assert table.win_rate("a", "b") == 0.5
    assert table.games("a", "b") == 0.0
    assert table.count("a", "b") == 0


def test_decay_matches_hand_computation_and_is_symmetric() -> None:
    table = PayoffTable(decay=0.5)
    table.record("a", "b", 1.0)  # a: wins 1, games 1
    assert table.win_rate("a", "b") == 1.0
    assert table.win_rate("b", "a") == 0.0
    table.record("a", "b", 0.0)  # a: wins 0.5*1 + 0 = 0.5, games 0.5*1 + 1 = 1.5
    assert table.win_rate("a", "b") == pytest.approx(1 / 3)
    assert table.games("a", "b") == pytest.approx(1.5)
    # b's side: wins 0.5*0 + 1 = 1, games 1.5
    assert table.win_rate("b", "a") == pytest.approx(2 / 3)
    table.record("b", "a", 1.0)  # booked from b's side: a loses again
    # a: wins 0.5*0.5 + 0 = 0.25, games 0.5*1.5 + 1 = 1.75
    assert table.win_rate("a", "b") == pytest.approx(0.25 / 1.75)
    assert table.count("a", "b") == table.count("b", "a") == 3


def test_draw_counts_half() -> None:
    table = PayoffTable(decay=0.9)
    table.record("a", "b", 0.5)
    assert table.win_rate("a", "b") == 0.5
    assert table.win_rate("b", "a") == 0.5
    table.record("a", "b", 1.0)  # wins 0.9*0.5 + 1 = 1.45, games 0.9 + 1 = 1.9
    assert table.win_rate("a", "b") == pytest.approx(1.45 / 1.9)


def test_no_decay_is_plain_average() -> None:
    table = PayoffTable(decay=1.0)
    for outcome in (1, 1, 0, 0.5):
        table.record("a", "b", outcome)
    assert table.win_rate("a", "b") == pytest.approx(2.5 / 4)


def test_self_play_stays_even() -> None:
    table = PayoffTable()
    table.record("a", "a", 1.0)
    assert table.win_rate("a", "a") == 0.5
    assert table.count("a", "a") == 1


@pytest.mark.parametrize("bad", [1.5, -0.1, "win", True, None])
def test_invalid_outcome_rejected(bad: object) -> None:
    with pytest.raises(ValueError, match="outcome"):
        PayoffTable().record("a", "b", bad)  # type: ignore[arg-type]


def test_forget_and_dict_round_trip() -> None:
    table = PayoffTable(decay=0.95)
    table.record("a", "b", 1.0)
    table.record("a", "c", 0.5)
    table.record("b", "c", 0.0)
    copy = PayoffTable.from_dict(json.loads(json.dumps(table.to_dict())))
    assert copy.to_dict() == table.to_dict()
    for p, q in [("a", "b"), ("b", "a"), ("c", "b"), ("a", "c")]:
        assert copy.win_rate(p, q) == table.win_rate(p, q)
    table.forget("a")
    assert table.count("a", "b") == table.count("c", "a") == 0
    assert table.count("b", "c") == 1
    with pytest.raises(ValueError, match="decay"):
        PayoffTable(decay=0.0)
