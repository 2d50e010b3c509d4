"""Env presets under the spec, and the learning settings' rules (no Ray)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from marl.cli.main import app
from marl.errors import SpecError
from marl.spec import preset_keys, spec_from_dict

C4 = {"id": "competitive/connect_four-v0"}
SPREAD = {"id": "cooperative/spread-v0"}


def test_a_minimal_spec_gets_the_env_preset() -> None:
    spec = spec_from_dict({"name": "m", "env": C4, "stop": {"time_s": 60}})
    alg = spec.algorithm
    assert (alg.train_batch_size, alg.num_minibatches, alg.num_epochs) == (4096, 4, 4)
    assert spec.resources.num_envs_per_env_runner == 16
    # connect four's own: cnn, an annealed 2e-3, random openings in training
    model = spec.policies.model
    assert model.encoder == "cnn" and model.conv == [[32, 3], [32, 3]]
    assert model.features == "threats"
    assert (alg.lr, alg.lr_schedule, spec.env.random_opening) == (2e-3, "linear", 2)
    ttt = spec_from_dict({"name": "m", "env": {"id": "competitive/tictactoe-v0"}})
    assert ttt.env.random_opening == 0 and ttt.algorithm.lr_schedule == "constant"
    # a spec's own model is kept whole (no cnn under its mlp widths)
    own = spec_from_dict({"name": "m", "env": C4, "policies": {"model": {"hidden": [64]}}})
    assert own.policies.model.encoder == "mlp" and own.policies.model.hidden == [64]
    assert own.policies.model.features == "none"  # threats need the preset's cnn
    # dqn anneals over stop.env_steps only: the preset's schedule is not its
    dqn = spec_from_dict({"name": "m", "env": C4, "algorithm": {"name": "dqn"},
                          "resources": {"sampler": "stock"}})
    assert dqn.algorithm.lr_schedule == "constant"
    spread = spec_from_dict({"name": "m", "env": SPREAD})
    assert spread.algorithm.lr == pytest.approx(7e-4) and spread.algorithm.num_minibatches == 1
    assert spread.policies.model.hidden == [64, 64]


def test_a_spec_value_always_wins_over_the_preset() -> None:
    spec = spec_from_dict({"name": "m", "env": C4, "algorithm": {"num_epochs": 7, "lr": 1e-3},
                           "resources": {"num_envs_per_env_runner": 3}})
    assert (spec.algorithm.num_epochs, spec.algorithm.lr) == (7, 1e-3)
    assert spec.resources.num_envs_per_env_runner == 3
    assert spec.algorithm.num_minibatches == 4  # the rest of the preset still applies
    # An explicit minibatch_size is kept: the preset's num_minibatches would override it.
    own = spec_from_dict({"name": "m", "env": C4, "algorithm": {"minibatch_size": 128}})
    assert own.algorithm.num_minibatches is None and own.algorithm.minibatch_size == 128


def test_a_spec_model_replaces_the_preset_model_whole() -> None:
    spread = spec_from_dict({"name": "m", "env": SPREAD,
                             "policies": {"model": {"activation": "relu"}}})
    assert spread.policies.model.activation == "relu"
    assert spread.policies.model.hidden != [64, 64]  # the field default, not the preset's
    assert spread.algorithm.lr == pytest.approx(7e-4)  # the rest of the preset applies


def test_preset_keys_name_what_came_from_the_preset() -> None:
    keys = preset_keys({"name": "m", "env": C4, "algorithm": {"lr": 1e-3}})
    assert "algorithm.lr" not in keys
    assert {"algorithm.num_minibatches", "resources.num_envs_per_env_runner"} <= set(keys)
    assert preset_keys({"name": "m", "env": {"id": "mixed/chicken-v0"}}) == []


def test_a_resumed_spec_keeps_its_saved_values(tmp_path: Path) -> None:
    """spec.yaml of a run holds every value: loading it again changes nothing."""
    from marl.spec import dump_spec, load_spec

    spec = spec_from_dict({"name": "m", "env": C4})
    dump_spec(spec, tmp_path / "spec.yaml")
    assert load_spec(tmp_path / "spec.yaml") == spec


def test_an_older_runs_spec_takes_no_newer_preset_values(tmp_path: Path) -> None:
    """A run saved before a field existed gets the field's default on resume, not what
    today's preset says (connect four's preset now anneals and opens at random)."""
    import json

    import yaml

    from marl.run import open_run_dir
    from marl.spec import dump_spec

    spec = spec_from_dict({"name": "m", "env": C4, "algorithm": {"lr": 3e-4}})
    dump_spec(spec, tmp_path / "spec.yaml")
    old = yaml.safe_load((tmp_path / "spec.yaml").read_text())
    del old["algorithm"]["lr_schedule"], old["env"]["random_opening"]
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(old))
    (tmp_path / "meta.json").write_text(json.dumps({"run_id": "m-1"}))
    loaded, run_id = open_run_dir(tmp_path)
    assert run_id == "m-1" and loaded.algorithm.lr == 3e-4
    assert (loaded.algorithm.lr_schedule, loaded.env.random_opening) == ("constant", 0)


def test_learning_defaults() -> None:
    alg = spec_from_dict({"name": "m", "env": {"id": "mixed/chicken-v0"}}).algorithm
    assert alg.kl_coeff == 0.0 and alg.bootstrap_truncated and alg.lr_schedule == "constant"
    assert not alg.symmetry_augmentation


@pytest.mark.parametrize(("data", "needle"), [
    ({"env": C4, "algorithm": {"name": "dqn", "lr_schedule": "linear"},
      "resources": {"sampler": "stock"}}, "stop.env_steps"),
    ({"env": SPREAD, "policies": {"model": {"encoder": "cnn"}}}, "needs a board"),
    ({"env": C4, "policies": {"model": {"conv": [[8, 2]]}}}, "odd kernel"),
    ({"env": SPREAD, "algorithm": {"symmetry_augmentation": True}}, "declares no symmetry"),
    ({"env": C4, "algorithm": {"name": "mappo", "symmetry_augmentation": True}}, "mappo"),
    ({"env": C4, "policies": {"model": {"encoder": "cnn", "input_norm": "layernorm"}}},
     "input_norm"),
])
def test_bad_learning_settings_name_the_field(data: dict, needle: str) -> None:
    with pytest.raises(SpecError, match=needle):
        spec_from_dict({"name": "m", **data})


def test_validate_resolved_prints_preset_keys_and_the_experiment(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump({"name": "m", "env": C4, "stop": {"time_s": 60}}))
    result = CliRunner().invoke(app, ["spec", "validate", str(path), "--resolved"])
    assert result.exit_code == 0, result.output
    out = yaml.safe_load(result.stdout)
    assert "algorithm.num_minibatches" in out["from_env_preset"]
    assert out["resolved"]["seats"] == {"player_0": 0, "player_1": 1}
    assert out["resolved"]["num_envs_per_env_runner"] == 16
    assert out["algorithm"]["num_minibatches"] == 4


def test_a_spec_that_is_not_utf8_is_one_line_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    result = CliRunner().invoke(app, ["spec", "validate", str(path)])
    assert result.exit_code == 2 and "not UTF-8" in result.output
