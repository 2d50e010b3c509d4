"""Conformance and behaviour tests for ``envs.commons`` (the commons harvest game)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test

from envs.commons import DEFAULT_MAP, CommonsHarvest, env, parallel_env

NOOP, FORWARD, BACKWARD, LEFT, RIGHT, TURN_LEFT, TURN_RIGHT, FIRE = range(8)
N, E, S, W = range(4)


def _planes(e: CommonsHarvest, rows: list[str] | tuple[str, ...]) -> np.ndarray:
    """(H, W, 2 + N) planes of the documented state layout: wall, apple, agent_i."""
    h, w = len(rows), len(rows[0])
    return e.state()[: h * w * (2 + len(e.possible_agents))].reshape(h, w, -1)


def _apples(e: CommonsHarvest, rows: list[str]) -> np.ndarray:
    return _planes(e, rows)[:, :, 1]


def _noop(e: CommonsHarvest) -> dict[str, int]:
    return dict.fromkeys(e.possible_agents, NOOP)


# ---------------------------------------------------------------- conformance
def test_parallel_api() -> None:
    parallel_api_test(parallel_env(num_agents=5), num_cycles=200)


def test_aec_api() -> None:
    api_test(env(num_agents=3, max_cycles=60), num_cycles=60)


def test_parallel_seed() -> None:
    parallel_seed_test(lambda: parallel_env(num_agents=5, max_cycles=150), num_cycles=150)


def test_spaces_and_shapes() -> None:
    e = parallel_env(num_agents=4, view_size=7)
    obs, _ = e.reset(seed=0)
    h, w = len(DEFAULT_MAP), len(DEFAULT_MAP[0])
    assert e.observation_space("player_0").shape == (7 * 7 * 3 + 1,)
    assert e.action_space("player_0").n == 8
    assert e.state_space.shape == (h * w * (2 + 4) + 5 * 4 + 1,)
    assert e.state().shape == e.state_space.shape and e.state().dtype == np.float32
    for o in obs.values():
        assert o.shape == (148,) and o.dtype == np.float32
        assert e.observation_space("player_0").contains(o)


def test_determinism_under_seed() -> None:
    acts = np.random.default_rng(3).integers(0, 8, size=(300, 5))

    def rollout(seed: int) -> tuple[list[np.ndarray], list[float]]:
        e = parallel_env(num_agents=5, max_cycles=300)
        e.reset(seed=seed)
        states, rewards = [e.state()], []
        for a in acts:
            _, rew, *_ = e.step(dict(zip(e.possible_agents, a.tolist())))
            states.append(e.state())
            rewards.extend(rew.values())
        return states, rewards

    s1, r1 = rollout(7)
    s2, r2 = rollout(7)
    s3, _ = rollout(8)
    assert all(np.array_equal(a, b) for a, b in zip(s1, s2)) and r1 == r2
    assert not all(np.array_equal(a, b) for a, b in zip(s1, s3))


def test_pickles() -> None:
    e = pickle.loads(pickle.dumps(parallel_env(num_agents=3, tag_duration=7)))
    assert e.tag_duration == 7 and len(e.reset(seed=0)[0]) == 3


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"num_agents": 1}, "num_agents"),
        ({"num_agents": 11}, "num_agents"),
        ({"view_size": 6}, "view_size"),
        ({"regrowth_probs": (0.1, 0.5)}, "regrowth_probs"),
        ({"map": ["#x#"]}, "unknown characters"),
        ({"map": ["P.P", "#"]}, "same"),
        ({"map": ["#P.#"], "num_agents": 2}, "spawn points"),
    ],
)
def test_invalid_arguments(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        CommonsHarvest(**kwargs)


# ---------------------------------------------------------------- observations
OPEN = ["#######", "#P...P#", "#.....#", "#.....#", "#.....#", "#.....#", "#######"]


@pytest.mark.parametrize("facing, apple", [(N, (2, 3)), (E, (3, 4)), (S, (4, 3)), (W, (3, 2))])
def test_observation_is_egocentric(facing: int, apple: tuple[int, int]) -> None:
    rows = [list(r) for r in OPEN]
    rows[apple[0]][apple[1]] = "A"
    e = parallel_env(map=["".join(r) for r in rows], num_agents=2, view_size=5)
    obs, _ = e.reset(
        seed=0, options={"agent_positions": [(3, 3), (5, 5)], "agent_orientations": [facing, N]}
    )
    win = obs["player_0"][:-1].reshape(5, 5, 3)  # agent at row 3, col 2; rows ahead up
    assert win[2, 2, 1] == 1.0  # the apple one cell ahead, whatever the facing
    assert win[:, :, 1].sum() == 1.0
    assert win[3, 2, 2] == 0.0  # own cell does not show in the "other agents" channel
    assert obs["player_0"][-1] == 0.0


def test_walls_and_other_agents_visible() -> None:
    e = parallel_env(map=OPEN, num_agents=2, view_size=5)
    obs, _ = e.reset(
        seed=0, options={"agent_positions": [(1, 1), (1, 2)], "agent_orientations": [N, N]}
    )
    win = obs["player_0"][:-1].reshape(5, 5, 3)
    assert win[2, :, 0].all()  # the wall row right ahead (map row 0)
    assert win[3, 3, 2] == 1.0  # player_1 one cell to the right
    assert win[3, 1, 0] == 1.0  # wall to the left


# ---------------------------------------------------------------- movement, apples
def test_eating_an_apple_rewards_and_removes_it() -> None:
    rows = ["#######", "#P.A.P#", "#.....#", "#######"]
    e = parallel_env(map=rows, num_agents=2, regrowth_probs=(0.0, 0.0))
    e.reset(seed=0, options={"agent_positions": [(1, 1), (2, 5)], "agent_orientations": [E, N]})
    _, rew, *_ = e.step({"player_0": FORWARD, "player_1": NOOP})
    assert rew == {"player_0": 0.0, "player_1": 0.0}
    _, rew, *_ = e.step({"player_0": FORWARD, "player_1": NOOP})
    assert rew == {"player_0": 1.0, "player_1": 0.0}
    assert _apples(e, rows).sum() == 0
    assert _planes(e, rows)[1, 3, 2] == 1.0  # player_0 stands where the apple was


def test_agents_never_share_a_cell_or_enter_walls() -> None:
    e = parallel_env(num_agents=8, max_cycles=400)
    e.reset(seed=1)
    rng = np.random.default_rng(1)
    walls = np.array([[c == "#" for c in r] for r in DEFAULT_MAP])
    for _ in range(400):
        e.step(dict(zip(e.possible_agents, rng.integers(1, 5, size=8).tolist())))
        agents = _planes(e, DEFAULT_MAP)[:, :, 2:]
        assert agents.sum(2).max() <= 1.0
        assert agents.sum((0, 1)).tolist() == [1.0] * 8  # nobody tagged: moves only
        assert not agents.sum(2)[walls].any()


# ---------------------------------------------------------------- regrowth
REGROW = [
    "##############",
    "#P..........P#",
    "#............#",
    "#...A........#",
    "#............#",
    "#...aa.......#",
    "#............#",
    "#.........aa.#",
    "#.........aa.#",
    "##############",
]


def test_regrowth_needs_apples_within_l2_radius_two() -> None:
    e = parallel_env(map=REGROW, num_agents=2, regrowth_probs=(0.0, 1.0))
    e.reset(seed=0)
    e.step(_noop(e))
    apples = _apples(e, REGROW)
    assert apples[5, 4] == 1.0  # offset (2, 0) from the apple: L2 distance 2, grows
    assert apples[5, 5] == 0.0  # offset (2, 1): distance sqrt(5) > 2, no neighbour yet
    e.step(_noop(e))
    assert _apples(e, REGROW)[5, 5] == 1.0  # now (5, 4) is its neighbour
    for _ in range(300):
        e.step(_noop(e))
    assert _apples(e, REGROW)[7:9, 10:12].sum() == 0  # no apples near: never regrows


def test_no_regrowth_under_an_agent() -> None:
    rows = ["#######", "#P.AP.#", "#..a..#", "#######"]
    e = parallel_env(map=rows, num_agents=2, regrowth_probs=(0.0, 1.0))
    e.reset(seed=0, options={"agent_positions": [(2, 3), (1, 1)], "agent_orientations": [S, N]})
    for _ in range(5):
        e.step(_noop(e))
    assert _apples(e, rows)[2, 3] == 0.0  # player_0 stands on the apple cell
    e.step({"player_0": RIGHT, "player_1": NOOP})  # strafe right while facing S: west
    assert _planes(e, rows)[2, 2, 2] == 1.0
    assert _apples(e, rows)[2, 3] == 1.0


def test_depleted_patch_never_regrows_with_default_rates() -> None:
    rows = [r.replace("A", ".") for r in REGROW]  # every apple cell starts empty
    e = parallel_env(map=rows, num_agents=2, max_cycles=2000)
    e.reset(seed=0)
    for _ in range(2000):
        e.step(_noop(e))
    assert _apples(e, rows).sum() == 0
    assert e.episode_stats()["apples_left"] == 0.0


def test_patch_regrows_at_perolat_rate() -> None:
    # A hole surrounded by 8 apples: p = 0.1 per step; 1 - 0.9**200 ~ 1.
    rows = ["#######", "#P...P#", "#.AAA.#", "#.AaA.#", "#.AAA.#", "#######"]
    e = parallel_env(map=rows, num_agents=2)
    e.reset(seed=0)
    assert _apples(e, rows)[3, 3] == 0.0
    for _ in range(200):
        e.step(_noop(e))
    assert _apples(e, rows)[3, 3] == 1.0


# ---------------------------------------------------------------- tagging
CORRIDOR = ["##########", "#P......P#", "#..#....P#", "##########"]


def _corridor(**kwargs) -> CommonsHarvest:
    e = parallel_env(map=CORRIDOR, num_agents=3, tag_duration=3, beam_length=4, **kwargs)
    return e


def test_beam_tags_first_agent_for_tag_duration_steps_then_respawns() -> None:
    e = _corridor(max_cycles=20)
    e.reset(
        seed=0,
        options={"agent_positions": [(1, 1), (1, 3), (1, 4)], "agent_orientations": [E, W, E]},
    )
    obs, *_ = e.step({"player_0": FIRE, "player_1": NOOP, "player_2": NOOP})
    assert _planes(e, CORRIDOR)[:, :, 3].sum() == 0  # player_1 is off the map
    assert _planes(e, CORRIDOR)[1, 4, 4] == 1.0  # player_2, behind it, is shielded
    assert not obs["player_1"][:-1].any() and obs["player_1"][-1] == 1.0
    # Out for tag_duration = 3 steps; its own beam (aimed at player_0) is ignored.
    for k in range(2):
        obs, *_ = e.step({"player_0": NOOP, "player_1": FIRE, "player_2": NOOP})
        assert obs["player_1"][-1] == pytest.approx((2 - k) / 3)
        assert _planes(e, CORRIDOR)[:, :, 3].sum() == 0
    obs, *_ = e.step({"player_0": NOOP, "player_1": FIRE, "player_2": NOOP})
    back = _planes(e, CORRIDOR)[:, :, 3]
    assert back.sum() == 1.0 and obs["player_1"][-1] == 0.0
    assert CORRIDOR[int(np.argmax(back)) // 10][int(np.argmax(back)) % 10] == "P"
    assert _planes(e, CORRIDOR)[1, 1, 2] == 1.0  # player_0 never hit
    for _ in range(16):
        *_, infos = e.step(_noop(e))
    assert infos["player_0"]["social"]["peace"] == 3 * 20 - 3


@pytest.mark.parametrize(
    "positions, orient, hit",
    [
        ([(1, 1), (1, 5), (1, 8)], E, True),  # distance 4 = beam_length: hit
        ([(1, 1), (1, 6), (1, 8)], E, False),  # distance 5: out of reach
        ([(2, 1), (2, 5), (1, 8)], E, False),
    ],  # wall at (2, 3) blocks the beam
)
def test_beam_reach_and_walls(positions: list, orient: int, hit: bool) -> None:
    e = _corridor()
    e.reset(seed=0, options={"agent_positions": positions, "agent_orientations": [orient, N, N]})
    e.step({"player_0": FIRE, "player_1": NOOP, "player_2": NOOP})
    assert (_planes(e, CORRIDOR)[:, :, 3].sum() == 0) == hit


def test_beam_cost_and_final_social_infos() -> None:
    e = _corridor(max_cycles=5, beam_cost=0.5)
    e.reset(seed=0)
    for t in range(5):
        _, rew, _, trunc, infos = e.step({"player_0": FIRE, "player_1": NOOP, "player_2": NOOP})
        assert rew["player_0"] == -0.5
        assert all(trunc.values()) == (t == 4)
    social = infos["player_1"]["social"]
    assert set(social) == {"efficiency", "equality", "sustainability", "peace", "apples_left"}
    assert social["efficiency"] == pytest.approx(-0.5 * 5 / 5)
    assert e.agents == [] and social == e.episode_stats()


def test_render_rgb_array() -> None:
    e = parallel_env(num_agents=3, render_mode="rgb_array")
    e.reset(seed=0)
    e.step(dict.fromkeys(e.possible_agents, FIRE))
    img = e.render()
    assert img.shape == (len(DEFAULT_MAP) * 8, len(DEFAULT_MAP[0]) * 8, 3)
    assert img.dtype == np.uint8
    assert (img[0, 0] == (110, 110, 110)).all()  # wall corner
