"""``env.shaping`` in the spec: validation, the CLI's exit 2, and the env it builds (no Ray)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from envs.factory import make_spec_env
from envs.wrappers.shaping import InequityAversion, Prosocial
from marl.errors import SpecError
from marl.spec import InequityAversionSpec, ProsocialSpec, load_spec, spec_from_dict

ROOT = Path(__file__).resolve().parents[2]
MARL = str(Path(sys.executable).with_name("marl"))


def _spec(env: dict) -> dict:
    return {"name": "s", "env": env}


def test_shaping_kinds_validate_with_defaults() -> None:
    ia = spec_from_dict(_spec({"id": "mixed/commons_harvest-v0",
                               "shaping": {"kind": "inequity_aversion", "alpha": 2, "lambda": 0.5}}))
    assert isinstance(ia.env.shaping, InequityAversionSpec)
    assert (ia.env.shaping.alpha, ia.env.shaping.beta, ia.env.shaping.lambda_) == (2, 0.05, 0.5)
    assert ia.to_dict()["env"]["shaping"]["lambda"] == 0.5  # round-trips under its YAML name
    pro = spec_from_dict(_spec({"id": "mixed/stag_hunt-v0",
                                "shaping": {"kind": "prosocial", "weight": 0.3}}))
    assert isinstance(pro.env.shaping, ProsocialSpec) and pro.env.shaping.weight == 0.3
    assert spec_from_dict(_spec({"id": "mixed/chicken-v0"})).env.shaping is None


@pytest.mark.parametrize(
    ("shaping", "needle"),
    [
        ({"kind": "prosocial"}, "env.shaping.prosocial.weight"),
        ({"kind": "prosocial", "weight": 1.5}, "less than or equal to 1"),
        ({"kind": "inequity_aversion", "alpha": -1}, "env.shaping.inequity_aversion.alpha"),
        ({"kind": "inequity_aversion", "weight": 0.5}, "unknown key"),
        ({"kind": "altruism"}, "inequity_aversion"),
    ],
)
def test_bad_shaping_names_the_field(shaping: dict, needle: str) -> None:
    with pytest.raises(SpecError, match=needle.replace(".", r"\.")):
        spec_from_dict(_spec({"id": "mixed/prisoners_dilemma-v0", "shaping": shaping}))


def test_shaping_on_turn_based_env_is_rejected() -> None:
    with pytest.raises(SpecError, match="env.shaping: .*turn-based"):
        spec_from_dict(_spec({"id": "competitive/connect_four-v0",
                              "shaping": {"kind": "prosocial", "weight": 0.5}}))


@pytest.mark.parametrize("command", ["train", "spec validate"])
def test_cli_exits_2_for_shaping_on_aec_env(tmp_path: Path, command: str) -> None:
    spec = {"name": "aec-shaped", "env": {"id": "competitive/leduc_holdem-v0",
                                          "shaping": {"kind": "prosocial", "weight": 0.5}},
            "storage": str(tmp_path / "runs")}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    proc = subprocess.run([MARL, *command.split(), str(path)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "WANDB_MODE": "disabled"})
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert "env.shaping" in proc.stderr and "parallel" in proc.stderr
    assert not (tmp_path / "runs").exists()  # nothing started


def test_factory_applies_shaping_innermost() -> None:
    cfg = {"id": "mixed/prisoners_dilemma-v0", "shaping": {"kind": "prosocial", "weight": 1.0}}
    env = make_spec_env(cfg)
    assert isinstance(env, Prosocial)
    env.reset(seed=0)
    raw_total = {"player_0": 0.0, "player_1": 0.0}
    for _ in range(3):
        _, rew, _, _, infos = env.step({"player_0": 0, "player_1": 1})  # sucker vs temptation
        assert rew == {"player_0": 2.5, "player_1": 2.5}
        for a in raw_total:
            raw_total[a] += infos[a]["raw_reward"]
            assert infos[a]["raw_return"] == raw_total[a]
    assert raw_total == {"player_0": 0.0, "player_1": 15.0}
    env.reset(seed=0)  # raw returns start again at reset
    _, _, _, _, infos = env.step({"player_0": 1, "player_1": 1})
    assert infos["player_0"]["raw_return"] == 1.0
    ia = make_spec_env({"id": "mixed/commons_harvest-v0", "config": {"num_agents": 2},
                        "shaping": {"kind": "inequity_aversion", "lambda": 0.5}})
    assert isinstance(ia, InequityAversion) and ia.lam == 0.5
    assert not isinstance(make_spec_env({"id": "mixed/chicken-v0"}), (Prosocial, InequityAversion))


def test_experiment_specs_validate() -> None:
    for name in ("commons_selfish", "commons_shaped", "prisoners_dilemma"):
        path = ROOT / "experiments" / f"{name}.yaml"
        text = path.read_text()
        assert text.startswith("# How to run:") and "# Expect:" in text, name
        load_spec(path)
    assert load_spec(ROOT / "experiments" / "commons_selfish.yaml").env.shaping is None
    shaped = load_spec(ROOT / "experiments" / "commons_shaped.yaml")
    assert isinstance(shaped.env.shaping, InequityAversionSpec)


def test_make_shaping_refuses_turn_based_envs() -> None:
    from envs.registry import make_env
    from envs.wrappers.shaping import make_shaping

    with pytest.raises(ValueError, match="parallel"):
        make_shaping(make_env("competitive/connect_four-v0"), {"kind": "prosocial", "weight": 0.5})
