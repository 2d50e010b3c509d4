"""Conformance and behaviour tests for ``envs.matrix_games``."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test

from envs import matrix_games
from envs.matrix_games import IteratedMatrixGame, env, parallel_env

GAMES = ["prisoners_dilemma", "stag_hunt", "chicken"]

# Written out independently of PAYOFFS so a changed table fails here.
EXPECTED = {
    "prisoners_dilemma": {(0, 0): (3, 3), (0, 1): (0, 5), (1, 0): (5, 0), (1, 1): (1, 1)},
    "stag_hunt": {(0, 0): (4, 4), (0, 1): (0, 3), (1, 0): (3, 0), (1, 1): (2, 2)},
    "chicken": {(0, 0): (3, 3), (0, 1): (1, 4), (1, 0): (4, 1), (1, 1): (0, 0)},
}


def _joint(a0: int, a1: int) -> dict[str, int]:
    return {"player_0": a0, "player_1": a1}


@pytest.mark.parametrize("game", GAMES)
def test_parallel_api(game: str) -> None:
    parallel_api_test(parallel_env(game), num_cycles=50)


@pytest.mark.parametrize("game", GAMES)
def test_aec_api(game: str) -> None:
    api_test(env(game), num_cycles=50)


@pytest.mark.parametrize("game", GAMES)
def test_parallel_seed(game: str) -> None:
    parallel_seed_test(lambda: parallel_env(game), num_cycles=50)


@pytest.mark.parametrize("factory", ["prisoners_dilemma", "stag_hunt", "chicken"])
def test_named_factories(factory: str) -> None:
    e = getattr(matrix_games, factory)(max_cycles=3)
    assert isinstance(e, IteratedMatrixGame)
    assert e.game == factory and e.max_cycles == 3
    assert e.metadata["name"] == f"{factory}_v0"


@pytest.mark.parametrize("game", GAMES)
@pytest.mark.parametrize("joint", [(0, 0), (0, 1), (1, 0), (1, 1)])
def test_payoffs_match_table(game: str, joint: tuple[int, int]) -> None:
    e = parallel_env(game)
    e.reset(seed=0)
    _, rewards, *_ = e.step(_joint(*joint))
    assert (rewards["player_0"], rewards["player_1"]) == EXPECTED[game][joint]


def test_dilemma_orderings() -> None:
    pd, sh, ch = (EXPECTED[g] for g in GAMES)
    # PD: T > R > P > S and 2R > T + S (mutual cooperation beats alternating).
    t, r, p, s = pd[(1, 0)][0], pd[(0, 0)][0], pd[(1, 1)][0], pd[(0, 1)][0]
    assert t > r > p > s and 2 * r > t + s
    # Stag hunt: R > T >= P > S. Chicken: T > R > S > P.
    assert sh[(0, 0)][0] > sh[(1, 0)][0] >= sh[(1, 1)][0] > sh[(0, 1)][0]
    assert ch[(1, 0)][0] > ch[(0, 0)][0] > ch[(0, 1)][0] > ch[(1, 1)][0]


def test_observation_is_own_perspective_one_hot() -> None:
    e = parallel_env("prisoners_dilemma")
    obs, _ = e.reset(seed=0)
    first = np.array([0, 0, 0, 0, 1], dtype=np.float32)
    for agent in e.possible_agents:
        assert obs[agent].dtype == np.float32 and obs[agent].shape == (5,)
        np.testing.assert_array_equal(obs[agent], first)
    obs, *_ = e.step(_joint(0, 1))
    # player_0 cooperated against a defector: (own=0, other=1) -> index 1.
    np.testing.assert_array_equal(obs["player_0"], [0, 1, 0, 0, 0])
    # player_1 sees (own=1, other=0) -> index 2.
    np.testing.assert_array_equal(obs["player_1"], [0, 0, 1, 0, 0])
    np.testing.assert_array_equal(e.state(), np.array([0, 1, 0, 0, 0, 0.1], np.float32))


def test_include_round_adds_progress() -> None:
    e = parallel_env("stag_hunt", max_cycles=4, include_round=True)
    obs, _ = e.reset()
    assert e.observation_space("player_0").shape == (6,)
    assert obs["player_0"][5] == 0.0
    obs, *_ = e.step(_joint(1, 1))
    assert obs["player_1"][5] == pytest.approx(0.25)
    assert obs["player_1"][3] == 1.0


def test_truncates_after_max_cycles() -> None:
    e = parallel_env("chicken", max_cycles=3)
    e.reset(seed=1)
    for round_ in range(1, 4):
        assert e.agents == ["player_0", "player_1"]
        _, _, terms, truncs, _ = e.step(_joint(0, 0))
        assert not any(terms.values())
        assert all(truncs.values()) == (round_ == 3)
        assert any(truncs.values()) == (round_ == 3)
    assert e.agents == []
    with pytest.raises(ValueError, match="reset"):
        e.step(_joint(0, 0))
    e.reset()
    assert e.agents == ["player_0", "player_1"]


def test_cooperation_infos_on_final_step_only() -> None:
    e = parallel_env("prisoners_dilemma", max_cycles=4)
    e.reset(seed=0)
    plays = [(0, 0), (0, 1), (1, 1), (0, 0)]
    for i, joint in enumerate(plays):
        *_, infos = e.step(_joint(*joint))
        if i < len(plays) - 1:
            assert infos == {"player_0": {}, "player_1": {}}
    assert infos["player_0"]["cooperation_rate"] == pytest.approx(3 / 4)
    assert infos["player_1"]["cooperation_rate"] == pytest.approx(2 / 4)
    for agent in ("player_0", "player_1"):
        assert infos[agent]["mutual_cooperation"] == pytest.approx(2 / 4)

    # Counters restart with each episode.
    e.reset()
    for _ in range(4):
        *_, infos = e.step(_joint(1, 0))
    assert infos["player_0"]["cooperation_rate"] == 0.0
    assert infos["player_1"]["cooperation_rate"] == 1.0
    assert infos["player_0"]["mutual_cooperation"] == 0.0


def test_pickle_roundtrip_keeps_config() -> None:
    e = parallel_env("stag_hunt", max_cycles=7, include_round=True)
    clone = pickle.loads(pickle.dumps(e))
    assert (clone.game, clone.max_cycles, clone.include_round) == ("stag_hunt", 7, True)


def test_render_modes() -> None:
    e = parallel_env("prisoners_dilemma", render_mode="ansi")
    e.reset()
    e.step(_joint(1, 0))
    assert "defect/cooperate" in e.render()
    img_env = parallel_env("chicken", render_mode="rgb_array")
    img_env.reset()
    before = img_env.render()
    img_env.step(_joint(0, 0))
    after = img_env.render()
    assert after.shape == (64, 64, 3) and after.dtype == np.uint8
    assert after[:32, :32].sum() > before[:32, :32].sum()  # last joint action lit
    assert parallel_env().render() is None


@pytest.mark.parametrize(
    "kwargs",
    [{"game": "matching_pennies"}, {"max_cycles": 0}, {"render_mode": "human"}],
)
def test_bad_arguments_raise(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        parallel_env(**kwargs)


def test_bad_action_raises() -> None:
    e = parallel_env()
    e.reset()
    with pytest.raises(ValueError, match="player_1"):
        e.step({"player_0": 0})
    with pytest.raises(ValueError, match="0 or 1"):
        e.step(_joint(0, 2))
