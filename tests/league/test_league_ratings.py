"""Elo against hand-computed numbers; openskill moves mu/sigma the right way."""

from __future__ import annotations

import json

import pytest

from marl.league import Ratings, elo_expected, elo_update


def test_elo_expected_score() -> None:
    assert elo_expected(1200, 1200) == 0.5
    # 1 / (1 + 10^(-200/400)) = 1 / (1 + 0.316227766) = 0.759746927
    assert elo_expected(1400, 1200) == pytest.approx(0.759746927)
    assert elo_expected(1200, 1400) == pytest.approx(1 - 0.759746927)


def test_elo_update_win_and_draw() -> None:
    # win: delta = 32 * (1 - 0.759746927) = 7.688098
    a, b = elo_update(1400, 1200, 1.0, k=32)
    assert (a, b) == pytest.approx((1407.688098, 1192.311902))
    # draw: delta = 32 * (0.5 - 0.759746927) = -8.311902 (the favourite loses points)
    a, b = elo_update(1400, 1200, 0.5, k=32)
    assert (a, b) == pytest.approx((1391.688098, 1208.311902))
    # K scales the step: equal ratings, K = 10, win -> +5 / -5
    assert elo_update(1500, 1500, 1.0, k=10) == pytest.approx((1505.0, 1495.0))


def test_ratings_book_uses_k_and_skips_self_play() -> None:
    ratings = Ratings(elo_k=16)
    for pid in ("a", "b"):
        ratings.add(pid)
    ratings.update("a", "b", 0.0)
    assert ratings.get("a").elo == pytest.approx(1192.0)
    assert ratings.get("b").elo == pytest.approx(1208.0)
    before = ratings.get("a")
    ratings.update("a", "a", 1.0)
    assert ratings.get("a") == before
    with pytest.raises(ValueError, match="no rating"):
        ratings.update("a", "ghost", 1.0)


def test_openskill_moves_mu_and_sigma() -> None:
    ratings = Ratings()
    for pid in ("w", "l", "d1", "d2"):
        ratings.add(pid)
    start = ratings.get("w")
    assert (start.mu, start.sigma) == pytest.approx((25.0, 25 / 3))
    ratings.update("w", "l", 1.0)
    w, loser = ratings.get("w"), ratings.get("l")
    assert w.mu > start.mu > loser.mu
    assert w.sigma < start.sigma and loser.sigma < start.sigma
    assert w.ordinal == pytest.approx(w.mu - 3 * w.sigma)
    assert w.ordinal > start.ordinal
    ratings.update("d1", "d2", 0.5)  # a draw between equals: mu stays, certainty grows
    d1 = ratings.get("d1")
    assert d1.mu == pytest.approx(25.0)
    assert d1.sigma < start.sigma


def test_copy_reset_and_dict_round_trip() -> None:
    ratings = Ratings(elo_k=24)
    ratings.add("a")
    ratings.add("b")
    ratings.update("a", "b", 1.0)
    ratings.add("a_g0", copy_from="a")
    assert ratings.get("a_g0") == ratings.get("a")
    copy = Ratings.from_dict(json.loads(json.dumps(ratings.to_dict())))
    assert copy.to_dict() == ratings.to_dict()
    ratings.reset("a")
    assert ratings.get("a").elo == 1200.0 and ratings.get("a").mu == 25.0
