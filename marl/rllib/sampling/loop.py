"""The lean sampler's loop: N envs, one batched forward per module per step.

``LeanLoop.collect`` is the hot path; it reads top to bottom:

    while not enough env steps (or episodes):
        group acting agents by module            (Python lists, no conversion)
        per module: stack obs -> forward -> sample actions -> numpy, once
                    (Box: unsquashed/clipped for the env; the batch keeps the sample)
        per env: env.step(actions); append obs/reward/info to each agent's Traj
        finished env: close its chunk, reset, new episode id
    cut ongoing episodes; build MultiAgentEpisode chunks in bulk (lean_batch)

The runner owns the module and config; the loop reaches them through ``Actor`` (forward,
mapping fn, weights seq no), so the loop holds no RLlib state of its own.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import gymnasium as gym
import numpy as np
from ray.rllib.core.columns import Columns
from ray.rllib.env.multi_agent_episode import MultiAgentEpisode

from marl.rllib.sampling.episodes import Chunk, ModuleRows, Traj, build_episode, new_episode_id, stack_obs

__all__ = ["Actor", "Batch", "DoneEpisode", "EnvSlot", "LeanLoop"]


class Actor(Protocol):
    """What the loop needs from its env runner."""

    def act(self, module_id: str, obs: Any, explore: bool) -> dict[str, np.ndarray]:
        """One batched forward + action sampling: numpy columns, ``actions`` included."""

    def actions_for_env(self, actions: np.ndarray, space: Any) -> np.ndarray:
        """A module's Box actions (rows) as the env takes them (bounds, clipping)."""

    def mapping_fn(self) -> Any:
        """The current agent -> module mapping fn (``fn(agent_id, episode)``)."""

    def weights_seq_no(self) -> int: ...


@dataclass
class DoneEpisode:
    """A finished episode: its last chunk, earlier chunks, totals for the metrics."""

    episode: Any
    env_index: int
    prev_chunks: list[Any]
    length: int
    agent_returns: dict[str, float]
    module_returns: dict[str, float]
    agent_steps: dict[str, int]
    duration_s: float


@dataclass
class Batch:
    """One ``sample()`` call's output."""

    episodes: list[Any] = field(default_factory=list)
    done: list[DoneEpisode] = field(default_factory=list)
    env_steps: int = 0
    agent_steps: Counter = field(default_factory=Counter)
    module_steps: Counter = field(default_factory=Counter)


class EnvSlot:
    """One env and its current episode."""

    __slots__ = ("env", "index", "episode_id", "shell", "modules", "trajs", "to_act", "env_t",
                 "chunk_t0", "chunk_time", "start_time", "prev_chunks", "returns",
                 "agent_steps")

    def __init__(self, env: Any, index: int):
        self.env, self.index = env, index

    def start(self, obs: dict[str, Any], infos: dict[str, Any], actor: Actor,
              spaces: tuple[dict, dict]) -> None:
        self.episode_id = new_episode_id()
        # The mapping fn is called with an episode object carrying this id (league
        # mappings hash it), once per agent, as MultiAgentEpisode.module_for does. Spaces:
        # agent -> space dicts, as in episodes.build_episode (RLlib annotates one Space).
        self.shell = MultiAgentEpisode(id_=self.episode_id,
                                       observation_space=cast(gym.Space, spaces[0]),
                                       action_space=cast(gym.Space, spaces[1]),
                                       agent_to_module_mapping_fn=actor.mapping_fn())
        self.modules: dict[str, str] = {}
        self.trajs: dict[str, Traj] = {}
        self.env_t = self.chunk_t0 = 0
        self.start_time = self.chunk_time = time.perf_counter()
        self.prev_chunks: list[Any] = []
        self.returns: dict[str, float] = {}
        self.agent_steps: Counter = Counter()
        for agent, o in obs.items():
            self._traj(agent).observe(o, 0.0, infos.get(agent) or {}, 0)
        self.to_act = dict(obs)

    def _traj(self, agent: str) -> Traj:
        tr = self.trajs.get(agent)
        if tr is None:
            module = self.shell.module_for(agent)  # Optional in RLlib's annotation only
            assert module is not None, f"the mapping fn maps {agent!r} to a module"
            self.modules[agent] = module
            tr = self.trajs[agent] = Traj(agent, module, new_episode_id())
        return tr

    def record(self, obs: dict, rew: dict, term: dict, trunc: dict, infos: dict) -> bool:
        """Store one env step; returns whether the episode is over."""
        self.env_t += 1
        t = self.env_t
        to_act = {}
        for agent, o in obs.items():
            tr = self._traj(agent)
            tr.observe(o, rew.get(agent, 0.0), infos.get(agent) or {}, t)
            if term.get(agent) or trunc.get(agent):
                tr.terminated, tr.truncated = bool(term.get(agent)), bool(trunc.get(agent))
            else:
                to_act[agent] = o
        if len(rew) > len(obs):  # a reward without an observation: held for the action
            for agent in rew.keys() - obs.keys():
                self._traj(agent).pending_reward += rew[agent]
        self.to_act = to_act
        self.agent_steps.update(obs.keys())
        return bool(term.get("__all__") or trunc.get("__all__"))

    def finish(self, term: dict, trunc: dict) -> Chunk:
        """The episode's last chunk; every agent's trajectory closed.

        Flags as RLlib 2.58's ``MultiAgentEpisode.add_env_step`` sets them: once every
        agent is done the episode counts as terminated, also at a time limit (so GAE
        does not bootstrap there), and each agent finishing now inherits that."""
        truncated = bool(trunc.get("__all__"))
        for tr in self.trajs.values():
            tr.close(self.env_t)
            if not tr.done or tr.obs_t[-1] == self.env_t:
                tr.terminated = True
                tr.truncated = tr.truncated or truncated
        return self._chunk(True, truncated)

    def cut(self) -> Chunk:
        """Close the current chunk of the ongoing episode; continue in a new one.

        Unfinished agents continue from their last observation (with a pending action,
        in turn-based games); agents without a complete step continue unchanged."""
        chunk = self._chunk(False, False)
        self.trajs = {a: tr.successor() if len(tr.obs) > 1 else tr
                      for a, tr in self.trajs.items() if not tr.done}
        self.chunk_t0, self.chunk_time = self.env_t, time.perf_counter()
        return chunk

    def _chunk(self, terminated: bool, truncated: bool) -> Chunk:
        trajs = list(self.trajs.values())
        for tr in trajs:
            n = len(tr.obs) - 1
            if n > 0:
                self.returns[tr.agent] = self.returns.get(tr.agent, 0.0) + sum(tr.rewards[:n])
        return Chunk(self.episode_id, dict(self.modules), trajs, self.chunk_t0, self.env_t,
                     terminated, truncated, self.chunk_time)

    def totals(self) -> DoneEpisode:
        module_returns: dict[str, float] = {}
        for agent, ret in self.returns.items():
            module = self.modules[agent]
            module_returns[module] = module_returns.get(module, 0.0) + ret
        return DoneEpisode(None, self.index, self.prev_chunks, self.env_t, dict(self.returns),
                           module_returns, dict(self.agent_steps),
                           time.perf_counter() - self.start_time)


class LeanLoop:
    """Steps ``envs`` (our RLlib ``MultiAgentEnv`` adapters) with batched forwards.

    Args:
        envs: the runner's sub-envs.
        seed: seed of the first reset (env i gets ``seed + i``, as RLlib's vector env).
        spaces: (agent -> obs space, agent -> action space) for the episodes.
    """

    def __init__(self, envs: list[Any], seed: int | None, spaces: tuple[dict, dict]):
        self.slots = [EnvSlot(env, i) for i, env in enumerate(envs)]
        self.seed = seed
        self.spaces = spaces
        self.needs_seeded_reset = True
        self.started = False
        self.store: dict[str, ModuleRows] = {}  # forward outputs of the current call

    def _reset_all(self, actor: Actor) -> None:
        seed = self.seed if self.needs_seeded_reset else None
        for i, slot in enumerate(self.slots):
            obs, infos = slot.env.reset(seed=None if seed is None else seed + i)
            slot.start(obs, infos or {}, actor, self.spaces)
        self.store = {}
        self.started = True

    def collect(self, actor: Actor, num_timesteps: int | None, num_episodes: int | None,
                explore: bool, force_reset: bool = False) -> Batch:
        """Sample ``num_timesteps`` env steps (episodes cut and continued next call) or
        ``num_episodes`` whole episodes (fresh envs, as RLlib)."""
        if force_reset or num_episodes is not None or not self.started:
            self._reset_all(actor)
            # As RLlib: seed on the first reset, and again after every episode sampling.
            self.needs_seeded_reset = num_episodes is not None
        store, batch = self.store, Batch()
        finished: list[tuple[Chunk, DoneEpisode]] = []
        slots, act_spaces = self.slots, self.spaces[1]
        by_steps = num_timesteps is not None
        target = num_timesteps if num_timesteps is not None else num_episodes
        assert target is not None, "the runner asks for env steps or episodes"
        while (batch.env_steps if by_steps else len(finished)) < target:
            # 1. Group the agents that act by module.
            groups: dict[str, tuple[list[EnvSlot], list[str], list[Any]]] = {}
            for slot in slots:
                modules = slot.modules
                for agent, o in slot.to_act.items():
                    g = groups.get(modules[agent])
                    if g is None:
                        g = groups[modules[agent]] = ([], [], [])
                    g[0].append(slot)
                    g[1].append(agent)
                    g[2].append(o)
            # 2. One forward per module; outputs stay in their arrays, agents keep rows.
            actions: dict[int, dict[str, Any]] = {id(s): {} for s in slots}
            for module, (g_slots, agents, g_obs) in groups.items():
                out = actor.act(module, stack_obs(g_obs), explore)
                rows = store.get(module)
                if rows is None:
                    rows = store[module] = ModuleRows()
                first = rows.add(out, len(g_obs))
                acts = out[Columns.ACTIONS]  # kept in the batch as sampled
                space = act_spaces[agents[0]]  # a module's agents share their spaces
                if isinstance(space, gym.spaces.Box):
                    acts = actor.actions_for_env(acts, space)
                for k, slot in enumerate(g_slots):
                    actions[id(slot)][agents[k]] = acts[k]
                    slot.trajs[agents[k]].rows.append(first + k)
            # 3. Step every env; a finished one is reset at once.
            for slot in slots:
                obs, rew, term, trunc, infos = slot.env.step(actions[id(slot)])
                batch.env_steps += 1
                done = slot.record(obs, rew, term, trunc, infos or {})
                batch.agent_steps.update(obs.keys())
                batch.module_steps.update([slot.modules[a] for a in obs])
                if done:
                    finished.append((slot.finish(term, trunc), slot.totals()))
                    new_obs, new_infos = slot.env.reset()
                    slot.start(new_obs, new_infos or {}, actor, self.spaces)
        self._build(actor, batch, finished, cut=by_steps)
        return batch

    def _build(self, actor: Actor, batch: Batch, finished: list[tuple[Chunk, DoneEpisode]],
               cut: bool) -> None:
        """Episodes of finished and (when cutting) ongoing chunks, built in bulk."""
        seq_no, fn, spaces, store = actor.weights_seq_no(), actor.mapping_fn(), self.spaces, \
            self.store
        for chunk, totals in finished:
            totals.episode = build_episode(chunk, store, seq_no, fn, spaces)
            batch.episodes.append(totals.episode)
            batch.done.append(totals)
        if not cut:
            self.store = {}
            return
        for slot in self.slots:
            if slot.env_t == slot.chunk_t0:
                continue  # no step since the last cut or reset
            ep = build_episode(slot.cut(), store, seq_no, fn, spaces)
            batch.episodes.append(ep)
            slot.prev_chunks.append(ep)
        # The next call's store starts with the rows of actions still pending.
        carry: dict[str, ModuleRows] = {}
        for slot in self.slots:
            for tr in slot.trajs.values():
                if tr.rows:
                    old = tr.rows[-1]
                    merged = store[tr.module].merge()
                    tr.rows = [carry.setdefault(tr.module, ModuleRows()).add(
                        {k: v[old:old + 1] for k, v in merged.items()}, 1)]
        self.store = carry
