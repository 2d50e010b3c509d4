"""Rules of ``envs.sisl`` (marl's waterworld), checked on hand-placed objects.

Each rule test resets, parks every object at rest far from the pursuers (a corner away
from the obstacle at (0.5, 0.5)), places the few objects it needs through the env's
position arrays and steps with zero thrust unless thrust is the point.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test

from envs.sisl import DT, Waterworld, env, parallel_env

NS = 30  # default sensors; ray k points at angle 2 pi k / NS, ray 0 along +x
OBSTACLE, BARRIER, FOOD, FOOD_SPEED, POISON, POISON_SPEED, PURSUER, PURSUER_SPEED = (
    slice(b * NS, (b + 1) * NS) for b in range(8))
TOUCHED_FOOD, TOUCHED_POISON = 8 * NS, 8 * NS + 1
P0 = np.array([0.2, 0.2])  # pursuer_0's spot: sensors clear of walls and the obstacle


def _parked(seed: int = 0, **kwargs) -> Waterworld:
    e = parallel_env(**kwargs)
    e.reset(seed=seed)
    e.vel[:] = 0.0
    e.pos[:] = 0.9  # the far corner: out of every sensor's range from P0
    e.pursuer_pos[0] = P0
    if e.n_pursuers > 1:
        e.pursuer_pos[1] = (0.2, 0.8)
    return e


def _zero(e: Waterworld) -> dict[str, np.ndarray]:
    return {a: np.zeros(2, np.float32) for a in e.agents}


# ---------------------------------------------------------------- conformance
def test_parallel_api_and_seed() -> None:
    parallel_api_test(parallel_env(), num_cycles=100)
    parallel_seed_test(lambda: parallel_env(max_cycles=100), num_cycles=100)


def test_other_configurations_pass_the_api_tests() -> None:
    parallel_api_test(parallel_env(n_pursuers=1, n_coop=1, n_obstacles=0, obstacle_coord=(),
                                   speed_features=False), num_cycles=50)
    parallel_api_test(parallel_env(n_pursuers=4, n_coop=2, obstacle_coord=None, n_evaders=0),
                      num_cycles=50)
    api_test(env(n_pursuers=3, max_cycles=40), num_cycles=40)


def test_spaces_follow_the_v4_layout() -> None:
    e = parallel_env()
    obs, infos = e.reset(seed=1)
    assert e.possible_agents == ["pursuer_0", "pursuer_1"]
    assert e.observation_space("pursuer_0").shape == (8 * NS + 2,)
    assert parallel_env(speed_features=False).observation_space("pursuer_0").shape == (152,)
    box = e.action_space("pursuer_1")
    assert box.shape == (2,) and box.low.tolist() == [-1, -1] and box.high.tolist() == [1, 1]
    for a, o in obs.items():
        assert o.dtype == np.float32 and e.observation_space(a).contains(o)
    assert infos == {"pursuer_0": {}, "pursuer_1": {}}
    assert e.state_space.contains(e.state())
    assert pickle.loads(pickle.dumps(e)).observation_space("pursuer_0").shape == (242,)


def test_a_seed_fixes_the_episode_and_respawns_lie_inside_the_walls() -> None:
    def run(seed: int) -> np.ndarray:
        e = parallel_env(max_cycles=60)
        e.reset(seed=seed)
        rng = np.random.default_rng(0)
        while e.agents:
            e.step({a: rng.uniform(-1, 1, 2) for a in e.agents})
            for pos, r in ((e.pursuer_pos, 0.015), (e.evader_pos, 0.03),
                           (e.poison_pos, 0.01125)):
                assert np.all((pos >= r - 1e-12) & (pos <= 1 - r + 1e-12))
        return e.state()

    assert np.array_equal(run(3), run(3))
    assert not np.array_equal(run(3), run(4))


def test_truncation_at_max_cycles_and_no_termination() -> None:
    e = parallel_env(max_cycles=3)
    e.reset(seed=0)
    for t in range(1, 4):
        _, _, term, trunc, info = e.step(_zero(e))
        assert not any(term.values()) and all(v == (t == 3) for v in trunc.values())
        assert info == {"pursuer_0": {}, "pursuer_1": {}}
    assert e.agents == []
    with pytest.raises(RuntimeError, match="reset"):
        e.step({})


def test_bad_arguments_name_the_fix() -> None:
    with pytest.raises(ValueError, match="render_mode must be None"):
        parallel_env(render_mode="human")
    with pytest.raises(ValueError, match="n_coop must be an integer between 1 and 2"):
        parallel_env(n_coop=3)
    with pytest.raises(ValueError, match="obstacle_coord"):
        parallel_env(n_obstacles=2)


# ---------------------------------------------------------------- food and poison
def test_touching_food_pays_food_and_encounter_and_respawns_the_food() -> None:
    e = _parked()
    e.evader_pos[0] = P0 + (0.04, 0.0)  # centres 0.04 apart < 0.015 + 0.03
    obs, rew, *_ = e.step(_zero(e))
    assert rew["pursuer_0"] == pytest.approx(10.0 + 0.01)
    assert rew["pursuer_1"] == 0.0
    assert obs["pursuer_0"][TOUCHED_FOOD] == 1 and obs["pursuer_0"][TOUCHED_POISON] == 0
    assert not np.allclose(e.evader_pos[0], P0 + (0.04, 0.0))  # respawned elsewhere
    assert np.abs(e.evader_vel[0]).max() <= 0.1  # with a new velocity within evader_speed
    e.evader_pos[0] = 0.9  # moved out of reach: nothing is touched any more
    obs, rew, *_ = e.step(_zero(e))
    assert rew["pursuer_0"] == 0.0 and obs["pursuer_0"][TOUCHED_FOOD] == 0


def test_n_coop_pursuers_must_touch_food_at_once() -> None:
    e = _parked(n_pursuers=2, n_coop=2)
    spot = np.array([0.3, 0.3])
    e.evader_pos[0] = spot
    e.pursuer_pos[0] = spot + (0.04, 0.0)
    _, rew, *_ = e.step(_zero(e))  # one pursuer: an encounter, the food stays
    assert rew == {"pursuer_0": pytest.approx(0.01), "pursuer_1": 0.0}
    assert np.allclose(e.evader_pos[0], spot)
    e.pursuer_pos[1] = spot - (0.04, 0.0)
    _, rew, *_ = e.step(_zero(e))  # two at once: both catch it
    assert rew == {"pursuer_0": pytest.approx(10.01), "pursuer_1": pytest.approx(10.01)}
    assert not np.allclose(e.evader_pos[0], spot)


def test_touching_poison_pays_poison_reward_and_respawns_the_poison() -> None:
    e = _parked()
    e.poison_pos[0] = P0 + (0.0, 0.02)  # < 0.015 + 0.01125
    obs, rew, *_ = e.step(_zero(e))
    assert rew["pursuer_0"] == pytest.approx(-1.0) and rew["pursuer_1"] == 0.0
    assert obs["pursuer_0"][TOUCHED_POISON] == 1 and obs["pursuer_0"][TOUCHED_FOOD] == 0
    assert not np.allclose(e.poison_pos[0], P0 + (0.0, 0.02))


# ---------------------------------------------------------------- thrust
@pytest.mark.parametrize(("action", "dv"), [
    ((0.2, 0.0), (0.1, 0.0)),  # dv = a * pursuer_max_accel (0.5)
    ((0.6, -0.8), (0.3, -0.4)),  # |a| = 1: |dv| = 0.5
    ((1.0, 1.0), (0.5 / np.sqrt(2), 0.5 / np.sqrt(2))),  # |dv| capped at 0.5
])
def test_thrust_changes_velocity_and_costs_half_its_norm(action, dv) -> None:
    e = _parked()
    _, rew, *_ = e.step({"pursuer_0": np.array(action, np.float32),
                         "pursuer_1": np.zeros(2, np.float32)})
    # thrust_penalty * ||dv||: -0.5 * ||a * 0.5|| with ||a * 0.5|| capped at 0.5
    assert rew["pursuer_0"] == pytest.approx(-0.5 * np.linalg.norm(dv), rel=1e-6)
    assert rew["pursuer_1"] == 0.0
    assert np.allclose(e.pursuer_vel[0], np.clip(dv, -0.2, 0.2))  # speed capped per axis
    assert np.allclose(e.pursuer_pos[0], P0 + np.clip(dv, -0.2, 0.2) * DT)


def test_local_ratio_mixes_own_and_mean_reward() -> None:
    e = _parked(local_ratio=0.25)
    _, rew, *_ = e.step({"pursuer_0": np.array([0.6, 0.8], np.float32),
                         "pursuer_1": np.zeros(2, np.float32)})
    own, mean = -0.25, -0.25 / 2  # pursuer_0 pays -0.5 * 0.5; pursuer_1 nothing
    assert rew["pursuer_0"] == pytest.approx(0.25 * own + 0.75 * mean)
    assert rew["pursuer_1"] == pytest.approx(0.75 * mean)


# ---------------------------------------------------------------- sensors
def test_a_ray_reads_distance_and_speed_of_an_evader_on_it() -> None:
    e = _parked()
    e.evader_pos[0] = P0 + (0.1, 0.0)  # on ray 0, half the sensor range away
    e.evader_vel[0] = (0.05, 0.0)
    o = e.observations()["pursuer_0"]
    assert o[FOOD][0] == pytest.approx(0.1 / 0.2)
    # relative velocity along the ray / (evader_speed + pursuer_speed)
    assert o[FOOD_SPEED][0] == pytest.approx(0.05 / (0.1 + 0.2))
    assert o[FOOD][NS // 2] == 1.0 and o[FOOD_SPEED][NS // 2] == 0.0  # the opposite ray
    assert np.all(o[POISON] == 1.0) and np.all(o[POISON_SPEED] == 0.0)
    e.pursuer_vel[0] = (0.2, 0.0)  # chasing it: the relative speed turns negative
    o = e.observations()["pursuer_0"]
    assert o[FOOD_SPEED][0] == pytest.approx((0.05 - 0.2) / 0.3)


def test_rays_read_walls_obstacle_and_other_pursuers() -> None:
    e = _parked()
    e.pursuer_pos[0] = (0.05, 0.5)
    e.pursuer_pos[1] = (0.15, 0.5)  # 0.1 along pursuer_0's ray 0
    o0, o1 = e.observations().values()
    assert o0[BARRIER][NS // 2] == pytest.approx(0.05 / 0.2)  # wall x = 0 behind it
    assert o0[BARRIER][0] == 1.0  # wall x = 1 out of range
    assert o0[PURSUER][0] == pytest.approx(0.5) and o1[PURSUER][NS // 2] == pytest.approx(0.5)
    assert o0[PURSUER][NS // 2] == 1.0  # a pursuer does not sense itself
    # The obstacle (centre (0.5, 0.5), radius 0.1): v4 reads its centre's projection.
    e.pursuer_pos[0] = (0.35, 0.5)
    assert e.observations()["pursuer_0"][OBSTACLE][0] == pytest.approx(0.15 / 0.2)


# ---------------------------------------------------------------- walls and obstacles
def test_objects_bounce_off_walls_and_the_obstacle() -> None:
    e = _parked()
    e.evader_pos[0] = (0.965, 0.3)  # food radius 0.03: its centre stays <= 0.97
    e.evader_vel[0] = (0.1, 0.0)
    e.pursuer_pos[0] = (0.02, 0.3)  # pursuer radius 0.015
    e.pursuer_vel[0] = (-0.2, 0.05)
    e.poison_pos[0] = (0.5 - 0.1 - 0.01125 - 0.001, 0.5)  # just left of the obstacle
    e.poison_vel[0] = (0.1, 0.0)
    e.step(_zero(e))
    assert e.evader_vel[0].tolist() == [-0.1, 0.0]
    assert e.evader_pos[0][0] == pytest.approx(0.97 - (0.965 + 0.1 * DT - 0.97))
    assert e.pursuer_vel[0].tolist() == [0.2, 0.05]
    assert e.pursuer_pos[0][0] == pytest.approx(0.015 + (0.015 - (0.02 - 0.2 * DT)))
    assert e.poison_vel[0] == pytest.approx([-0.1, 0.0])
    assert np.linalg.norm(e.poison_pos[0] - 0.5) == pytest.approx(0.1 + 0.01125)
