"""Search at play time: MCTS with a trained policy as prior and its value head at the
leaves (PUCT, as AlphaZero), for turn-based two-player zero-sum games with terminal
rewards (connect four, tic-tac-toe).

Each simulation walks down the tree choosing

    a* = argmax_a  Q(s, a) + c_puct * P(s, a) * sqrt(N(s)) / (1 + N(s, a))

(Q from the view of the player to move at s, 0 for unvisited actions), steps a clone of
the env (``envs.clone``) into the new state, and evaluates it: a finished game by its
rewards, otherwise ``evaluate(obs) -> (priors, value)`` of the player to move there. The
value is backed up along the path, negated for the other player. The move played is the
most visited root action. ``search_spec("mcts:200")`` parses the CLI's ``--search``.

``SearchPolicy`` wraps a plain policy: ``marl.play.play_episodes`` hands it the env (its
``search(env, agent)``), anything else calls it as the plain policy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from envs.clone import clone
from marl.errors import SpecError

__all__ = ["MCTS", "SearchPolicy", "search_spec"]

Evaluate = Callable[[Any], tuple[np.ndarray, float]]
"""``evaluate(obs) -> (action priors, value of the player to move)``."""


def search_spec(text: str | None) -> int:
    """Simulations per move of ``mcts:N`` (0 for ``None``/``none``).

    Raises:
        SpecError: anything else, one line naming the form.
    """
    if text in (None, "", "none"):
        return 0
    kind, _, n = str(text).partition(":")
    if kind != "mcts" or not n.isdigit():
        raise SpecError(f"--search {text}: write mcts:N (N simulations per move, e.g. "
                        f"mcts:200) or none")
    return int(n)


@dataclass
class _Node:
    env: Any
    player: str | None
    terminal: dict[str, float] | None = None  # final rewards of a finished game
    priors: np.ndarray | None = None
    legal: np.ndarray | None = None
    visits: np.ndarray | None = None
    value_sum: np.ndarray | None = None
    children: dict[int, _Node] = field(default_factory=dict)


class MCTS:
    """PUCT search over clones of a PettingZoo AEC env (mask-dict observations)."""

    def __init__(self, evaluate: Evaluate, simulations: int, c_puct: float = 1.5,
                 seed: int = 0):
        self.evaluate = evaluate
        self.simulations = int(simulations)
        self.c_puct = float(c_puct)
        self.rng = np.random.default_rng(seed)
        self.last_value: float | None = None  # the root's value estimate of the last search

    def _expand(self, node: _Node) -> dict[str, float]:
        """Evaluate a new node; the value of each player in it."""
        if node.terminal is not None:
            return node.terminal
        assert node.player is not None  # only finished games have no player to move
        obs = node.env.observe(node.player)
        priors, value = self.evaluate(obs)
        mask = np.asarray(obs["action_mask"], dtype=bool)
        priors = np.where(mask, np.asarray(priors, dtype=np.float64), 0.0)
        total = priors.sum()
        node.priors = priors / total if total > 0 else mask / mask.sum()
        node.legal = np.flatnonzero(mask)
        node.visits = np.zeros(mask.shape[0])
        node.value_sum = np.zeros(mask.shape[0])
        return self._two_sided(node.env, node.player, float(value))

    @staticmethod
    def _two_sided(env: Any, player: str, value: float) -> dict[str, float]:
        return {a: (value if a == player else -value) for a in env.possible_agents}

    def _child(self, node: _Node, action: int) -> _Node:
        child = node.children.get(action)
        if child is None:
            env = clone(node.env)
            env.step(int(action))
            done = not env.agents or all(env.terminations[a] or env.truncations[a]
                                         for a in env.agents)
            if done:
                totals = env.unwrapped._cumulative_rewards  # the game's final rewards
                rewards = {a: float(totals.get(a, 0.0)) for a in env.possible_agents}
                child = _Node(env, None, terminal=rewards)
            else:
                child = _Node(env, env.agent_selection)
            node.children[action] = child
        return child

    def _select(self, node: _Node) -> int:
        assert node.visits is not None and node.value_sum is not None
        assert node.priors is not None and node.legal is not None
        n = node.visits[node.legal]
        q = np.where(n > 0, node.value_sum[node.legal] / np.maximum(n, 1), 0.0)
        u = self.c_puct * node.priors[node.legal] * math.sqrt(max(1.0, n.sum())) / (1 + n)
        score = q + u
        best = np.flatnonzero(score == score.max())
        return int(node.legal[best[self.rng.integers(len(best))]])

    def search(self, env: Any, agent: str) -> tuple[int, np.ndarray]:
        """The move for ``agent`` (to move in ``env``) and the root's visit counts."""
        root = _Node(clone(env), agent)
        self._expand(root)
        assert root.visits is not None and root.value_sum is not None
        for _ in range(self.simulations):
            node, path = root, []
            while True:
                action = self._select(node)
                path.append((node, action))
                child = self._child(node, action)
                if child.terminal is not None or child.visits is None:
                    values = self._expand(child)
                    break
                node = child
            for parent, action in path:
                assert parent.visits is not None and parent.value_sum is not None
                assert parent.player is not None
                parent.visits[action] += 1
                parent.value_sum[action] += values[parent.player]
        visits = root.visits
        self.last_value = float(root.value_sum.sum() / max(1.0, visits.sum()))
        best = np.flatnonzero(visits == visits.max())
        return int(best[self.rng.integers(len(best))]), visits


class SearchPolicy:
    """A plain policy that searches when it is handed the env (see module docstring)."""

    def __init__(self, policy: Callable[[Sequence[Any]], np.ndarray], mcts: MCTS):
        self.policy, self.mcts = policy, mcts

    def __call__(self, observations: Sequence[Any]) -> np.ndarray:
        return self.policy(observations)

    def search(self, env: Any, agent: str) -> int:
        if self.mcts.simulations <= 0:
            return int(self.policy([env.observe(agent)])[0])
        return self.mcts.search(env, agent)[0]
