"""Head-to-head games between two players, scored as the league scores them (no Ray).

A player here is an ``act(list_of_obs) -> actions`` callable: a scripted one
(``scripted_policy``: random, alpha-beta) or a trained module loaded by the caller
(``marl.evaluate.load_player``). ``head_to_head`` plays N games, half with each player
on each seat, and scores each game as the league does (``seat_score``): the seat whose
agents' mean return is higher wins, equal is a draw. Seats come from the resolved
experiment (``Experiment.seats``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from envs.factory import api_of, make_spec_env
from marl.league.spec import scripted_depth
from marl.play import as_env_action, play_episodes, random_box_policy
from marl.play import wilson_interval as wilson  # one Wilson interval for the project

__all__ = ["MatchResult", "head_to_head", "record_gif", "seat_score", "scripted_policy", "wilson"]

_C4_BOARD = (6, 7, 2)


def seat_score(returns: dict[str, float], seat_of: dict[str, int]) -> float | None:
    """Seat 0's score from per-agent returns: 1 if its mean return is higher, 0.5 equal, 0
    lower; None if a seat has no agent in ``returns``."""
    by_seat: dict[int, list[float]] = {}
    for agent, seat in seat_of.items():
        if agent in returns:
            by_seat.setdefault(seat, []).append(float(returns[agent]))
    if set(by_seat) != {0, 1}:
        return None
    r0, r1 = (sum(by_seat[s]) / len(by_seat[s]) for s in (0, 1))
    return 1.0 if r0 > r1 else 0.0 if r0 < r1 else 0.5


def scripted_policy(kind: str, n_actions: Any, seed: int = 0) -> Any:
    """``random`` or ``alphabeta_d<k>`` as an ``act(list_of_obs) -> actions`` callable.

    Args:
        n_actions: the number of discrete actions, or the action space (a Box space:
            ``random`` is uniform in its bounds).
    """
    rng = np.random.default_rng(seed)
    if kind == "random" and hasattr(n_actions, "low"):
        return random_box_policy(n_actions, seed)
    if kind == "random":
        n_actions = int(getattr(n_actions, "n", n_actions))

        def act_random(observations: Sequence[Any]) -> np.ndarray:
            return np.asarray([int(rng.choice(np.flatnonzero(o["action_mask"])))
                               if isinstance(o, dict) else int(rng.integers(0, n_actions))
                               for o in observations])
        return act_random
    depth = scripted_depth(kind)
    if depth is None:
        raise ValueError(f"unknown scripted player {kind!r}: use random or alphabeta_d1..9")
    from envs.connect_four_opponents import alphabeta_action

    def act_search(observations: Sequence[Any]) -> np.ndarray:
        return np.asarray([alphabeta_action(
            {"observation": np.asarray(o["observations"]).reshape(_C4_BOARD).astype(np.int8),
             "action_mask": o["action_mask"]}, depth) for o in observations])
    return act_search


@dataclass
class MatchResult:
    """Player A's results against player B, overall and per seat A sat on."""

    a: str
    b: str
    games: int
    wins: int = 0
    draws: int = 0
    losses: int = 0
    by_seat: dict[int, list[int]] = field(default_factory=dict)  # seat -> [W, D, L]

    @property
    def score(self) -> float:
        return (self.wins + 0.5 * self.draws) / max(1, self.games)

    def interval(self, what: str = "score") -> tuple[float, float]:
        """95 % Wilson interval of ``score`` (draws half), ``win`` or ``loss`` rate."""
        k = {"score": self.wins + 0.5 * self.draws, "win": self.wins, "loss": self.losses}[what]
        return wilson(k, self.games)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["score"] = self.score
        for what in ("score", "win", "loss"):
            out[f"{what}_ci95"] = list(self.interval(what))
        out["by_seat"] = {str(s): {"wins": w, "draws": d, "losses": lost, "games": w + d + lost}
                          for s, (w, d, lost) in sorted(self.by_seat.items())}
        return out


def head_to_head(env_config: dict[str, Any], seat_of: dict[str, int], a: tuple[str, Any],
                 b: tuple[str, Any], games: int, seed: int = 0) -> MatchResult:
    """Play ``games`` games of A vs B, A on seat 0 in the first half, on seat 1 in the rest.

    Args:
        env_config: the env to play (``Experiment.play_config()``).
        seat_of: agent -> seat (``Experiment.seats``).
        a, b: ``(name, act callable)`` of each player.
    """
    agents = list(seat_of)
    result = MatchResult(a[0], b[0], 0)
    halves = {0: games - games // 2, 1: games // 2}
    for seat_a, n in halves.items():
        if n == 0:
            continue
        mapping = {ag: (a[1] if seat_of[ag] == seat_a else b[1]) for ag in agents}
        for returns in play_episodes(env_config, mapping, n, seed=seed + 7919 * seat_a):
            s0 = seat_score(returns, seat_of)
            if s0 is None:
                continue
            s = s0 if seat_a == 0 else 1.0 - s0
            idx = 0 if s == 1.0 else 1 if s == 0.5 else 2
            wdl = result.by_seat.setdefault(seat_a, [0, 0, 0])
            wdl[idx] += 1
            result.games += 1
            result.wins += idx == 0
            result.draws += idx == 1
            result.losses += idx == 2
    return result


def record_gif(env_config: dict[str, Any], seat_of: dict[str, int],
               seat_policies: dict[int, Any], path: Path, seed: int = 0,
               max_frames: int = 200) -> Path | None:
    """Play one game with rgb rendering and write it as a GIF; None if the env can't render.

    Args:
        seat_of: agent -> seat (``Experiment.seats``).
        seat_policies: seat index -> ``act`` callable.
    """
    from PIL import Image

    config = {**env_config, "config": {**(env_config.get("config") or {}),
                                       "render_mode": "rgb_array"}}
    try:
        env = make_spec_env(config)
    except TypeError:  # the env takes no render_mode
        return None
    frames: list[Any] = []

    def grab() -> None:
        frame = env.render()
        if isinstance(frame, np.ndarray) and frame.ndim == 3 and len(frames) < max_frames:
            frames.append(Image.fromarray(frame.astype(np.uint8)))

    if api_of(env) == "aec":
        env.reset(seed=seed)
        grab()
        for agent in env.agent_iter():
            obs, _, term, trunc, _ = env.last()
            env.step(None if term or trunc else as_env_action(
                seat_policies[seat_of[agent]]([obs])[0], env.action_space(agent)))
            grab()
    else:
        obs, _ = env.reset(seed=seed)
        grab()
        while env.agents:
            actions = {ag: as_env_action(
                seat_policies[seat_of[ag]]([np.asarray(obs[ag], np.float32)])[0],
                env.action_space(ag)) for ag in env.agents}
            obs, *_ = env.step(actions)
            grab()
    env.close()
    if not frames:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    frames += [frames[-1]] * 4  # hold the final position
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=500, loop=0)
    return path
