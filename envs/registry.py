"""Versioned env ids ``setting/name-vN`` -> lazily imported PettingZoo envs.

Importing this module imports no env: each entry names its constructor as
``"module:attr"`` and is imported on first use (as PettingZoo's own registry does), so
``marl envs list`` and spec validation stay fast and pull in no pygame.

Adding an env is one entry in ``_ENTRIES``.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass, field, replace
from typing import Any, Literal

__all__ = ["EnvEntry", "SETTINGS", "get_entry", "check_env_id", "custom_entry", "env_ids",
           "make_env", "make_entry_env", "register", "team_of"]

SETTINGS = ("cooperative", "competitive", "mixed")


@dataclass(frozen=True)
class EnvEntry:
    """One registered environment.

    Attributes:
        id: ``setting/name-vN``.
        entry_point: ``"module:callable"`` returning a PettingZoo env.
        api: ``aec`` (turn-based) or ``parallel`` (simultaneous moves).
        defaults: constructor kwargs, overridable by the spec's ``env.config``.
        masked: observations are ``{"observation", "action_mask"}`` dicts.
        teams: agent-id glob pattern -> team name (first match wins); used by team
            critics and leagues. Empty: every agent is its own team.
        num_envs: default vectorized envs per env runner (measured best on 2 cores).
        description: one line for ``marl envs list``.
        board: ``(H, W, C)`` when the (flattened) observation is a board, for the cnn
            encoder (``policies.model.encoder: cnn``); None otherwise.
        symmetry: a symmetry of the game the learner may augment batches with
            (``envs.symmetries``: ``mirror_lr``); None otherwise.
        preset: tuned spec settings for this env (sections ``algorithm``, ``policies``,
            ``resources``, and ``env`` for ``preprocess`` (pistonball's pixel pipeline)
            and ``random_opening`` (connect four)), applied under the spec: a spec value
            always wins (a spec's env.preprocess and a spec's policies.model replace the
            preset's whole). A minimal spec (``env.id`` and ``stop``) trains with these
            (see docs/benchmarks.md).
        actions: ``discrete`` or ``continuous`` (Box), for ``marl envs list``; the
            conformance tests check it against the built env.
        observations: ``vector``, ``image`` (H, W, C pixels) or ``board``.
        features: board feature planes the cnn encoder may add for this env
            (``policies.model.features``; ``threats``: connect four's winning cells).
        custom: a user's env (``env.entry_point`` or ``register``), not a built-in one:
            env runners build it from its entry point (they never saw the registration),
            and ``api``/``masked``/``actions``/``observations`` are detected from the env.
    """

    id: str
    entry_point: str
    api: Literal["aec", "parallel"]
    defaults: dict[str, Any] = field(default_factory=dict)
    masked: bool = False
    teams: dict[str, str] = field(default_factory=dict)
    num_envs: int = 16
    description: str = ""
    board: tuple[int, int, int] | None = None
    symmetry: str | None = None
    preset: dict[str, Any] = field(default_factory=dict)
    actions: Literal["discrete", "continuous"] = "discrete"
    observations: Literal["vector", "image", "board"] = "vector"
    features: tuple[str, ...] = ()
    custom: bool = False

    @property
    def setting(self) -> str:
        return self.id.split("/", 1)[0]

    @property
    def zero_sum(self) -> bool:
        return self.setting == "competitive"


# Presets, as RL Baselines3 Zoo keeps tuned hyperparameters per env. MPE: MAPPO's recipe
# (Yu et al. 2021: 64-unit layers, lr 7e-4, 1 minibatch, 10 epochs, grad clip 10, value
# loss weight 1). Board games: rollouts of 128 steps per env (4,096 env steps over 2 x 16
# envs), 4 minibatches per module, 4 epochs (CleanRL-style PPO).
_MPE_PRESET = {
    "algorithm": {"lr": 7e-4, "num_minibatches": 1, "num_epochs": 10, "entropy_coeff": 0.01,
                  "vf_loss_coeff": 1.0, "grad_clip": 10.0, "train_batch_size": 2000},
    "policies": {"model": {"hidden": [64, 64]}},
    "resources": {"num_envs_per_env_runner": 16},
}
_BOARD_ALGORITHM: dict[str, Any] = {"lr": 3e-4, "num_minibatches": 4, "num_epochs": 4,
                                    "entropy_coeff": 0.01, "train_batch_size": 4096}
_BOARD_PRESET = {
    "algorithm": dict(_BOARD_ALGORITHM),
    "resources": {"num_envs_per_env_runner": 16},
}
# Connect four: the board preset with what trained it best in 15 minutes of self-play here
# (benchmarks/learn_connect4.py, docs/benchmarks.md): the board kept as a board (two 3x3
# conv layers of 32, one hidden layer of 128) with the threat planes in front of it
# (features: threats; each side's winning cells and the playable cells: 0.80-0.90 vs
# depth 1 on each seat over seeds 5, 6 and 7, where the bare board got 0.32-0.78), lr 2e-3
# falling linearly to 0 over the stop budget, and training games that start 2 random
# plies a side in (env.random_opening; evaluation plays its own openings).
_CONNECT_FOUR_PRESET = {
    "algorithm": {**_BOARD_ALGORITHM, "lr": 2e-3, "lr_schedule": "linear"},
    "policies": {"model": {"encoder": "cnn", "conv": [[32, 3], [32, 3]], "hidden": [128],
                           "features": "threats"}},
    "env": {"random_opening": 2},
    "resources": {"num_envs_per_env_runner": 16},
}

_ENTRIES = [
    EnvEntry(
        "cooperative/spread-v0",
        "mpe2.simple_spread_v3:parallel_env",
        "parallel",
        {"N": 3, "max_cycles": 25, "continuous_actions": False},
        num_envs=16,
        description="MPE simple_spread: N agents cover N landmarks, shared reward",
        preset=_MPE_PRESET,
    ),
    EnvEntry(
        "competitive/connect_four-v0",
        "pettingzoo.classic.connect_four_v3:env",
        "aec",
        masked=True,
        num_envs=64,
        description="Connect four, turn-based, action masks, win +1 / loss -1",
        board=(6, 7, 2),
        observations="board",
        symmetry="mirror_lr",
        features=("threats",),
        preset=_CONNECT_FOUR_PRESET,
    ),
    EnvEntry(
        "competitive/tag-v0",
        "mpe2.simple_tag_v3:parallel_env",
        "parallel",
        {"num_good": 1, "num_adversaries": 3, "num_obstacles": 2, "max_cycles": 25,
         "continuous_actions": False},
        teams={"adversary_*": "predators", "agent_*": "prey"},
        num_envs=16,
        description="MPE simple_tag: predators team vs prey team",
        preset=_MPE_PRESET,
    ),
    EnvEntry(
        "competitive/leduc_holdem-v0",
        "pettingzoo.classic.leduc_holdem_v4:env",
        "aec",
        masked=True,
        num_envs=64,
        description="Leduc hold'em poker, turn-based, action masks",
    ),
    EnvEntry(
        "mixed/prisoners_dilemma-v0",
        "envs.matrix_games:prisoners_dilemma",
        "parallel",
        {"max_cycles": 10},
        num_envs=32,
        description="Iterated prisoner's dilemma (T5 R3 P1 S0)",
    ),
    EnvEntry(
        "mixed/stag_hunt-v0",
        "envs.matrix_games:stag_hunt",
        "parallel",
        {"max_cycles": 10},
        num_envs=32,
        description="Iterated stag hunt",
    ),
    EnvEntry(
        "mixed/chicken-v0",
        "envs.matrix_games:chicken",
        "parallel",
        {"max_cycles": 10},
        num_envs=32,
        description="Iterated chicken",
    ),
]
_ENTRIES.append(
    EnvEntry(
        "mixed/commons_harvest-v0",
        "envs.commons:parallel_env",
        "parallel",
        {"num_agents": 5, "max_cycles": 1000},
        num_envs=4,
        description="Commons harvest: apples regrow only near apples; tagging beam",
    )
)
# Butterfly (envs.butterfly). Pistonball's preset: its 457x120 RGB crops to 32x32 grey
# frames (the ball is 137 on a 255 background; its blue channel is 221), 4 stacked; a
# small cnn ([[16, 4, 2], [32, 3, 2]], 256 ReLU units) whose critic is a value head on
# the actor's trunk (share_encoder, CleanRL's Atari layout: one network per row), ippo's
# value normalization (returns reach ~100 a piston: RLlib's ppo value loss clamps a
# squared error at vf_clip_param 10) and lr annealed to 0 over the run. On 2 cores the
# Nature CNN on 64x64 frames with a separate critic spent the whole iteration in its
# update: this one is ~6x cheaper (docs/benchmarks.md). 500 env steps a batch are 10,000
# rows of 20 pistons. envs.butterfly:pistonball draws every frame (PettingZoo's draws
# only with a render mode: without one its pistons never see the ball) and observes
# ~3.4x faster (benchmarks/pistonball_speed.py: 168.8 against 49.7 env steps/s, both
# drawing); 2 envs a runner.
_PISTONBALL_PRESET = {
    "env": {"preprocess": [{"color_reduction": {"mode": "full"}},
                           {"resize": {"x_size": 32, "y_size": 32}}, {"frame_stack": 4}]},
    "algorithm": {"name": "ippo", "lr": 2.5e-4, "lr_schedule": "linear", "num_minibatches": 4,
                  "num_epochs": 4, "entropy_coeff": 0.01, "train_batch_size": 500},
    "policies": {"model": {"encoder": "cnn", "conv": [[16, 4, 2], [32, 3, 2]],
                           "hidden": [256], "activation": "relu", "share_encoder": True}},
}
_ENTRIES += [
    EnvEntry(
        "cooperative/pistonball-v0",
        "envs.butterfly:pistonball",
        "parallel",
        {"n_pistons": 20, "continuous": False, "max_cycles": 125},
        num_envs=2,
        description="Pistonball: pistons push a ball left, RGB pixels, shared reward",
        observations="image",
        preset=_PISTONBALL_PRESET,
    ),
    EnvEntry(
        "cooperative/knights_archers_zombies-v0",
        "envs.butterfly:knights_archers_zombies",
        "parallel",
        {"num_archers": 2, "num_knights": 2, "max_cycles": 900, "obs_method": "vector"},
        num_envs=4,
        description="Knights, archers, zombies: vector obs, dead agents see zeros",
    ),
]
# SISL (continuous actions). Multiwalker's preset is CleanRL's continuous-control PPO
# (ppo_continuous_action.py: 64-unit tanh layers, lr 3e-4, 10 epochs, no entropy bonus,
# grad norm 0.5), not tuned here; its 2,048-step rollouts become 4,000 env steps (12,000
# rows of 3 walkers) in 8 minibatches. Falls score -100 (terminate_reward), so value
# targets reach -100: vf_clip_param is raised past them. waterworld (pettingzoo 1.27
# removed it) is marl's reimplementation of waterworld_v4's rules in envs/sisl.py, on
# the same preset.
_MULTIWALKER_PRESET = {
    "algorithm": {"lr": 3e-4, "num_minibatches": 8, "num_epochs": 10, "entropy_coeff": 0.0,
                  "vf_loss_coeff": 0.5, "grad_clip": 0.5, "vf_clip_param": 1000.0,
                  "train_batch_size": 4000},
    "policies": {"model": {"hidden": [64, 64]}},
    "resources": {"num_envs_per_env_runner": 8},
}
_ENTRIES += [
    EnvEntry(
        "cooperative/multiwalker-v0",
        "pettingzoo.sisl.multiwalker_v9:parallel_env",
        "parallel",
        {"n_walkers": 3, "max_cycles": 500, "shared_reward": True,
         "terminate_on_fall": True, "remove_on_fall": True},
        num_envs=8,
        description="SISL multiwalker: walkers carry a package, Box(4) torques, shared reward",
        actions="continuous",
        preset=_MULTIWALKER_PRESET,
    ),
    EnvEntry(
        "cooperative/waterworld-v0",
        "envs.sisl:parallel_env",
        "parallel",
        {"n_pursuers": 2, "max_cycles": 500},
        num_envs=8,
        description="SISL waterworld (marl's numpy rules of v4): pursuers eat food, avoid "
                    "poison, Box(2) thrust",
        actions="continuous",
        preset=_MULTIWALKER_PRESET,
    ),
]
# Standard two-player games and hanabi. Small games' preset: the board preset's PPO
# (CleanRL-style: 4 minibatches, 4 epochs) on 2,048-step batches of short episodes (kuhn
# 2-3 moves, rps 15 rounds), 64-unit layers; not tuned here. Hanabi's preset is MAPPO's
# Hanabi recipe (Yu et al. 2021: 512-unit layers, lr 7e-4, 1 minibatch, 15 epochs,
# entropy 0.015, value loss weight 1), not tuned here either. Hanabi and the OpenSpiel
# pokers are built by envs.openspiel (OpenSpiel through Shimmy, with Shimmy's early
# truncation and double-counted final reward fixed); pettingzoo.classic.hanabi_v5 has
# both bugs (it truncates 2p games at ~74 of their up to 118 moves).
_SMALL_GAME_PRESET = {
    "algorithm": {"lr": 3e-4, "num_minibatches": 4, "num_epochs": 4, "entropy_coeff": 0.01,
                  "train_batch_size": 2048},
    "policies": {"model": {"hidden": [64, 64]}},
}
_HANABI_PRESET = {
    "algorithm": {"lr": 7e-4, "num_minibatches": 1, "num_epochs": 15, "entropy_coeff": 0.015,
                  "vf_loss_coeff": 1.0, "grad_clip": 10.0, "train_batch_size": 8000},
    "policies": {"model": {"hidden": [512, 512]}},
}
_ENTRIES += [
    EnvEntry(
        "competitive/tictactoe-v0",
        "pettingzoo.classic.tictactoe_v3:env",
        "aec",
        masked=True,
        num_envs=32,
        description="Tic-tac-toe, turn-based, action masks, win +1 / loss -1",
        board=(3, 3, 2),
        observations="board",
        preset=_BOARD_PRESET,
    ),
    EnvEntry(
        "competitive/texas_holdem-v0",
        "pettingzoo.classic.texas_holdem_v4:env",
        "aec",
        {"num_players": 2},
        masked=True,
        num_envs=64,
        description="Limit texas hold'em (RLCard), heads-up, action masks",
        preset=_SMALL_GAME_PRESET,
    ),
    EnvEntry(
        "competitive/rps-v0",
        "envs.classic:rps",
        "parallel",
        {"num_actions": 3, "max_cycles": 15},
        num_envs=32,
        description="Rock-paper-scissors, 15 rounds, sees the opponent's last move",
        preset=_SMALL_GAME_PRESET,
    ),
    EnvEntry(
        "competitive/kuhn_poker-v0",
        "envs.openspiel:env",
        "aec",
        {"game_name": "kuhn_poker"},
        masked=True,
        num_envs=64,
        description="Kuhn poker (OpenSpiel via Shimmy), info-state tensor, masks",
        preset=_SMALL_GAME_PRESET,
    ),
    EnvEntry(
        "competitive/leduc_poker-v0",
        "envs.openspiel:env",
        "aec",
        {"game_name": "leduc_poker"},
        masked=True,
        num_envs=64,
        description="Leduc poker (OpenSpiel via Shimmy), info-state tensor, masks",
        preset=_SMALL_GAME_PRESET,
    ),
    EnvEntry(
        "cooperative/hanabi-v0",
        "envs.openspiel:env",
        "aec",
        {"game_name": "hanabi", "players": 2},
        masked=True,
        num_envs=16,
        description="Hanabi, 2 players (OpenSpiel via Shimmy), shared score, masks",
        preset=_HANABI_PRESET,
    ),
]
_BY_ID = {e.id: e for e in _ENTRIES}


def _check_entry_point(entry_point: str) -> None:
    module, sep, attr = entry_point.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"entry_point {entry_point!r} must read \"package.module:constructor\"")


def custom_entry(env_id: str, entry_point: str, teams: dict[str, str] | None = None,
                 defaults: dict[str, Any] | None = None, description: str = "") -> EnvEntry:
    """The entry of a user's env: ``env_id`` is ``setting/name``; the api is a placeholder
    (``aec``) until the env is built and looked at (``marl.experiment.resolve``)."""
    setting = env_id.split("/", 1)[0]
    if setting not in SETTINGS:
        raise ValueError(f"env id {env_id!r} must start with a setting: {', '.join(SETTINGS)}")
    _check_entry_point(entry_point)
    return EnvEntry(env_id, entry_point, "aec", dict(defaults or {}), teams=dict(teams or {}),
                    description=description or f"your env {entry_point}", custom=True)


def register(env_id: str, entry_point: str, *, teams: dict[str, str] | None = None,
             defaults: dict[str, Any] | None = None, description: str = "",
             num_envs: int = 8) -> EnvEntry:
    """Add a user's env to this process's registry under ``setting/name-vN``.

    Specs in this process may then name it by ``env.id``. Ray workers never see the
    registration: they build the env from its entry point, which the resolved
    experiment carries (``marl.experiment.resolve``).

    Raises:
        ValueError: the id is taken by a built-in env, or id/entry point are malformed.
    """
    if env_id in _BY_ID and not _BY_ID[env_id].custom:
        raise ValueError(f"env id {env_id!r} is a built-in env; register yours under another id")
    entry = custom_entry(env_id, entry_point, teams, defaults, description)
    entry = replace(entry, num_envs=int(num_envs))
    _BY_ID[env_id] = entry
    return entry


def env_ids() -> list[str]:
    """All registered ids, sorted."""
    return sorted(_BY_ID)


def check_env_id(env_id: str) -> EnvEntry:
    """Return the entry for ``env_id``.

    Raises:
        KeyError: with a message suggesting the closest registered ids.
    """
    if env_id in _BY_ID:
        return _BY_ID[env_id]
    close = difflib.get_close_matches(env_id, env_ids(), n=3, cutoff=0.4)
    if not close:
        # A missing version or setting prefix is the common slip: match on the bare name.
        name = env_id.split("/")[-1].split("-v")[0]
        close = [i for i in env_ids() if i.split("/")[1].split("-v")[0] == name]
    hint = f"did you mean {', '.join(close)}?" if close else "run `marl envs list` for the ids"
    raise KeyError(f"unknown env id {env_id!r}; {hint}")


get_entry = check_env_id


def load_entry_point(entry_point: str) -> Any:
    """The callable ``"package.module:attr"`` names (``attr`` may be dotted).

    Raises:
        ImportError: the module cannot be imported.
        AttributeError: the module has no such attribute.
    """
    module_name, attr = entry_point.split(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def make_entry_env(entry: EnvEntry, config: dict[str, Any] | None = None) -> Any:
    """Construct the raw PettingZoo env of ``entry`` with its defaults and ``config`` merged."""
    return load_entry_point(entry.entry_point)(**{**entry.defaults, **(config or {})})


def make_env(env_id: str, config: dict[str, Any] | None = None) -> Any:
    """Construct the raw PettingZoo env for ``env_id`` with defaults and ``config`` merged."""
    return make_entry_env(check_env_id(env_id), config)


def team_of(entry: EnvEntry, agent_id: str) -> str:
    """The team an agent belongs to (its own id when the env has no teams)."""
    from fnmatch import fnmatchcase

    for pattern, team in entry.teams.items():
        if fnmatchcase(agent_id, pattern):
            return team
    return agent_id
