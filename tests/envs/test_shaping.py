"""Reward-shaping wrappers against hand-computed rewards, and API conformance."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest
from gymnasium import spaces
from pettingzoo import ParallelEnv
from pettingzoo.test import parallel_api_test

from envs.commons import parallel_env as commons
from envs.wrappers.shaping import InequityAversion, Prosocial


class ScriptedEnv(ParallelEnv):
    """Each agent's reward is its action (0, 1 or 2); one info dict shared by all."""

    metadata: ClassVar[dict[str, Any]] = {"name": "scripted_v0", "render_modes": []}

    def __init__(self, n: int = 3, max_cycles: int = 20) -> None:
        self.possible_agents = [f"a{i}" for i in range(n)]
        self.agents: list[str] = []
        self.max_cycles = max_cycles
        self._obs = {a: spaces.Box(0.0, 1.0, (1,), np.float32) for a in self.possible_agents}
        self._act = {a: spaces.Discrete(3) for a in self.possible_agents}

    def observation_space(self, agent: str) -> spaces.Box:
        return self._obs[agent]

    def action_space(self, agent: str) -> spaces.Discrete:
        return self._act[agent]

    def reset(self, seed=None, options=None):
        self.agents, self._t = self.possible_agents[:], 0
        return {a: np.ones(1, np.float32) for a in self.agents}, {a: {} for a in self.agents}

    def step(self, actions):
        self._t += 1
        done = self._t >= self.max_cycles
        shared = {"note": "x"}
        out = (
            {a: np.ones(1, np.float32) for a in self.agents},
            {a: int(actions[a]) for a in self.agents},
            dict.fromkeys(self.agents, False),
            dict.fromkeys(self.agents, done),
            dict.fromkeys(self.agents, shared),
        )
        if done:
            self.agents = []
        return out


def _act(*values: int) -> dict[str, int]:
    return {f"a{i}": v for i, v in enumerate(values)}


def test_inequity_aversion_matches_hand_computation() -> None:
    e = InequityAversion(ScriptedEnv(), alpha=5.0, beta=0.05, gamma=0.99, lam=0.95)
    e.reset(seed=0)
    # Step 1, r = (1, 0, 0): e = (1, 0, 0); N - 1 = 2.
    _, rew, _, _, infos = e.step(_act(1, 0, 0))
    assert rew["a0"] == pytest.approx(1 - 0.05 / 2 * (1 + 1))  # guilt: 0.95
    assert rew["a1"] == pytest.approx(-5 / 2 * 1)  # envy: -2.5
    assert rew["a2"] == pytest.approx(-2.5)
    # Step 2, r = (0, 0, 2): e = (0.9405, 0, 2) with gamma * lam = 0.9405.
    _, rew, _, _, infos = e.step(_act(0, 0, 2))
    assert rew["a0"] == pytest.approx(-2.5 * (2 - 0.9405) - 0.025 * 0.9405)  # -2.6722625
    assert rew["a1"] == pytest.approx(-2.5 * (0.9405 + 2))  # -7.35125
    assert rew["a2"] == pytest.approx(2 - 0.025 * ((2 - 0.9405) + 2))  # 1.9235125
    assert {a: i["raw_reward"] for a, i in infos.items()} == {"a0": 0.0, "a1": 0.0, "a2": 2.0}
    assert infos["a0"]["note"] == "x" and infos["a0"] is not infos["a1"]
    # Reset clears the traces: equal rewards are then unshaped.
    e.reset(seed=0)
    _, rew, *_ = e.step(_act(1, 1, 1))
    assert rew == {"a0": 1.0, "a1": 1.0, "a2": 1.0}


def test_inequity_aversion_two_agents_docstring_example() -> None:
    e = InequityAversion(ScriptedEnv(n=2))
    e.reset()
    _, rew, *_ = e.step(_act(1, 0))
    assert rew == pytest.approx({"a0": 0.95, "a1": -5.0})


def test_prosocial_matches_hand_computation() -> None:
    e = Prosocial(ScriptedEnv(n=2), weight=0.5)
    e.reset()
    _, rew, _, _, infos = e.step(_act(2, 0))
    assert rew == {"a0": 1.5, "a1": 0.5}
    assert infos["a0"]["raw_reward"] == 2.0 and infos["a1"]["raw_reward"] == 0.0
    selfish, team = Prosocial(ScriptedEnv(), 0.0), Prosocial(ScriptedEnv(), 1.0)
    selfish.reset(), team.reset()
    assert selfish.step(_act(2, 1, 0))[1] == {"a0": 2.0, "a1": 1.0, "a2": 0.0}
    assert team.step(_act(2, 1, 0))[1] == {"a0": 1.0, "a1": 1.0, "a2": 1.0}


@pytest.mark.parametrize("bad", [{"alpha": -1.0}, {"gamma": 1.5}, {"lam": -0.1}])
def test_inequity_aversion_validates(bad: dict) -> None:
    with pytest.raises(ValueError):
        InequityAversion(ScriptedEnv(), **bad)


def test_prosocial_validates() -> None:
    with pytest.raises(ValueError, match="weight"):
        Prosocial(ScriptedEnv(), 1.5)


@pytest.mark.parametrize("wrap", [lambda e: InequityAversion(e), lambda e: Prosocial(e, 0.3)])
def test_wrappers_pass_parallel_api_test(wrap) -> None:
    parallel_api_test(wrap(ScriptedEnv()), num_cycles=30)
    parallel_api_test(wrap(commons(num_agents=4, max_cycles=100)), num_cycles=100)


def test_wrappers_on_matrix_games() -> None:
    matrix_games = pytest.importorskip("envs.matrix_games")
    # Sucker (0) vs temptation (5). Prosocial 0.5: mean 2.5 -> (1.25, 3.75).
    # Inequity aversion, N = 2: (0 - 5 * 5, 5 - 0.05 * 5) = (-25, 4.75).
    expected = {
        Prosocial: {"player_0": 1.25, "player_1": 3.75},
        InequityAversion: {"player_0": -25.0, "player_1": 4.75},
    }
    for wrapped in (
        InequityAversion(matrix_games.parallel_env("prisoners_dilemma")),
        Prosocial(matrix_games.parallel_env("prisoners_dilemma"), 0.5),
    ):
        parallel_api_test(wrapped, num_cycles=10)
        wrapped.reset(seed=0)
        _, rew, _, _, infos = wrapped.step({"player_0": 0, "player_1": 1})  # C vs D
        assert {a: i["raw_reward"] for a, i in infos.items()} == {"player_0": 0, "player_1": 5}
        assert rew == pytest.approx(expected[type(wrapped)])


def test_commons_raw_reward_is_env_reward() -> None:
    base, wrapped = (
        commons(num_agents=3, max_cycles=50),
        Prosocial(commons(num_agents=3, max_cycles=50), 0.4),
    )
    base.reset(seed=5), wrapped.reset(seed=5)
    rng = np.random.default_rng(0)
    for _ in range(50):
        acts = dict(zip(base.possible_agents, rng.integers(0, 8, 3).tolist()))
        _, r_base, *_ = base.step(acts)
        _, r_wrap, _, _, infos = wrapped.step(acts)
        assert {a: infos[a]["raw_reward"] for a in r_base} == r_base
        mean = sum(r_base.values()) / 3
        assert r_wrap == pytest.approx({a: 0.6 * r + 0.4 * mean for a, r in r_base.items()})
    assert "social" in infos["player_0"]  # the env's own infos pass through
