"""envs.openspiel: OpenSpiel games through Shimmy, with Shimmy's behaviours fixed.

Each fix has a premise test against the unfixed env, so a Shimmy release that fixes it
upstream shows up here (then the override can go).
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import pyspiel
import shimmy

from envs.factory import make_spec_env
from envs.openspiel import env as openspiel_env
from envs.openspiel import observation_of, observe

POKERS = ["kuhn_poker", "leduc_poker"]


def _play(env, episodes: int, seed: int, avoid=()) -> list[dict]:
    """Random legal play (skipping ``avoid`` actions when others are legal); per episode
    the summed rewards, the truncation flag, the number of moves and OpenSpiel's returns."""
    rng = np.random.default_rng(seed)
    out = []
    for ep in range(episodes):
        env.reset(seed=seed if ep == 0 else None)
        total = {a: 0.0 for a in env.possible_agents}
        truncated, moves = False, 0
        for agent in env.agent_iter():
            obs, reward, term, trunc, info = env.last()
            total[agent] += reward
            truncated |= trunc
            if term or trunc:
                env.step(None)
                continue
            mask = obs["action_mask"] if isinstance(obs, dict) else info["action_mask"]
            legal = [a for a in np.flatnonzero(mask) if a not in avoid] or np.flatnonzero(mask)
            env.step(int(rng.choice(legal)))
            moves += 1
        raw = env.unwrapped
        state = getattr(raw, "hanabi_env", raw).game_state  # hanabi_v5 holds a Shimmy env
        out.append({"total": [total[a] for a in env.possible_agents], "truncated": truncated,
                    "moves": moves, "returns": list(state.returns()),
                    "terminal": state.is_terminal(), "history": state.history()})
    return out


@pytest.mark.parametrize("game", POKERS)
def test_shimmy_truncates_and_miscounts_final_rewards(game: str) -> None:
    # The premise of the fixes: Shimmy counts chance nodes towards max_game_length, and
    # the last agent to leave gets the final reward twice.
    games = _play(shimmy.OpenSpielCompatibilityV0(game_name=game), 300, seed=0)
    assert any(g["truncated"] and not g["terminal"] for g in games)
    if game == "leduc_poker":
        assert any(g["terminal"] and not np.allclose(g["total"], g["returns"]) for g in games)


@pytest.mark.parametrize("game", POKERS)
def test_games_end_at_openspiel_terminal_with_its_returns(game: str) -> None:
    games = _play(openspiel_env(game), 300, seed=0)
    assert all(g["terminal"] and not g["truncated"] for g in games)
    assert all(np.allclose(g["total"], g["returns"]) for g in games)
    longest = pyspiel.load_game(game).max_game_length()
    assert max(g["moves"] for g in games) == longest  # the longest betting rounds are played


def test_hanabi_plays_past_shimmys_cut() -> None:
    # Never playing a card (only hints and discards) runs the deck out: long games.
    avoid = range(5, 10)  # 2p hanabi: 0-4 discard, 5-9 play, 10-19 hint
    pz_hanabi = pytest.importorskip("pettingzoo.classic.hanabi_v5")
    cut = _play(pz_hanabi.env(players=2), 3, seed=0, avoid=avoid)
    assert all(g["truncated"] and not g["terminal"] for g in cut)  # PettingZoo's hanabi_v5
    games = _play(openspiel_env("hanabi", players=2), 3, seed=0, avoid=avoid)
    assert all(g["terminal"] and not g["truncated"] for g in games)
    assert min(g["moves"] for g in games) > max(g["moves"] for g in cut)
    assert all(np.allclose(g["total"], g["returns"]) for g in games)


def test_unseeded_resets_continue_the_seeded_stream() -> None:
    a = _play(openspiel_env("leduc_poker"), 20, seed=3)
    b = _play(openspiel_env("leduc_poker"), 20, seed=3)
    assert [g["history"] for g in a] == [g["history"] for g in b]
    assert len({tuple(g["history"][:3]) for g in a}) > 1  # deals differ across episodes
    c = _play(openspiel_env("leduc_poker"), 20, seed=4)
    assert [g["history"] for g in a] != [g["history"] for g in c]


@pytest.mark.parametrize(("game", "params", "size", "tensor"), [
    ("kuhn_poker", {}, 11, "information_state_tensor"),
    ("leduc_poker", {}, 30, "information_state_tensor"),
    ("hanabi", {"players": 2}, 658, "observation_tensor"),  # hanabi has no info-state tensor
])
def test_observation_is_openspiels_tensor_and_mask(game, params, size, tensor) -> None:
    env = openspiel_env(game, **params)
    env.reset(seed=0)
    space = env.observation_space("player_0")
    assert space["observation"].shape == (size,) and space["observation"].dtype == np.float32
    assert space["action_mask"].dtype == np.int8
    state, agent = env.game_state, env.agent_selection
    player = int(agent.split("_")[1])
    obs = env.observe(agent)
    assert obs["observation"].dtype == np.float32
    assert np.array_equal(obs["observation"], np.float32(getattr(state, tensor)(player)))
    assert np.array_equal(obs["action_mask"], state.legal_actions_mask(player))
    assert np.array_equal(observation_of(state, player)["observation"], obs["observation"])
    assert np.array_equal(observe(state, player), obs["observation"])  # for OpenSpiel's code
    assert state.current_player() == player and not state.is_chance_node()  # chance hidden


def test_pyspiel_game_is_reachable_through_the_spec_env() -> None:
    env = make_spec_env({"id": "competitive/kuhn_poker-v0", "config": {}, "preprocess": "none"})
    env.reset(seed=0)
    assert isinstance(env.game, pyspiel.Game) and env.unwrapped.game is env.game
    assert env.game.get_type().short_name == "kuhn_poker"
    assert isinstance(env.game_state, pyspiel.State)
    with pytest.raises(NotImplementedError):
        env.state()  # PettingZoo's global state: not provided (mappo uses team_obs)


def test_illegal_action_names_the_legal_ones() -> None:
    env = openspiel_env("leduc_poker")
    env.reset(seed=0)
    illegal = int(np.flatnonzero(env.observe(env.agent_selection)["action_mask"] == 0)[0])
    with pytest.raises(ValueError, match="illegal.*legal: \\[1, 2\\]"):
        env.step(illegal)


def test_render_mode_is_refused_and_env_pickles() -> None:
    with pytest.raises(TypeError, match="render_mode"):
        openspiel_env("kuhn_poker", render_mode="rgb_array")  # record_gif skips such envs
    env = openspiel_env("hanabi", players=2).unwrapped
    copy = pickle.loads(pickle.dumps(env))
    assert copy.game.get_parameters()["players"] == 2
