"""MCTS at play time on real PettingZoo envs: clones keep the game, search finds wins and
blocks losses with an uninformed evaluator, and the CLI plays it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from envs.clone import clone
from envs.factory import make_spec_env
from marl.errors import SpecError
from marl.search import MCTS, SearchPolicy, search_spec

C4 = {"id": "competitive/connect_four-v0", "config": {}, "preprocess": "none"}
MARL = str(Path(sys.executable).with_name("marl")) if Path(sys.executable).with_name(
    "marl").exists() else (shutil.which("marl") or "marl")
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "legacy_runs"


def uninformed(obs) -> tuple[np.ndarray, float]:
    mask = np.asarray(obs["action_mask"], dtype=float)
    return mask / mask.sum(), 0.0


def _play(env, moves: list[int]):
    env.reset(seed=0)
    for m in moves:
        env.step(m)
    return env


def test_clone_is_independent_and_in_the_same_state() -> None:
    env = _play(make_spec_env(C4), [3, 3, 2])
    copy = clone(env)
    assert copy.agent_selection == env.agent_selection
    np.testing.assert_array_equal(copy.observe(copy.agent_selection)["observations"],
                                  env.observe(env.agent_selection)["observations"])
    copy.step(4)
    assert copy.agent_selection != env.agent_selection
    assert not np.array_equal(copy.observe("player_0")["observations"],
                              env.observe("player_0")["observations"])


def test_mcts_takes_the_win_and_blocks_the_loss() -> None:
    # player_0 has three in column 0 (player_1 answered in column 6): 0 wins now.
    env = _play(make_spec_env(C4), [0, 6, 0, 6, 0, 5])
    move, visits = MCTS(uninformed, 200, seed=1).search(env, env.agent_selection)
    assert move == 0 and visits.sum() == 200
    # Now player_1 to move must block column 0.
    env = _play(make_spec_env(C4), [0, 6, 0, 5, 0])
    assert env.agent_selection == "player_1"
    move, _ = MCTS(uninformed, 300, seed=1).search(env, "player_1")
    assert move == 0


def test_search_policy_plays_whole_games_through_play_episodes() -> None:
    from marl.league.play import head_to_head, scripted_policy

    space = make_spec_env(C4).action_space("player_0")
    searcher = SearchPolicy(scripted_policy("random", space, 0), MCTS(uninformed, 60, seed=0))
    result = head_to_head(C4, {"player_0": 0, "player_1": 1}, ("mcts", searcher),
                          ("random", scripted_policy("random", space, 1)), 6, seed=3)
    assert result.games == 6 and result.wins >= 5  # 60 uninformed sims crush random


def test_search_spec() -> None:
    assert search_spec(None) == 0 and search_spec("none") == 0 and search_spec("mcts:50") == 50
    for bad in ("mcts", "mcts:x", "alphabeta:3"):
        with pytest.raises(SpecError):
            search_spec(bad)


def _marl(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "WANDB_MODE": "disabled", "COLUMNS": "100"}
    return subprocess.run([MARL, *args], capture_output=True, text=True, timeout=300, env=env)


def test_eval_search_on_a_real_run_and_bad_input(tmp_path: Path) -> None:
    league = tmp_path / "league"
    shutil.copytree(FIXTURES / "legacy_league-20261201-071930-a6c029", league)
    played = _marl("eval", str(league), "--vs", "alphabeta_d1", "--episodes", "2",
                   "--search", "mcts:10", "--json")
    assert played.returncode == 0, played.stderr[-2000:]
    assert json.loads(played.stdout)["games"] == 2
    for args, needle in ((["--search", "mcts"], "mcts:N"),
                         (["--vs", "alphabeta_d1", "--player", "alphabeta_d1",
                           "--search", "mcts:5"], "scripted")):
        bad = _marl("eval", str(league), *args)
        assert bad.returncode == 2 and needle in bad.stderr, bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1
    spread = tmp_path / "spread"
    shutil.copytree(FIXTURES / "legacy_mappo-20261201-071944-e99c11", spread)
    bad = _marl("eval", str(spread), "--search", "mcts:5")
    assert bad.returncode == 2 and "turn-based" in bad.stderr, bad.stderr
