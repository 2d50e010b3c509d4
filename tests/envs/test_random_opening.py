"""Random openings (``env.random_opening``): real connect four, played and checked by hand."""

from __future__ import annotations

import numpy as np
import pytest
from pettingzoo.classic import connect_four_v3
from pettingzoo.test import api_test, seed_test

from envs.factory import make_spec_env
from envs.wrappers.random_opening import RandomOpening
from marl.errors import SpecError
from marl.experiment import resolve
from marl.spec import spec_from_dict

C4 = "competitive/connect_four-v0"


def _pieces(env) -> tuple[int, int]:
    """Pieces of the player to move and of the other one, read off the board."""
    board = env.observe(env.agent_selection)["observations"].reshape(6, 7, 2)
    return int(board[..., 0].sum()), int(board[..., 1].sum())


def test_opening_plays_plies_per_side_and_keeps_the_first_mover():
    env = make_spec_env({"id": C4, "random_opening": 2})
    for seed in range(5):
        env.reset(seed=seed)
        assert env.agent_selection == "player_0"  # 4 plies: the first mover is to move
        assert _pieces(env) == (2, 2)
        assert all(r == 0 for r in env.rewards.values())
        assert not any(env.terminations.values())


def test_openings_vary_and_repeat_with_the_seed():
    env = make_spec_env({"id": C4, "random_opening": 2})

    def board(seed):
        env.reset(seed=seed)
        return env.observe("player_0")["observations"].copy()

    boards = [board(s) for s in range(20)]
    assert len({b.tobytes() for b in boards}) > 10  # 7^4 openings: 20 draws mostly differ
    assert np.array_equal(board(3), boards[3])


def test_without_the_option_the_game_starts_empty():
    env = make_spec_env({"id": C4})
    env.reset(seed=0)
    assert _pieces(env) == (0, 0)


def test_wrapper_passes_pettingzoo_api_and_seed_tests():
    api_test(RandomOpening(connect_four_v3.env(), 1), num_cycles=200)
    seed_test(lambda: RandomOpening(connect_four_v3.env(), 2), num_cycles=50)


def test_training_config_carries_it_and_play_config_does_not():
    spec = spec_from_dict({"name": "o", "env": {"id": C4, "random_opening": 2},
                           "stop": {"env_steps": 100}})
    exp = resolve(spec)
    assert exp.env_config["random_opening"] == 2
    assert "random_opening" not in exp.play_config()


def test_parallel_env_is_refused_with_one_line():
    spec = spec_from_dict({"name": "o", "env": {"id": "cooperative/spread-v0",
                                                "random_opening": 1},
                           "stop": {"env_steps": 100}})
    with pytest.raises(SpecError, match="random_opening.*turn-based"):
        resolve(spec)


def test_a_range_draws_the_plies_per_side_for_each_episode():
    env = make_spec_env({"id": C4, "random_opening": [0, 2]})
    seen = set()
    for seed in range(60):
        env.reset(seed=seed)
        assert env.agent_selection == "player_0"  # an even number of plies: same mover
        mover, other = _pieces(env)
        assert mover == other
        seen.add(mover)
    assert seen == {0, 1, 2}  # the empty board too: 60 draws of 3 counts miss none


@pytest.mark.parametrize("plies", [2, (2, 2)])
def test_a_fixed_count_plays_the_openings_of_earlier_versions(plies):
    # Earlier versions drew only the moves, one rng.choice per ply from the seed's rng:
    # a fixed count must take no extra draw, so a resumed old run sees the same openings.
    for seed in range(5):
        env = RandomOpening(connect_four_v3.env(), plies)
        env.reset(seed=seed)
        ref = connect_four_v3.env()
        ref.reset(seed=seed)
        rng = np.random.default_rng(seed)
        for _ in range(4):
            mask = ref.observe(ref.agent_selection)["action_mask"]
            ref.step(int(rng.choice(np.flatnonzero(mask))))
        assert np.array_equal(env.observe("player_0")["observation"],
                              ref.observe("player_0")["observation"])


def test_a_range_repeats_with_the_seed():
    seed_test(lambda: RandomOpening(connect_four_v3.env(), (0, 2)), num_cycles=50)


@pytest.mark.parametrize("value", [[2, 1], [0, 11], [0, 0], [1, 2, 3], [0.5, 2], -1, 11, True])
def test_bad_plies_are_refused_by_the_spec(value):
    with pytest.raises(SpecError, match="random_opening"):
        spec_from_dict({"name": "o", "env": {"id": C4, "random_opening": value},
                        "stop": {"env_steps": 100}})


def test_a_range_reaches_the_training_config_and_the_saved_spec_as_a_list():
    spec = spec_from_dict({"name": "o", "env": {"id": C4, "random_opening": [0, 2]},
                           "stop": {"env_steps": 100}})
    assert tuple(resolve(spec).env_config["random_opening"]) == (0, 2)
    assert spec.to_dict()["env"]["random_opening"] == [0, 2]
    assert spec_from_dict(spec.to_dict()).env.random_opening == (0, 2)
