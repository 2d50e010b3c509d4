"""A user's own PettingZoo env: by entry point in a spec, or registered from Python.

The env is a tiny two-player game written by the test into its own module in a temp dir
(the user's project); the real ``marl`` CLI runs from that dir, as a user would: train,
eval, resume. Broken envs fail before anything trains: exit 2, one line.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

MARL = str(Path(sys.executable).with_name("marl")) if Path(sys.executable).with_name(
    "marl").exists() else (shutil.which("marl") or "marl")

GAME = '''
"""Race to a target: players alternately add 0, 1 or 2; reaching the target wins."""
import functools

import gymnasium as gym
import numpy as np
from pettingzoo import AECEnv
from pettingzoo.utils import AgentSelector

BROKEN = "{broken}"


class Race(AECEnv):
    metadata = {{"name": "race_v0", "is_parallelizable": False}}

    def __init__(self, target=5):
        super().__init__()
        self.target = target
        self.possible_agents = ["player_0", "player_1"]
        width = 2 * (target + 3)
        if BROKEN == "space":  # observations will not lie in this space
            width = 3
        self._obs_space = gym.spaces.Dict({{
            "observation": gym.spaces.Box(0, 1, (width,), np.float32),
            "action_mask": gym.spaces.Box(0, 1, (3,), np.int8)}})
        self._act_space = gym.spaces.Discrete(3)

    def observation_space(self, agent):
        if BROKEN == "agent" and agent == "player_1":
            raise KeyError(agent)
        return self._obs_space

    def action_space(self, agent):
        return self._act_space

    def observe(self, agent):
        v = np.zeros(2 * (self.target + 3), np.float32)
        me = self.possible_agents.index(agent)
        v[min(self.totals[me], self.target + 2)] = 1
        v[self.target + 3 + min(self.totals[1 - me], self.target + 2)] = 1
        mask = np.ones(3, np.int8)
        return {{"observation": v, "action_mask": mask}}

    def reset(self, seed=None, options=None):
        self.agents = list(self.possible_agents)
        self.totals = [0, 0]
        self.rewards = {{a: 0.0 for a in self.agents}}
        self._cumulative_rewards = {{a: 0.0 for a in self.agents}}
        self.terminations = {{a: False for a in self.agents}}
        self.truncations = {{a: False for a in self.agents}}
        self.infos = {{a: {{}} for a in self.agents}}
        self._selector = AgentSelector(self.agents)
        self.agent_selection = self._selector.reset()

    def step(self, action):
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            return self._was_dead_step(action)
        me = self.possible_agents.index(agent)
        self._cumulative_rewards[agent] = 0
        self.totals[me] += int(action)
        self.rewards = {{a: 0.0 for a in self.agents}}
        if self.totals[me] >= self.target:
            self.rewards[agent] = 1.0
            self.rewards[self.possible_agents[1 - me]] = -1.0
            self.terminations = {{a: True for a in self.agents}}
        self.agent_selection = self._selector.next()
        self._accumulate_rewards()


def env(**kwargs):
    return Race(**kwargs)
'''


def _project(tmp_path: Path, broken: str = "", **spec_over: object) -> Path:
    """A user's project dir: the game module ``race_game.py`` and ``race.yaml``."""
    (tmp_path / "race_game.py").write_text(textwrap.dedent(GAME.format(broken=broken)))
    spec = {
        "name": "race",
        "env": {"entry_point": "race_game:env", "setting": "competitive",
                "config": {"target": 5}},
        "stop": {"iterations": 2},
        "algorithm": {"train_batch_size": 200, "minibatch_size": 64, "num_epochs": 1},
        "resources": {"num_env_runners": 1, "num_envs_per_env_runner": 2},
        "evaluation": {"episodes": 4, "progress_every": 0},
        "checkpoint": {"every": 1},
        "tracking": {"tensorboard": False, "wandb": {"mode": "disabled"}},
        "storage": str(tmp_path / "runs"),
        **spec_over,
    }
    (tmp_path / "race.yaml").write_text(yaml.safe_dump(spec))
    return tmp_path


def _marl(cwd: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "WANDB_MODE": "disabled", "COLUMNS": "120"}
    env.pop("PYTHONPATH", None)  # the module must import from the working dir alone
    return subprocess.run([MARL, *args], capture_output=True, text=True, timeout=timeout,
                          cwd=cwd, env=env)


def _one_error_line(proc: subprocess.CompletedProcess, *needles: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def test_custom_env_trains_evaluates_and_resumes_by_entry_point(tmp_path: Path) -> None:
    project = _project(tmp_path)
    resolved = _marl(project, "spec", "validate", "race.yaml", "--resolved")
    assert resolved.returncode == 0, resolved.stderr
    summary = yaml.safe_load(resolved.stdout)["resolved"]
    assert summary["env"] == "competitive/race_game:env"
    assert summary["api"] == "aec"
    assert summary["agents"] == ["player_0", "player_1"]
    assert "action_mask" in summary["spaces"]["player_0"]["observation"]  # mask detected

    trained = _marl(project, "train", "race.yaml")
    assert trained.returncode == 0, trained.stderr[-3000:]
    (run_dir,) = (project / "runs").iterdir()
    assert yaml.safe_load((run_dir / "spec.yaml").read_text())["env"]["entry_point"] == \
        "race_game:env"
    metrics = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [m["iteration"] for m in metrics] == [1, 2]

    evaluated = _marl(project, "eval", str(run_dir), "--json", "--episodes", "4")
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    rows = json.loads(evaluated.stdout)
    assert {"trained", "random"} <= {r["pairing"] for r in rows} and len(rows) >= 4
    assert all(r["episodes"] == 4 and r["wins"] + r["draws"] + r["losses"] == 4 for r in rows)

    resumed = _marl(project, "train", "--resume", str(run_dir), "--set", "stop.iterations=3")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    metrics = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [m["iteration"] for m in metrics] == [1, 2, 3]


@pytest.mark.parametrize(("broken", "needles"), [
    ("space", ("race_game:env", "api test failed")),
    ("agent", ("race_game:env", "KeyError", "observation_space")),
])
def test_broken_custom_env_fails_before_training(tmp_path: Path, broken: str,
                                                 needles: tuple[str, ...]) -> None:
    project = _project(tmp_path, broken=broken)
    proc = _marl(project, "train", "race.yaml", timeout=60)
    _one_error_line(proc, *needles)
    assert not (project / "runs").exists()  # nothing started, nothing written


@pytest.mark.parametrize(("env", "needle"), [
    ({"entry_point": "no_such_module:env", "setting": "competitive"}, "cannot import"),
    ({"entry_point": "race_game:nope", "setting": "competitive"}, "has no 'nope'"),
    ({"entry_point": "race_game:env"}, "env.setting"),
    ({"entry_point": "race_game", "setting": "competitive"}, "module:constructor"),
    ({"id": "competitive/connect_four-v0", "entry_point": "race_game:env",
      "setting": "competitive"}, "exactly one"),
    ({"id": "competitive/connect_four-v0", "setting": "competitive"}, "remove them"),
])
def test_bad_entry_point_is_one_line(tmp_path: Path, env: dict, needle: str) -> None:
    project = _project(tmp_path, env=env)
    _one_error_line(_marl(project, "spec", "validate", "race.yaml", "--resolved", timeout=60),
                    needle)


def test_register_from_python_names_the_env_by_id(tmp_path: Path, monkeypatch) -> None:
    import marl.envs
    from envs import registry
    from marl.experiment import resolve
    from marl.spec import spec_from_dict

    _project(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "race_game", raising=False)
    monkeypatch.setattr(registry, "_BY_ID", dict(registry._BY_ID))  # leave no registration
    with pytest.raises(ValueError, match="built-in"):
        marl.envs.register("competitive/connect_four-v0", "race_game:env")
    marl.envs.register("competitive/race-v0", "race_game:env", defaults={"target": 4})
    assert "competitive/race-v0" in marl.envs.env_ids()
    spec = spec_from_dict({"name": "race", "env": {"id": "competitive/race-v0"},
                           "stop": {"iterations": 1}})
    exp = resolve(spec)
    assert exp.api == "aec" and exp.entry.masked and exp.entry.custom
    # Env runners never see the registration: the config they build from carries it.
    assert exp.env_config["entry_point"] == "race_game:env"
    assert exp.env_config["defaults"] == {"target": 4}
    from envs.factory import make_spec_env

    env = make_spec_env(exp.play_config())
    env.reset(seed=0)
    assert env.unwrapped.target == 4


def test_submit_stages_the_env_module_with_the_job(tmp_path: Path, monkeypatch) -> None:
    from marl.cluster import env_sources, stage_project
    from marl.spec import load_spec

    project = _project(tmp_path)
    monkeypatch.chdir(project)
    monkeypatch.delitem(sys.modules, "race_game", raising=False)  # the user's, not a cached one
    monkeypatch.setattr(sys, "path", list(sys.path))
    spec = load_spec(project / "race.yaml")
    sources = env_sources(spec)
    assert sources == [project / "race_game.py"]
    staged = stage_project("name: x\n", tmp_path / "staged", extra=sources)
    assert (staged / "race_game.py").read_text() == (project / "race_game.py").read_text()
    assert (staged / "marl" / "cli" / "main.py").is_file()


def test_conformance_passes_a_good_env_and_names_a_bad_one() -> None:
    from envs.conformance import conformance_error
    from envs.registry import make_env

    assert conformance_error(lambda: make_env("competitive/connect_four-v0"), "aec") is None
    assert conformance_error(lambda: make_env("mixed/stag_hunt-v0"), "parallel") is None

    def broken():
        env = make_env("mixed/stag_hunt-v0")
        env.possible_agents = [*env.possible_agents, "ghost"]
        return env

    error = conformance_error(broken, "parallel")
    assert error is not None and "\n" not in error and "parallel api test failed" in error
