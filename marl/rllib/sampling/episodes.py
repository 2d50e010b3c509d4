"""Per-agent trajectories of the lean sampler and their conversion, once per batch, into
the ``MultiAgentEpisode`` chunks RLlib's learner connectors take.

While sampling, an agent's trajectory is a few Python lists: observations as the env
returned them, infos, the env step of each observation, rewards, and for each action
a row index into its module's forward outputs (which stay in the per-step arrays the
forward pass produced). Nothing is converted per step.

At the end of ``sample()`` each trajectory becomes one ``SingleAgentEpisode`` built from
whole numpy arrays (observations stacked, outputs gathered by row), and the agents of
an env's episode chunk are put into one ``MultiAgentEpisode`` whose bookkeeping
(``env_t_to_agent_t``, ``agent_t_started``, lengths) is filled in directly, as
``add_env_step`` would have left it.

A transition (o_k, a_k, r_k) is complete once the agent's next observation o_{k+1}
arrives (in a turn-based game: after the other players moved). A chunk holds the
complete transitions; a pending action carries over into the next chunk together with
the observation it was taken on, as RLlib's own ``cut()`` does.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any, cast

import gymnasium as gym
import numpy as np
from ray.rllib.core.columns import Columns
from ray.rllib.env.multi_agent_episode import MultiAgentEpisode
from ray.rllib.env.single_agent_episode import SingleAgentEpisode
from ray.rllib.env.utils.infinite_lookback_buffer import InfiniteLookbackBuffer
from ray.rllib.utils.metrics import WEIGHTS_SEQ_NO
from ray.rllib.utils.typing import AgentID, ModuleID

__all__ = ["Traj", "ModuleRows", "Chunk", "stack_obs", "build_episode"]

_SKIP = MultiAgentEpisode.SKIP_ENV_TS_TAG


def stack_obs(items: list[Any]) -> Any:
    """Stack observations: arrays, or one level of dict (masked ``{"observations",
    "action_mask"}``)."""
    first = items[0]
    if isinstance(first, dict):
        return {k: np.stack([o[k] for o in items]) for k in first}
    return np.stack(items)


class Traj:
    """One agent's data in the current chunk of one env's episode."""

    __slots__ = ("agent", "module", "sa_id", "obs", "infos", "obs_t", "rows", "rewards",
                 "pending_reward", "t_started", "terminated", "truncated")

    def __init__(self, agent: str, module: str, sa_id: str, t_started: int = 0):
        self.agent, self.module, self.sa_id = agent, module, sa_id
        self.obs: list[Any] = []
        self.infos: list[dict] = []
        self.obs_t: list[int] = []  # env step at which each observation arrived
        self.rows: list[int] = []  # per action: row in the module's forward outputs
        self.rewards: list[float] = []  # per complete transition
        self.pending_reward = 0.0  # reward for a pending action, without observation yet
        self.t_started = t_started  # agent step of obs[0]
        self.terminated = self.truncated = False

    @property
    def done(self) -> bool:
        return self.terminated or self.truncated

    @property
    def pending(self) -> bool:
        """An action was taken on the last observation; its outcome has not arrived."""
        return len(self.rows) == len(self.obs) > 0

    def observe(self, obs: Any, reward: float, info: dict, env_t: int) -> None:
        if self.pending:
            self.rewards.append(self.pending_reward + reward)
            self.pending_reward = 0.0
        # else: the agent's first observation; a reward before its first action belongs
        # to no transition (RLlib keeps it aside as well).
        self.obs.append(obs)
        self.infos.append(info)
        self.obs_t.append(env_t)

    def close(self, env_t: int) -> None:
        """Episode over without a final observation for a pending action: repeat the
        last one (RLlib does the same for agents that terminate unobserved)."""
        if self.pending:
            self.observe(self.obs[-1], 0.0, self.infos[-1], env_t)

    def successor(self) -> Traj:
        """The trajectory continuing after a cut: the last observation (and a pending
        action's row, re-indexed by the caller) start the next chunk."""
        n = len(self.obs) - 1
        nxt = Traj(self.agent, self.module, self.sa_id, self.t_started + n)
        nxt.obs, nxt.infos, nxt.obs_t = [self.obs[-1]], [self.infos[-1]], [self.obs_t[-1]]
        nxt.rows = [self.rows[-1]] if self.pending else []
        nxt.pending_reward = self.pending_reward
        return nxt


@dataclass
class ModuleRows:
    """A module's forward outputs of one ``sample()`` call, one array list per column."""

    columns: dict[str, list[np.ndarray]] = field(default_factory=dict)
    n: int = 0
    merged: dict[str, np.ndarray] | None = None

    def add(self, out: dict[str, np.ndarray], rows: int) -> int:
        """Append one forward pass; returns the row index of its first row."""
        first = self.n
        for key, value in out.items():
            self.columns.setdefault(key, []).append(value)
        self.n += rows
        return first

    def merge(self) -> dict[str, np.ndarray]:
        if self.merged is None:
            self.merged = {k: (v[0] if len(v) == 1 else np.concatenate(v))
                           for k, v in self.columns.items()}
        return self.merged


@dataclass
class Chunk:
    """What one env contributed to a batch: one episode's chunk."""

    episode_id: str
    modules: dict[str, str]  # agent -> module, fixed for the episode
    trajs: list[Traj]
    env_t_started: int
    env_t: int
    terminated: bool
    truncated: bool
    start_time: float


def _agent_episode(tr: Traj, n: int, rows: dict[str, np.ndarray], seq_no: int,
                   episode_id: str, spaces: tuple[dict, dict]) -> SingleAgentEpisode:
    idx = np.asarray(tr.rows[:n], dtype=np.int64)
    outputs = {k: v[idx] for k, v in rows.items() if k != Columns.ACTIONS}
    outputs[WEIGHTS_SEQ_NO] = np.full(n, seq_no, dtype=np.int64)
    # RLlib's annotations here are narrower than what it does: it passes the string ``id_``
    # of a MultiAgentEpisode as ``multi_agent_episode_id`` itself (annotated int), and hands
    # ``actions``/``rewards`` straight to ``InfiniteLookbackBuffer(data: List | ndarray)``
    # (annotated List).
    return SingleAgentEpisode(
        id_=tr.sa_id, agent_id=tr.agent, module_id=tr.module,
        multi_agent_episode_id=episode_id,  # type: ignore[arg-type]
        observations=stack_obs(tr.obs[: n + 1]), infos=tr.infos[: n + 1],
        actions=rows[Columns.ACTIONS][idx],  # type: ignore[arg-type]
        rewards=np.asarray(tr.rewards[:n], dtype=np.float64),  # type: ignore[arg-type]
        extra_model_outputs=outputs,
        observation_space=spaces[0].get(tr.agent), action_space=spaces[1].get(tr.agent),
        terminated=tr.terminated, truncated=tr.truncated,
        t_started=tr.t_started, len_lookback_buffer=0,
    )


def build_episode(chunk: Chunk, store: dict[str, ModuleRows], seq_no: int, mapping_fn: Any,
                  spaces: tuple[dict, dict]) -> MultiAgentEpisode:
    """The ``MultiAgentEpisode`` chunk for ``chunk``.

    Agents without a complete transition in the chunk are left out, as RLlib prunes
    zero-length agent episodes (a chunk may hold none: it still counts its env steps).
    """
    agent_module_ids: dict[AgentID, ModuleID] = {a: m for a, m in chunk.modules.items()}
    # RLlib annotates the spaces as one gym.Space but reads them as agent -> space mappings
    # (``observation_space.get(agent_id)``), and its own env runner passes plain dicts.
    ep = MultiAgentEpisode(
        id_=chunk.episode_id,
        observation_space=cast(gym.Space, spaces[0]), action_space=cast(gym.Space, spaces[1]),
        agent_module_ids=agent_module_ids, agent_to_module_mapping_fn=mapping_fn,
        env_t_started=chunk.env_t_started,
    )
    ep.env_t = chunk.env_t
    ep.is_terminated, ep.is_truncated = chunk.terminated, chunk.truncated
    t0, t1 = chunk.env_t_started, chunk.env_t
    for tr in chunk.trajs:
        n = len(tr.obs) - 1
        if n < 1:
            continue
        ep.agent_episodes[tr.agent] = _agent_episode(
            tr, n, store[tr.module].merge(), seq_no, chunk.episode_id, spaces)
        ep.agent_t_started[tr.agent] = tr.t_started
        # env step -> agent step of this agent's observations, "S" where it had none.
        # Observations from before the chunk (a carried-over one) sit in the lookback.
        start = min(tr.obs_t[0], t0)
        slots: list[Any] = [_SKIP] * (t1 - start + 1)
        for k, t in enumerate(tr.obs_t[: n + 1]):
            slots[t - start] = tr.t_started + k
        ep.env_t_to_agent_t[tr.agent] = InfiniteLookbackBuffer(slots, lookback=t0 - start)
    # RLlib initializes both to None unannotated (so mypy infers None) and sets them to
    # ``time.perf_counter()`` floats itself in ``add_env_reset``/``add_env_step``.
    ep._start_time = chunk.start_time  # type: ignore[assignment]
    ep._last_step_time = time.perf_counter()  # type: ignore[assignment]
    return ep


def new_episode_id() -> str:
    return uuid.uuid4().hex
