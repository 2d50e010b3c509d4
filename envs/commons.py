"""
# Commons Harvest

A mixed-motive gridworld common-pool resource game (a sequential social dilemma),
after Perolat et al. 2017, "A multi-agent reinforcement learning model of common-pool
resource appropriation", and DeepMind Melting Pot's `commons_harvest`.

| Import             | `from envs.commons import parallel_env, env`               |
|--------------------|------------------------------------------------------------|
| Actions            | Discrete                                                   |
| Parallel API       | Yes (native); AEC through `parallel_to_aec`                |
| Manual Control     | No                                                         |
| Agents             | `agents = ['player_0', ..., 'player_{N-1}']`, N in [2, 10]  |
| Action Shape       | ()                                                         |
| Action Values      | Discrete(8)                                                |
| Observation Shape  | (V*V*3 + 1,) = (148,) for the default V = 7                |
| Observation Values | [0, 1], float32                                            |
| State Shape        | (H*W*(2+N) + 5N + 1,) = (3050,) for the default map, N = 5 |
| State Values       | [0, 1], float32                                            |

Agents walk a walled grid and eat apples (+1 each). An apple regrows only next to
other apples, so a patch harvested to the last apple is gone for good: the greedy
policy ruins the commons. Agents can also fire a tagging beam that removes the first
agent in front of them from the map for `tag_duration` steps: a way to guard a patch.

### Map

A list of equal-length strings: `#` wall, `A` apple (also an apple cell), `a` apple
cell that starts empty, `.` floor, `P` spawn point (floor). Apples only ever grow on
apple cells. The default map is 18 x 24 with six patches and ten spawn points.

### Observation Space

An egocentric window of V x V cells (`view_size`, odd), rotated so that the agent
faces up: it sees `V - 2` rows ahead, 1 row behind and `V // 2` columns to each side.
The agent sits at row `V - 2`, column `V // 2`. Each cell has 3 channels
`(wall, apple, other agent)`; cells outside the map read as wall. The window is
flattened row-major, channel last: index `(row * V + col) * 3 + channel`. The last
element is the remaining tag time `timer / tag_duration` (0 while on the map).
While tagged out, every other element is 0.

### Action Space

| Value | Action       | Value | Action      |
|-------|--------------|-------|-------------|
| 0     | noop         | 4     | strafe right|
| 1     | forward      | 5     | turn left   |
| 2     | backward     | 6     | turn right  |
| 3     | strafe left  | 7     | fire beam   |

Moves into walls or occupied cells fail. Moves resolve one agent at a time in a
random order, so of two agents entering one cell only the first gets it. Beams fire
after all moves, simultaneously: each hits the first agent within `beam_length` cells
straight ahead, stopped by walls. A tagged agent's actions are ignored; after
`tag_duration` steps it respawns on a free spawn point with a random orientation.

### Rewards

+1 per apple eaten (by stepping onto it), minus `beam_cost` per beam fired.

### Regrowth

Each step, an empty apple cell with no agent on it grows an apple with probability
`regrowth_probs[min(k, len - 1)]`, where k is the number of apples within L2 distance
2 (the 12 cells of the radius-2 disk). The default `(0, .01, .01, .05, .05, .1)` is
Perolat's: 0 for k = 0, 0.01 for k in 1-2, 0.05 for 3-4, 0.1 for k >= 5.
`regrowth_probs[0]` must be 0, so a depleted patch never regrows.

### Arguments

`map`, `num_agents=5`, `max_cycles=1000`, `view_size=7`, `tag_duration=25`,
`beam_length=5`, `beam_cost=0.0`, `regrowth_probs`, `render_mode=None`.
`reset(options=...)` accepts `agent_positions` (list of (row, col)) and
`agent_orientations` (list of 0=N, 1=E, 2=S, 3=W) to place agents by hand.

### Costs

`last_taggers`: indices of the agents whose beam tagged another agent in the last
step; the `tagging` cost of `envs.wrappers.costs` (1 per such step) reads it.

### Social outcome metrics

`episode_stats()` and `infos[agent]["social"]` on the final step: `efficiency`,
`equality`, `sustainability`, `peace`, `apples_left` (see `envs.social_metrics`).

### Version History

* v0: Initial version.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces
from gymnasium.logger import warn
from gymnasium.utils import EzPickle, seeding
from pettingzoo import AECEnv, ParallelEnv
from pettingzoo.utils import conversions

from envs import social_metrics

__all__ = ["DEFAULT_MAP", "PEROLAT_REGROWTH", "CommonsHarvest", "env", "parallel_env"]

DEFAULT_MAP: tuple[str, ...] = (
    "########################",
    "#P.........P..........P#",
    "#..A..............A....#",
    "#.AAA............AAA...#",
    "#..A.....AAA......A....#",
    "#.......AAAAA..........#",
    "#P.......AAA..........P#",
    "#.........A............#",
    "#..........P...........#",
    "#...A..........A.......#",
    "#..AAA...P....AAA....P.#",
    "#...A..........A.......#",
    "#......................#",
    "#P.........A...........#",
    "#.........AAA..........#",
    "#..A.....AAAAA.....A...#",
    "#.AAA.....AAA.....AAA.P#",
    "########################",
)
PEROLAT_REGROWTH = (0.0, 0.01, 0.01, 0.05, 0.05, 0.1)

NOOP, FORWARD, BACKWARD, LEFT, RIGHT, TURN_LEFT, TURN_RIGHT, FIRE = range(8)
WALL, APPLE, AGENT = range(3)  # grid channels
_DIRS = np.array([[-1, 0], [0, 1], [1, 0], [0, -1]])  # N, E, S, W as (drow, dcol)
_TURN = np.array([0, 0, 0, 0, 0, -1, 1, 0])
# Move direction of each action relative to the facing o: forward o, backward o+2,
# strafe left o+3, strafe right o+1 (clockwise quarter turns); None: no move.
_MOVE_ROT = (None, 0, 2, 3, 1, None, None, None)
_DISK2 = [(dr, dc) for dr in range(-2, 3) for dc in range(-2, 3) if 0 < dr * dr + dc * dc <= 4]
_NONE = np.zeros(0, np.int64)  # no agents / no cells
_CELL_PX = 8
# Pixel rows y0:y1 and columns x0:x1, within a cell, of the 2-px bar on the N/E/S/W edge.
_FACING_BAR = ((0, 2, 0, 8), (0, 8, 6, 8), (6, 8, 0, 8), (0, 8, 0, 2))
_COLORS = {
    "floor": (24, 24, 24),
    "wall": (110, 110, 110),
    "apple": (60, 200, 60),
    "beam": (220, 220, 90),
}
_AGENT_COLORS = np.array(
    [
        (230, 60, 60),
        (60, 120, 240),
        (240, 160, 30),
        (180, 70, 220),
        (40, 200, 200),
        (240, 110, 180),
        (150, 110, 60),
        (250, 250, 250),
        (120, 160, 40),
        (90, 90, 200),
    ],
    dtype=np.uint8,
)


class CommonsHarvest(ParallelEnv, EzPickle):
    """Commons harvest: N agents, apples that regrow only near apples, a tagging beam.

    See the module docstring for spaces, rewards and parameters.
    """

    metadata: ClassVar[dict[str, Any]] = {
        "name": "commons_harvest_v0",
        "render_modes": ["rgb_array"],
        "is_parallelizable": True,
        "render_fps": 8,
    }

    def __init__(
        self,
        map: Sequence[str] = DEFAULT_MAP,  # the documented name; shadows the builtin here only
        num_agents: int = 5,
        max_cycles: int = 1000,
        view_size: int = 7,
        tag_duration: int = 25,
        beam_length: int = 5,
        beam_cost: float = 0.0,
        regrowth_probs: Sequence[float] = PEROLAT_REGROWTH,
        render_mode: str | None = None,
    ) -> None:
        EzPickle.__init__(
            self,
            map=map,
            num_agents=num_agents,
            max_cycles=max_cycles,
            view_size=view_size,
            tag_duration=tag_duration,
            beam_length=beam_length,
            beam_cost=beam_cost,
            regrowth_probs=regrowth_probs,
            render_mode=render_mode,
        )
        rows = _check_map(map)
        _check_int("num_agents", num_agents, 2, 10)
        _check_int("max_cycles", max_cycles, 1)
        _check_int("view_size", view_size, 3)
        if view_size % 2 == 0:
            raise ValueError(
                f"view_size must be odd (the agent sits in the middle column), got {view_size}"
            )
        _check_int("tag_duration", tag_duration, 1)
        _check_int("beam_length", beam_length, 1)
        if beam_cost < 0:
            raise ValueError(f"beam_cost must be >= 0, got {beam_cost}")
        probs = np.asarray(regrowth_probs, dtype=np.float64)
        in_unit = np.all((probs >= 0) & (probs <= 1))
        if probs.ndim != 1 or probs.size < 2 or probs[0] != 0 or not in_unit:
            raise ValueError(
                "regrowth_probs must be >= 2 probabilities in [0, 1] with "
                "regrowth_probs[0] == 0 (no regrowth without apples), "
                f"got {regrowth_probs}"
            )
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None")

        self._n, self.max_cycles, self.view_size = num_agents, max_cycles, view_size
        self.tag_duration, self.beam_length, self.beam_cost = tag_duration, beam_length, beam_cost
        self.last_taggers = _NONE  # agent indices whose beam tagged someone last step
        self.render_mode = render_mode
        self._probs = probs
        chars = np.array([list(r) for r in rows])
        self._h, self._w = chars.shape
        spawn_rc = np.argwhere(chars == "P")
        if len(spawn_rc) < num_agents:
            raise ValueError(
                f"the map has {len(spawn_rc)} spawn points ('P') but num_agents="
                f"{num_agents}; add spawn points or lower num_agents"
            )

        # The grid is padded by p wall cells so windows, beams and the radius-2 disk
        # never index outside it; cells are addressed by flat padded index
        # cell = (row + p) * Wp + (col + p).
        self._p = p = max(view_size - 2, beam_length, 2)
        self._wp = wp = self._w + 2 * p
        self._hp = self._h + 2 * p
        self._wall0 = np.ones((self._hp, wp), np.float32)
        self._wall0[p : p + self._h, p : p + self._w] = chars == "#"
        self._apple_cells = self._flat(np.argwhere((chars == "A") | (chars == "a")))
        self._apple0 = self._flat(np.argwhere(chars == "A"))
        self._spawns = self._flat(spawn_rc)
        dflat = _DIRS[:, 0] * wp + _DIRS[:, 1]  # flat offset of one step N, E, S, W
        # _beam_off[o]: flat offsets of the beam cells 1..L ahead when facing o.
        self._beam_off = np.arange(1, beam_length + 1)[None, :] * dflat[:, None]
        self._wall_flat = self._wall0.ravel() > 0  # walls never change
        # _move[o, a]: flat offset of action a when facing o (0 for non-moves).
        self._move = np.array(
            [[0 if r is None else dflat[(o + r) % 4] for r in _MOVE_ROT] for o in range(4)]
        )
        self._disk = np.array([dr * wp + dc for dr, dc in _DISK2])
        # _view[o]: (V, V) flat offsets of the egocentric window facing o; window row i
        # is (V - 2 - i) cells ahead, column j is (j - V // 2) cells to the right.
        ahead = (view_size - 2 - np.arange(view_size))[:, None]
        right = (np.arange(view_size) - view_size // 2)[None, :]
        view = [ahead * dflat[o] + right * dflat[(o + 1) % 4] for o in range(4)]
        self._view = np.stack(view).reshape(4, -1)  # (4, V*V)
        # Flat obs index of the agent's own cell in the agent channel.
        self._self_k = ((view_size - 2) * view_size + view_size // 2) * 3 + AGENT

        self.possible_agents = [f"player_{i}" for i in range(num_agents)]
        self.agents: list[str] = []
        obs_dim = view_size * view_size * 3 + 1
        self.observation_spaces = {
            a: spaces.Box(0.0, 1.0, (obs_dim,), np.float32) for a in self.possible_agents
        }
        self.action_spaces: dict[str, spaces.Discrete] = {
            a: spaces.Discrete(8) for a in self.possible_agents}
        state_dim = self._h * self._w * (2 + num_agents) + 5 * num_agents + 1
        self.state_space = spaces.Box(0.0, 1.0, (state_dim,), np.float32)
        self.np_random, _ = seeding.np_random(None)
        self._t = 0

    def observation_space(self, agent: str) -> spaces.Box:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Discrete:
        return self.action_spaces[agent]

    # ------------------------------------------------------------------ episode loop
    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None):
        """Start an episode; see the module docstring for ``options``."""
        if seed is not None:
            self.np_random, _ = seeding.np_random(seed)
        n, rng = self._n, self.np_random
        self._grid = np.zeros((self._hp, self._wp, 3), np.float32)  # (wall, apple, agent)
        self._grid[:, :, WALL] = self._wall0
        self._cells = self._grid.reshape(-1, 3)  # (Hp * Wp, 3) view
        self._cells[self._apple0, APPLE] = 1.0
        self._occ = np.full(self._hp * self._wp, -1, np.int64)  # agent index or -1
        opts = options or {}
        if "agent_positions" in opts:
            self._pos = self._placed_positions(opts["agent_positions"])
        else:
            self._pos = rng.choice(self._spawns, size=n, replace=False)
        orient = opts.get("agent_orientations")
        self._orient = (
            np.array(orient, np.int64) % 4 if orient is not None else rng.integers(0, 4, n)
        )
        if self._orient.shape != (n,):
            raise ValueError(f"agent_orientations needs {n} entries, got {orient}")
        self._occ[self._pos] = np.arange(n)
        self._cells[self._pos, AGENT] = 1.0
        self._timer = np.zeros(n, np.int64)  # steps left tagged out; 0 = on the map
        self._n_out = 0  # agents tagged out (timer > 0)
        self._t = 0
        self._returns = np.zeros(n)
        self._apples = np.zeros(n)
        self._harvest_times: list[int] = []
        self._tagged_steps = 0
        self._beam = _NONE
        self.last_taggers = _NONE
        self.agents = self.possible_agents[:]
        return self._observations(), {a: {} for a in self.agents}

    def step(self, actions: dict[str, int]):
        """Advance one step: turns, moves (random order), beams, respawns, regrowth."""
        if not self.agents:
            raise RuntimeError("step() called on a finished episode; call reset()")
        n, rng = self._n, self.np_random
        self._t += 1
        act = np.array([actions.get(a, NOOP) for a in self.possible_agents], np.int64)
        out = np.flatnonzero(self._timer) if self._n_out else _NONE  # out at step start
        self._tagged_steps += out.size
        act[out] = NOOP  # a tagged agent's actions are ignored
        self._orient = (self._orient + _TURN[act]) & 3  # mod 4
        reward = np.zeros(n)

        delta = self._move[self._orient, act]
        movers = np.flatnonzero(delta)
        if movers.size:
            order = movers[rng.permutation(movers.size)] if movers.size > 1 else movers
            self._move_agents(order, delta, reward)

        firing = np.flatnonzero(act == FIRE)
        self._beam = _NONE
        self.last_taggers = _NONE  # who tagged someone this step (envs.wrappers.costs)
        victims = self._fire(firing) if firing.size else _NONE
        reward[firing] -= self.beam_cost

        # Timers count down only for agents already out at the start of this step, so
        # a tag lasts exactly tag_duration steps of ignored actions.
        if out.size:
            self._timer[out] -= 1
        if victims.size:
            self._remove(victims)
        if out.size:
            self._respawn(out[self._timer[out] == 0])
        self._regrow()

        self._returns += reward
        truncated = self._t >= self.max_cycles
        obs = self._observations()
        agents = self.possible_agents
        rewards = dict(zip(agents, reward.tolist()))
        terms = dict.fromkeys(agents, False)
        truncs = dict.fromkeys(agents, truncated)
        if truncated:
            stats = self.episode_stats()
            infos = {a: {"social": dict(stats)} for a in agents}
            self.agents = []
        else:
            infos = {a: {} for a in agents}
        return obs, rewards, terms, truncs, infos

    # ------------------------------------------------------------------ mechanics
    def _move_agents(self, order: np.ndarray, delta: np.ndarray, reward: np.ndarray) -> None:
        # Sequential in a random order: a handful of scalar updates per mover, in
        # plain Python ints (numpy scalars are slower for this).
        cells, occ, pos = self._cells, self._occ, self._pos
        for i, d in zip(order.tolist(), delta[order].tolist()):
            src = int(pos[i])
            dst = src + d
            if cells[dst, WALL] or occ[dst] >= 0:
                continue
            occ[src], occ[dst] = -1, i
            cells[src, AGENT], cells[dst, AGENT] = 0.0, 1.0
            pos[i] = dst
            if cells[dst, APPLE]:
                cells[dst, APPLE] = 0.0
                reward[i] += 1.0
                self._apples[i] += 1.0
                self._harvest_times.append(self._t)

    def _fire(self, firing: np.ndarray) -> np.ndarray:
        """Indices of agents hit by the beams of ``firing`` (all beams at once)."""
        ray = self._pos[firing, None] + self._beam_off[self._orient[firing]]  # (k, L) cells
        # A beam stops at the first wall: blocked = running OR of the wall flags.
        blocked = np.logical_or.accumulate(self._wall_flat.take(ray), axis=1)
        who = self._occ.take(ray)
        hit = (who >= 0) & ~blocked
        rows = np.arange(firing.size)
        first = hit.argmax(1)  # first agent along each beam (0 when none: check hit)
        landed = hit[rows, first]
        if self.render_mode is not None:  # cells drawn by render(): up to the hit or wall
            reach = np.where(landed, first, self.beam_length)[:, None]
            self._beam = ray[~blocked & (np.arange(self.beam_length) <= reach)]
        self.last_taggers = firing[landed]
        return who[rows, first][landed]  # may repeat an agent: removal is idempotent

    def _remove(self, victims: np.ndarray) -> None:
        self._timer[victims] = self.tag_duration
        self._n_out = int(np.count_nonzero(self._timer))
        cells = self._pos[victims]
        self._occ[cells] = -1
        self._cells[cells, AGENT] = 0.0

    def _respawn(self, agents: np.ndarray) -> None:
        for i in agents.tolist():
            free = self._spawns[self._occ[self._spawns] < 0]
            if free.size == 0:  # every spawn point taken: try again next step
                self._timer[i] = 1
                continue
            cell = int(free[self.np_random.integers(free.size)])
            self._pos[i], self._orient[i] = cell, self.np_random.integers(4)
            self._occ[cell] = i
            self._cells[cell, AGENT] = 1.0
        self._n_out = int(np.count_nonzero(self._timer))

    def _regrow(self) -> None:
        # Candidates: empty apple cells without an agent on them.
        cells = self._cells
        cand = self._apple_cells[
            (cells[self._apple_cells, APPLE] == 0) & (cells[self._apple_cells, AGENT] == 0)
        ]
        if cand.size == 0:
            return
        # k = convolution of the apple layer with the radius-2 disk (12 neighbours),
        # evaluated at every candidate in one gather: k_c = sum_{d in disk} apple[c + d].
        k = cells[cand[:, None] + self._disk, APPLE].sum(1).astype(np.int64)
        p = self._probs[np.minimum(k, self._probs.size - 1)]
        grow = self.np_random.random(cand.size) < p
        cells[cand[grow], APPLE] = 1.0

    def _observations(self) -> dict[str, np.ndarray]:
        n = self._n
        idx = self._pos[:, None] + self._view[self._orient]  # (n, V*V) flat cells
        # One gather for every agent: (n*V*V, 3) rows, row-major window, channel last.
        win = self._cells.take(idx.ravel(), axis=0).reshape(n, -1)
        obs = np.empty((n, win.shape[1] + 1), np.float32)
        obs[:, :-1] = win
        obs[:, self._self_k] = 0.0  # the agent channel shows others only
        if self._n_out:
            obs[:, -1] = self._timer / self.tag_duration
            obs[self._timer > 0, :-1] = 0.0
        else:
            obs[:, -1] = 0.0
        return dict(zip(self.possible_agents, obs))

    # ------------------------------------------------------------------ views
    def state(self) -> np.ndarray:
        """Global state: (wall, apple, agent_0..agent_{N-1}) planes, then per agent a
        one-hot orientation (4) and tag timer fraction (1), then t / max_cycles."""
        p, h, w, n = self._p, self._h, self._w, self._n
        planes = np.zeros((h, w, 2 + n), np.float32)
        planes[:, :, :2] = self._grid[p : p + h, p : p + w, :2]
        on = np.flatnonzero(self._timer == 0)
        r, c = np.divmod(self._pos[on], self._wp)
        planes[r - p, c - p, 2 + on] = 1.0
        extra = np.zeros((n, 5), np.float32)
        extra[np.arange(n), self._orient] = 1.0
        extra[:, 4] = self._timer / self.tag_duration
        t = np.float32(min(self._t / self.max_cycles, 1.0))
        return np.concatenate([planes.ravel(), extra.ravel(), [t]]).astype(np.float32)

    def episode_stats(self) -> dict[str, float]:
        """Social outcome metrics of the episode so far (Perolat et al. 2017).

        ``efficiency`` uses the returns (apples minus beam costs); ``equality`` the
        apples per agent (equal to the returns when ``beam_cost == 0``), as Gini needs
        non-negative values; ``peace`` counts untagged agent-steps.
        """
        t = max(self._t, 1)
        return {
            "efficiency": social_metrics.efficiency(self._returns.tolist(), t),
            "equality": social_metrics.equality(self._apples.tolist()),
            "sustainability": social_metrics.sustainability(self._harvest_times),
            "peace": social_metrics.peace(self._tagged_steps, self._n, self._t),
            "apples_left": float(self._cells[self._apple_cells, APPLE].sum()),
        }

    def render(self) -> np.ndarray | None:
        """An (H * 8, W * 8, 3) uint8 image: walls grey, apples green, beams yellow,
        agents coloured with a white bar on the side they face."""
        if self.render_mode is None:
            warn("render() called without render_mode; pass render_mode='rgb_array'")
            return None
        p, h, w = self._p, self._h, self._w
        g = self._grid[p : p + h, p : p + w]
        img = np.empty((h, w, 3), np.uint8)
        img[:] = _COLORS["floor"]
        img[g[:, :, WALL] > 0] = _COLORS["wall"]
        img[g[:, :, APPLE] > 0] = _COLORS["apple"]
        if self._beam.size:
            r, c = np.divmod(self._beam, self._wp)
            inside = (r >= p) & (r < p + h) & (c >= p) & (c < p + w)
            img[r[inside] - p, c[inside] - p] = _COLORS["beam"]
        on = np.flatnonzero(self._timer == 0)
        r, c = np.divmod(self._pos[on], self._wp)
        img[r - p, c - p] = _AGENT_COLORS[on]
        s = _CELL_PX
        big = np.repeat(np.repeat(img, s, axis=0), s, axis=1)
        for i, y, x in zip(on.tolist(), (r - p).tolist(), (c - p).tolist()):
            y0, y1, x0, x1 = _FACING_BAR[int(self._orient[i])]
            big[y * s + y0 : y * s + y1, x * s + x0 : x * s + x1] = 255
        return big

    def close(self) -> None:
        pass

    # ------------------------------------------------------------------ helpers
    def _flat(self, rc: np.ndarray) -> np.ndarray:
        rc = np.asarray(rc, np.int64).reshape(-1, 2)
        return (rc[:, 0] + self._p) * self._wp + rc[:, 1] + self._p

    def _placed_positions(self, positions: Sequence[Sequence[int]]) -> np.ndarray:
        rc = np.asarray(positions, np.int64).reshape(-1, 2)
        if len(rc) != self._n:
            raise ValueError(f"agent_positions needs {self._n} (row, col) pairs, got {len(rc)}")
        inside = (rc >= 0).all(1) & (rc[:, 0] < self._h) & (rc[:, 1] < self._w)
        cells = self._flat(rc)
        distinct = len(set(cells.tolist())) == len(cells)
        if not inside.all() or not distinct or self._wall0.ravel()[cells].any():
            raise ValueError(f"agent_positions must be distinct non-wall cells, got {positions}")
        self._cells[cells, APPLE] = 0.0  # an agent placed on an apple stands on bare ground
        return cells


def _check_map(rows: Sequence[str]) -> list[str]:
    rows = list(rows)
    if not rows or any(not isinstance(r, str) for r in rows):
        raise ValueError("map must be a non-empty list of strings")
    if len({len(r) for r in rows}) != 1 or not rows[0]:
        lengths = sorted({len(r) for r in rows})
        raise ValueError(f"map rows must all have the same non-zero length, got {lengths}")
    bad = set("".join(rows)) - set("#Aa.P")
    if bad:
        raise ValueError(f"map has unknown characters {sorted(bad)}; use '#', 'A', 'a', '.', 'P'")
    return rows


def _check_int(name: str, value: Any, low: int, high: int | None = None) -> None:
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not ok or value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be an integer {bound}, got {value!r}")


def parallel_env(**kwargs: Any) -> CommonsHarvest:
    """The native parallel env; kwargs as ``CommonsHarvest``."""
    return CommonsHarvest(**kwargs)


def env(**kwargs: Any) -> AECEnv:
    """The AEC version (``parallel_to_aec``); kwargs as ``CommonsHarvest``."""
    return conversions.parallel_to_aec(parallel_env(**kwargs))
