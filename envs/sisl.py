"""
# Waterworld (marl's numpy rules of SISL waterworld_v4)

PettingZoo 1.27 dropped SISL's waterworld; this is marl's own implementation of the
rules of PettingZoo 1.24's ``waterworld_v4`` (Gupta et al. 2017), numpy only (no
pymunk, no pygame), written from its documentation and behaviour, not its code.

| Import             | `from envs.sisl import parallel_env, env`                      |
|--------------------|----------------------------------------------------------------|
| Actions            | Continuous                                                     |
| Parallel API       | Yes (native); AEC through `parallel_to_aec`                    |
| Agents             | `agents = ['pursuer_0', ..., 'pursuer_{n_pursuers-1}']`        |
| Action Shape       | (2,), Box(-1, 1), float32                                      |
| Observation Shape  | (8 * n_sensors + 2,) = (242,) (5 * n_sensors + 2 without speed)|
| Observation Values | [-sqrt(2), sqrt(2)], float32                                   |
| State Shape        | (2 * n_obstacles + 4 * (n_pursuers + n_evaders + n_poisons),)  |

Pursuers (archea, radius `radius`) swim in the unit square with food (evaders, radius
`2 * radius`) and poison (radius `0.75 * radius`); food and poison drift at constant
velocity (components uniform in `[-speed, speed]`), and everything bounces off the four
walls and the static round obstacles (`n_obstacles`, centres `obstacle_coord`, radius
`obstacle_radius`). Objects pass through each other: only walls and obstacles collide.
Time advances `DT` = 1/15 s a step (v4's pymunk step); positions are in the unit square,
speeds in units/s.

### Actions

An action `a` is a velocity change: `dv = clip(a, -1, 1) * pursuer_max_accel`, scaled
down to norm `pursuer_max_accel` when longer, added to the pursuer's velocity, whose
components are then clipped to `[-pursuer_speed, pursuer_speed]`.

### Rewards (after each move)

* food: a food item touched (circles overlapping) by at least `n_coop` pursuers at once
  is caught: each of them gets `food_reward`, and the food respawns at a random position
  with a new random velocity;
* `encounter_reward` per food item a pursuer touches (caught or not);
* `poison_reward` per poison touched; the poison respawns;
* `thrust_penalty * ||dv||` (v4's "norm of the action velocity": with the defaults
  `-0.5 * 0.5 * ||a||`, at most -0.25 a step);
* each pursuer's sum `r_i` is mixed as `local_ratio * r_i + (1 - local_ratio) * mean(r)`.

Respawns avoid obstacles as v4 does (centre more than `2 * r + obstacle_radius` from an
obstacle's centre) and lie inside the walls. Episodes never terminate; every pursuer is
truncated after `max_cycles` steps.

### Observation Space (v4's layout)

Each pursuer has `n_sensors` rays of length `sensor_range`, ray `k` at angle
`2 pi k / n_sensors` (ray 0 points along +x). Blocks of `n_sensors` values, in order:

| block | reading (per ray)                                                           |
|-------|-----------------------------------------------------------------------------|
| 0     | obstacle distance                                                           |
| 1     | barrier (wall) distance: where the ray leaves the unit square, / range      |
| 2, 3  | food distance, food speed                                                   |
| 4, 5  | poison distance, poison speed                                               |
| 6, 7  | other pursuers' distance, speed                                             |
| last 2| 1 if the pursuer touched food / poison this step, else 0                    |

A ray senses a circle when its centre lies ahead (`p = ray . (c - x) >= 0`), the ray's
line passes within the radius, and `p - radius <= sensor_range`. Distance reads
`min(p / sensor_range, 1)` for the nearest sensed object of the kind (the projection of
its centre onto the ray, as v4), 1 when nothing is sensed. Speed reads the relative
velocity along the ray, `ray . (v_obj - v_self) / (obj_max_speed + pursuer_speed)`, of
that object, 0 when nothing is sensed. Without `speed_features` the speed blocks go.

### What differs from PettingZoo 1.24's waterworld_v4

* Physics: straight-line moves of `DT` per step; walls and obstacles reflect velocity
  perfectly (v4: pymunk, walls with elasticity 0.999, so 0.1% speed lost a bounce).
* Food: v4 counts pymunk begin/separate events: the pursuer whose touch makes the count
  reach `n_coop` is paid then, each catcher again when it leaves, and the food respawns
  only when a pursuer leaves it (its counter can then go negative). Here a catch is
  decided each step, pays every touching pursuer once and respawns the food at once.
  `food_reward` is paid per food caught (v4: at most once a pursuer a step).
* Thrust penalty: v4's parallel env (its AEC env through ``aec_to_parallel``) overwrites
  the penalty at each pursuer's turn, so only the last pursuer pays it, and it mixes it
  with `local_ratio` twice; here every pursuer pays its own, mixed once with the rest.
* Spawns are drawn inside the walls (v4 draws in the whole square and lets pymunk push
  out); `obstacle_coord=None` gives each obstacle its own random centre (v4: all at one
  point); an obstacle collides with radius `obstacle_radius` (v4's pymunk shape is
  always 0.1, its sensors use `obstacle_radius`).
* With one pursuer the other-pursuer blocks read 1 and 0 (nothing sensed; v4 reads 0).
* On a ray whose nearest reading is clipped to 1, the velocity is that of a sensed
  object (v4's argmin may pick an unsensed one, velocity 0).
* Observations are clipped to the declared Box; out-of-range actions are clipped
  silently (v4's ClipOutOfBoundsWrapper warns); no ``FPS`` argument; ``render_mode``
  None only; ``state()`` is added (v4 has none).

### Arguments

v4's names and defaults: `n_pursuers=2`, `n_evaders=5`, `n_poisons=10`,
`n_obstacles=1`, `n_coop=1`, `n_sensors=30`, `sensor_range=0.2`, `radius=0.015`,
`obstacle_radius=0.1`, `obstacle_coord=((0.5, 0.5),)`, `pursuer_max_accel=0.5`,
`pursuer_speed=0.2`, `evader_speed=0.1`, `poison_speed=0.1`, `poison_reward=-1.0`,
`food_reward=10.0`, `encounter_reward=0.01`, `thrust_penalty=-0.5`, `local_ratio=1.0`,
`speed_features=True`, `max_cycles=500`, `render_mode=None`.

The env keeps its objects in numpy arrays: `pursuer_pos`, `pursuer_vel`, `evader_pos`,
`evader_vel`, `poison_pos`, `poison_vel` (rows of `pos`/`vel`; assigning writes in
place) and `obstacle_pos`; `observations()` observes them as they are.

### Version History

* v0: Initial version (the rules of PettingZoo's waterworld_v4).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces
from gymnasium.utils import EzPickle, seeding
from pettingzoo import AECEnv, ParallelEnv
from pettingzoo.utils import conversions

__all__ = ["DT", "Waterworld", "env", "parallel_env"]

DT = 1.0 / 15.0  # seconds a step: v4's pymunk step of 1 / FPS, FPS = 15
PURSUER, EVADER, POISON = range(3)  # kinds of moving objects, in row order
_BOUND = float(np.float32(np.sqrt(2.0)))  # v4's observation Box: [-sqrt 2, sqrt 2]
_AXIS_EPS = 1e-8  # v4's barrier rule: a ray this close to an axis never meets its walls
_NOTHING = 2.0  # sensed distance of an unsensed object: loses every argmin


class _Rows:
    """One kind's rows of the env's ``pos`` or ``vel`` array; assigning writes them."""

    def __init__(self, array: str, kind: int) -> None:
        self.array, self.kind = array, kind

    def __get__(self, env: Any, owner: Any = None) -> Any:
        return self if env is None else getattr(env, self.array)[env._slices[self.kind]]

    def __set__(self, env: Any, value: Any) -> None:
        getattr(env, self.array)[env._slices[self.kind]] = value


class Waterworld(ParallelEnv, EzPickle):
    """SISL waterworld: pursuers eat food and avoid poison. See the module docstring."""

    metadata: ClassVar[dict[str, Any]] = {
        "name": "marl_waterworld_v0",
        "render_modes": [],
        "is_parallelizable": True,
        "render_fps": 15,
    }
    pursuer_pos = _Rows("pos", PURSUER)
    pursuer_vel = _Rows("vel", PURSUER)
    evader_pos = _Rows("pos", EVADER)
    evader_vel = _Rows("vel", EVADER)
    poison_pos = _Rows("pos", POISON)
    poison_vel = _Rows("vel", POISON)

    def __init__(
        self,
        n_pursuers: int = 2,
        n_evaders: int = 5,
        n_poisons: int = 10,
        n_obstacles: int = 1,
        n_coop: int = 1,
        n_sensors: int = 30,
        sensor_range: float = 0.2,
        radius: float = 0.015,
        obstacle_radius: float = 0.1,
        obstacle_coord: Sequence[Sequence[float]] | None = ((0.5, 0.5),),
        pursuer_max_accel: float = 0.5,
        pursuer_speed: float = 0.2,
        evader_speed: float = 0.1,
        poison_speed: float = 0.1,
        poison_reward: float = -1.0,
        food_reward: float = 10.0,
        encounter_reward: float = 0.01,
        thrust_penalty: float = -0.5,
        local_ratio: float = 1.0,
        speed_features: bool = True,
        max_cycles: int = 500,
        render_mode: str | None = None,
    ) -> None:
        kwargs = {k: v for k, v in locals().items() if k != "self"}  # the arguments
        EzPickle.__init__(self, **kwargs)
        _check_int("n_pursuers", n_pursuers, 1)
        for name in ("n_evaders", "n_poisons", "n_obstacles"):
            _check_int(name, kwargs[name], 0)
        _check_int("n_coop", n_coop, 1, n_pursuers)
        _check_int("n_sensors", n_sensors, 1)
        _check_int("max_cycles", max_cycles, 1)
        for name in ("sensor_range", "radius"):
            if not kwargs[name] > 0:
                raise ValueError(f"{name} must be > 0, got {kwargs[name]!r}")
        for name in ("obstacle_radius", "pursuer_max_accel", "pursuer_speed", "evader_speed",
                     "poison_speed"):
            if not kwargs[name] >= 0:
                raise ValueError(f"{name} must be >= 0, got {kwargs[name]!r}")
        if not 0.0 <= local_ratio <= 1.0:
            raise ValueError(f"local_ratio must be in [0, 1], got {local_ratio!r}")
        coord = None if obstacle_coord is None else np.asarray(obstacle_coord, np.float64)
        if coord is not None:
            coord = coord.reshape(-1, 2)
            if len(coord) != n_obstacles or np.any((coord < 0) | (coord > 1)):
                raise ValueError(f"obstacle_coord must be n_obstacles={n_obstacles} (x, y) "
                                 f"pairs in [0, 1] (or None: random), got {obstacle_coord!r}")
        if render_mode is not None:
            raise ValueError(f"render_mode must be None (marl's waterworld draws nothing), "
                             f"got {render_mode!r}")
        self.render_mode = render_mode
        self.n_pursuers, self.n_coop, self.n_sensors = n_pursuers, n_coop, n_sensors
        self.sensor_range, self.obstacle_radius = sensor_range, obstacle_radius
        self._coord = coord
        self.pursuer_max_accel, self.pursuer_speed = pursuer_max_accel, pursuer_speed
        self.poison_reward, self.food_reward = poison_reward, food_reward
        self.encounter_reward, self.thrust_penalty = encounter_reward, thrust_penalty
        self.local_ratio, self.speed_features = local_ratio, speed_features
        self.max_cycles = max_cycles

        # Moving objects are rows of pos/vel: pursuers, then food, then poison.
        counts = (n_pursuers, n_evaders, n_poisons)
        ends = np.cumsum(counts)
        self._slices = [slice(int(e - c), int(e)) for c, e in zip(counts, ends)]
        self._kind_radius = (radius, 2 * radius, 0.75 * radius)
        self._radius = np.repeat(self._kind_radius, counts)
        self._max_speed = np.repeat([pursuer_speed, evader_speed, poison_speed], counts)
        n_obj, o = int(ends[-1]), n_obstacles
        self.pos = np.zeros((n_obj, 2))
        self.vel = np.zeros((n_obj, 2))
        self.obstacle_pos = np.zeros((o, 2)) if self._coord is None else self._coord.copy()
        # Sensed targets: the obstacles, then the moving rows.
        self._target_radius = np.concatenate([np.full(o, obstacle_radius), self._radius])
        # Speed readings divide by obj_max_speed + pursuer_speed (guarded for 0 speeds).
        self._speed_norm = np.maximum(np.concatenate(
            [np.ones(o), self._max_speed + pursuer_speed]), 1e-12)
        self._blocks = [slice(0, o)] + [slice(s.start + o, s.stop + o)
                                        for s in (self._slices[EVADER], self._slices[POISON],
                                                  self._slices[PURSUER])]
        angles = np.linspace(0.0, 2.0 * np.pi, n_sensors + 1)[:-1]
        self._rays = np.stack([np.cos(angles), np.sin(angles)], axis=1)  # (n_sensors, 2)
        # Barrier rule: along axis j a ray leaves the square at t = (edge - x_j) / (s_j R).
        self._clips = np.abs(self._rays) > _AXIS_EPS
        self._edge = (self._rays > 0).astype(np.float64)
        with np.errstate(divide="ignore"):
            self._inv = np.where(self._clips, 1.0 / (self._rays * sensor_range), 0.0)
        self._self = np.eye(n_pursuers, dtype=bool)[:, :, None]
        self._flags = np.zeros((n_pursuers, 2))  # touched food, touched poison

        self.possible_agents = [f"pursuer_{i}" for i in range(n_pursuers)]
        self.agents: list[str] = []
        obs_dim = (8 if speed_features else 5) * n_sensors + 2
        self.observation_spaces = {a: spaces.Box(-_BOUND, _BOUND, (obs_dim,), np.float32)
                                   for a in self.possible_agents}
        self.action_spaces = {a: spaces.Box(-1.0, 1.0, (2,), np.float32)
                              for a in self.possible_agents}
        self.state_space = spaces.Box(-_BOUND, _BOUND, (2 * o + 4 * n_obj,), np.float32)
        self.np_random, _ = seeding.np_random(None)
        self._t = 0

    def observation_space(self, agent: str) -> spaces.Box:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Box:
        return self.action_spaces[agent]

    # ------------------------------------------------------------------ episode loop
    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None):
        """Start an episode: obstacles, then every object at a random free position
        (pursuers at rest). ``options`` is accepted and ignored."""
        if seed is not None:
            self.np_random, _ = seeding.np_random(seed)
        if self._coord is None:
            self.obstacle_pos = self.np_random.random((len(self.obstacle_pos), 2))
        self._spawn(np.arange(len(self.pos)))
        self.vel[self._slices[PURSUER]] = 0.0  # pursuers start at rest
        self._flags[:] = 0.0
        self._t = 0
        self.agents = self.possible_agents[:]
        return self.observations(), {a: {} for a in self.agents}

    def step(self, actions: dict[str, Any]):
        """Thrust, move and bounce, then contacts, respawns and rewards."""
        if not self.agents:
            raise RuntimeError("step() called on a finished episode; call reset()")
        p = self._slices[PURSUER]
        a = np.zeros((self.n_pursuers, 2))
        for i, agent in enumerate(self.possible_agents):
            if agent in actions:
                a[i] = np.asarray(actions[agent], np.float64).reshape(2)
        # dv = a * max_accel with ||dv|| capped at max_accel; speed capped per component.
        dv = np.clip(a, -1.0, 1.0) * self.pursuer_max_accel
        norm = np.linalg.norm(dv, axis=1)
        over = norm > self.pursuer_max_accel
        dv[over] *= (self.pursuer_max_accel / norm[over])[:, None]
        norm = np.minimum(norm, self.pursuer_max_accel)
        self.vel[p] = np.clip(self.vel[p] + dv, -self.pursuer_speed, self.pursuer_speed)
        self._move()
        r = self._contacts() + self.thrust_penalty * norm
        r = self.local_ratio * r + (1.0 - self.local_ratio) * r.mean()
        self._t += 1
        obs = self.observations()
        done = self._t >= self.max_cycles
        agents = self.agents
        if done:
            self.agents = []
        return (obs, {a: float(r[i]) for i, a in enumerate(agents)},
                dict.fromkeys(agents, False), dict.fromkeys(agents, done),
                {a: {} for a in agents})

    def _move(self) -> None:
        """One step of straight-line motion; mirror off the walls and the obstacles."""
        pos, vel, r = self.pos, self.vel, self._radius[:, None]
        pos += vel * DT
        lo, hi = r, 1.0 - r  # a circle's centre stays r inside the walls
        low, high = pos < lo, pos > hi
        pos[:] = np.where(low, 2 * lo - pos, np.where(high, 2 * hi - pos, pos))
        vel[:] = np.where(low, np.abs(vel), np.where(high, -np.abs(vel), vel))
        for c in self.obstacle_pos:
            d = pos - c
            dist = np.linalg.norm(d, axis=1)
            reach = self.obstacle_radius + self._radius
            hit = dist < reach
            if hit.any():
                n = d[hit] / np.maximum(dist[hit], 1e-12)[:, None]  # contact normal
                pos[hit] = c + n * reach[hit, None]  # back onto the surface
                vn = np.minimum((vel[hit] * n).sum(1), 0.0)  # inward normal speed
                vel[hit] -= 2.0 * vn[:, None] * n  # elastic: v - 2 (v.n) n
        np.clip(pos, lo, hi, out=pos)

    def _contacts(self) -> np.ndarray:
        """Food caught, food touched and poison touched: each pursuer's reward; respawns."""
        p, e, k = (self.pos[s] for s in self._slices)
        rp, re, rk = self._kind_radius
        touch = np.linalg.norm(p[:, None] - e[None], axis=-1) < rp + re  # (P, E)
        caught = touch.sum(0) >= self.n_coop  # (E,)
        eaten, touched = (touch & caught).sum(1), touch.sum(1)
        sick = np.linalg.norm(p[:, None] - k[None], axis=-1) < rp + rk  # (P, K)
        poisoned = sick.sum(1)
        self._flags = np.stack([touched > 0, poisoned > 0], axis=1).astype(np.float64)
        self._spawn(np.concatenate([self._slices[EVADER].start + np.flatnonzero(caught),
                                    self._slices[POISON].start + np.flatnonzero(sick.any(0))]))
        return (self.food_reward * eaten + self.encounter_reward * touched
                + self.poison_reward * poisoned)

    def _spawn(self, rows: np.ndarray) -> None:
        """Random positions inside the walls, clear of obstacles (v4: centre farther than
        2 r + obstacle_radius), and random velocities in [-max_speed, max_speed]^2."""
        if not len(rows):
            return
        r = self._radius[rows][:, None]
        pos = self.np_random.uniform(r, 1.0 - r, (len(rows), 2))
        for _ in range(1000):
            d = np.linalg.norm(pos[:, None] - self.obstacle_pos[None], axis=-1)
            bad = (d <= 2 * r + self.obstacle_radius).any(1)
            if not bad.any():
                break
            pos[bad] = self.np_random.uniform(r[bad], 1.0 - r[bad], (int(bad.sum()), 2))
        else:
            raise RuntimeError("no free spawn position: the obstacles cover the square; "
                               "lower obstacle_radius or n_obstacles")
        s = self._max_speed[rows][:, None]
        self.pos[rows] = pos
        self.vel[rows] = self.np_random.uniform(-s, s, (len(rows), 2))

    # ------------------------------------------------------------------ views
    def observations(self) -> dict[str, np.ndarray]:
        """Every pursuer's observation of the objects where they are now (as ``step``
        returns it; the contact flags are those of the last step)."""
        ps = self._slices[PURSUER]
        x, v, rays, rng = self.pos[ps], self.vel[ps], self._rays, self.sensor_range
        targets = np.concatenate([self.obstacle_pos, self.pos])  # (T, 2)
        target_v = np.concatenate([np.zeros_like(self.obstacle_pos), self.vel])
        rel = targets[None] - x[:, None]  # (P, T, 2)
        ahead = rel @ rays.T  # (P, T, n_sensors): centre's projection on each ray
        miss2 = (rel**2).sum(-1)[..., None] - ahead**2  # squared distance, centre to ray
        rad = self._target_radius[None, :, None]
        sensed = (ahead >= 0) & (ahead - rad <= rng) & (miss2 <= rad**2)
        sensed[:, self._blocks[3]] &= ~self._self  # a pursuer does not sense itself
        dist = np.where(sensed, np.minimum(ahead / rng, 1.0), _NOTHING)
        speed = ((target_v[None] - v[:, None]) @ rays.T) / self._speed_norm[None, :, None]

        # Barrier: the first wall each ray crosses, as a fraction of its length.
        t = np.where(self._clips, (self._edge - x[:, None]) * self._inv, np.inf).min(-1)
        barrier = np.where(t < 1.0 - 1e-4, np.clip(t, 0.0, 1.0), 1.0)
        parts = [self._nearest(dist, speed, self._blocks[0])[0], barrier]
        for block in self._blocks[1:]:
            d, s = self._nearest(dist, speed, block)
            parts += [d, s] if self.speed_features else [d]
        obs = np.concatenate([*parts, self._flags], axis=1)
        obs = np.clip(obs, -_BOUND, _BOUND).astype(np.float32)
        return dict(zip(self.possible_agents, obs))

    def _nearest(self, dist: np.ndarray, speed: np.ndarray,
                 block: slice) -> tuple[np.ndarray, np.ndarray]:
        """Per ray, the distance (1: nothing) and speed (0: nothing) of the nearest
        sensed target in ``block``: two (P, n_sensors) arrays."""
        d, s = dist[:, block], speed[:, block]
        if d.shape[1] == 0:
            return np.ones(d.shape[::2]), np.zeros(d.shape[::2])
        i = d.argmin(1)[:, None]
        d, s = np.take_along_axis(d, i, 1)[:, 0], np.take_along_axis(s, i, 1)[:, 0]
        return np.minimum(d, 1.0), np.where(d <= 1.0, s, 0.0)

    def state(self) -> np.ndarray:
        """Global state: obstacle centres, every object's position (pursuers, food,
        poison), then their velocities divided by their kind's max speed."""
        v = self.vel / np.maximum(self._max_speed, 1e-12)[:, None]
        flat = np.concatenate([self.obstacle_pos.ravel(), self.pos.ravel(), v.ravel()])
        return np.clip(flat, -_BOUND, _BOUND).astype(np.float32)

    def close(self) -> None:
        pass


def _check_int(name: str, value: Any, low: int, high: int | None = None) -> None:
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not ok or value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be an integer {bound}, got {value!r}")


def parallel_env(**kwargs: Any) -> Waterworld:
    """The native parallel env; kwargs as ``Waterworld``."""
    return Waterworld(**kwargs)


def env(**kwargs: Any) -> AECEnv:
    """The AEC version (``parallel_to_aec``); kwargs as ``Waterworld``."""
    return conversions.parallel_to_aec(parallel_env(**kwargs))
