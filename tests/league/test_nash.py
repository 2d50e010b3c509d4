"""Nash averaging of the league's meta-game: the max-entropy Nash and skills that copies
of a player cannot inflate (the property Elo lacks)."""

from __future__ import annotations

import numpy as np
import pytest

from marl.league import League
from marl.league.nash import alpha_rank, margin_matrix, maxent_nash, nash_average
from marl.league.ratings import Ratings

BEATS = {("rock", "scissors"), ("scissors", "paper"), ("paper", "rock")}


def rps(p: str, q: str) -> float:
    """Rock-paper-scissors win rates; ``rock_2`` etc. are copies of ``rock``."""
    p, q = p.split("_")[0], q.split("_")[0]
    return 0.5 if p == q else 1.0 if (p, q) in BEATS else 0.0


TRANSITIVE = {("a", "b"): 0.8, ("b", "c"): 0.7, ("a", "c"): 0.9, ("c", "d"): 0.6,
              ("a", "d"): 0.95, ("b", "d"): 0.75}


def transitive(p: str, q: str) -> float:
    p, q = p.split("_")[0], q.split("_")[0]
    if p == q:
        return 0.5
    return TRANSITIVE[(p, q)] if (p, q) in TRANSITIVE else 1.0 - TRANSITIVE[(q, p)]


def test_rock_paper_scissors_is_uniform_with_zero_skills() -> None:
    nash = nash_average(["rock", "paper", "scissors"], rps)
    assert nash.weights == pytest.approx((1 / 3, 1 / 3, 1 / 3), abs=1e-6)
    assert nash.skills == pytest.approx((0, 0, 0), abs=1e-9)


def test_a_dominant_player_takes_all_weight_and_others_score_their_margin() -> None:
    nash = nash_average(["a", "b", "c", "d"], transitive)
    assert nash.weight("a") == pytest.approx(1.0, abs=1e-6)
    assert nash.skill("a") == pytest.approx(0.0, abs=1e-9)
    # Against a Nash that is all "a", a player's skill is its margin against "a".
    assert nash.skill("b") == pytest.approx(0.2 - 0.5)
    assert nash.skill("d") == pytest.approx(0.05 - 0.5)


@pytest.mark.parametrize("game", [rps, transitive])
def test_copies_of_a_player_leave_nash_averaged_skills_unchanged(game) -> None:
    players = ["rock", "paper", "scissors"] if game is rps else ["a", "b", "c", "d"]
    base = nash_average(players, game)
    copied = players[0]
    padded = nash_average([*players, f"{copied}_2", f"{copied}_3"], game)
    for p in players:
        assert padded.skill(p) == pytest.approx(base.skill(p), abs=1e-6)
    assert padded.skill(f"{copied}_2") == pytest.approx(base.skill(copied), abs=1e-6)
    # The copies share the original's equilibrium weight (max entropy: evenly).
    shared = padded.weight(copied) + padded.weight(f"{copied}_2") + padded.weight(f"{copied}_3")
    assert shared == pytest.approx(base.weight(copied), abs=1e-5)
    assert padded.weight(copied) == pytest.approx(padded.weight(f"{copied}_2"), abs=1e-4)


def test_elo_is_inflated_by_copies_where_nash_is_not() -> None:
    """The contrast the field cites: a player's copies, each beating one victim, move Elo."""
    games = [("rock", "scissors", 1.0), ("paper", "rock", 1.0), ("scissors", "paper", 1.0)]
    with_copies = games + [(f"rock_{i}", "scissors", 1.0) for i in range(5)]
    elo = Ratings()
    for p in {x for g in with_copies for x in g[:2]}:
        elo.add(p)
    for p, q, s in with_copies * 10:
        elo.update(p, q, s)
    assert elo.get("scissors").elo < elo.get("paper").elo - 50  # Elo: scissors looks weak
    nash = nash_average(["rock", "paper", "scissors"] + [f"rock_{i}" for i in range(5)], rps)
    assert nash.skill("scissors") == pytest.approx(nash.skill("paper"), abs=1e-6)


def test_equilibrium_is_a_nash_of_random_meta_games() -> None:
    rng = np.random.default_rng(0)
    for n in (2, 5, 12, 30):
        m = rng.random((n, n))
        upper = np.triu(m, 1)
        m = upper + np.tril(1 - upper.T, -1) + np.eye(n) * 0.5
        a = margin_matrix([str(i) for i in range(n)], lambda p, q: m[int(p), int(q)])
        p = maxent_nash(a)
        assert p.sum() == pytest.approx(1.0) and np.all(p >= 0)
        assert np.max(a @ p) <= 1e-6  # no pure strategy beats the mixture


def test_league_leaderboard_and_state_carry_nash() -> None:
    league = League()
    ids = league.player_ids
    a, b = ids[0], ids[1]
    league.record_matches([(a, b, 1.0)] * 10)
    board = {r.player: r for r in league.leaderboard()}
    # b lost every game to a: out of the equilibrium, skill = its margin against the mix;
    # players that never played are margin 0 against all and share the rest.
    assert board[b].nash_weight == pytest.approx(0.0, abs=1e-6)
    assert board[a].nash_skill == pytest.approx(0.0, abs=1e-9)
    assert board[b].nash_skill == pytest.approx(-0.5 * board[a].nash_weight, abs=1e-6)
    assert board[b].nash_skill < 0
    assert sum(r.nash_weight for r in board.values()) == pytest.approx(1.0)
    state = league.to_state()
    assert state["nash"][a]["weight"] == pytest.approx(board[a].nash_weight)
    assert sum(state["alpha_rank"].values()) == pytest.approx(1.0)
    assert state["alpha_rank"][a] > state["alpha_rank"][b]
    assert League.from_state(state).to_state() == state  # derived, round-trips


def test_alpha_rank_by_openspiel() -> None:
    cyclic = alpha_rank(["rock", "paper", "scissors"], rps)
    assert list(cyclic.values()) == pytest.approx([1 / 3] * 3, abs=1e-3)
    ranked = alpha_rank(["a", "b", "c", "d"], transitive)
    assert ranked["a"] == pytest.approx(1.0, abs=1e-3)
    assert sum(ranked.values()) == pytest.approx(1.0)
