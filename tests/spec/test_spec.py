"""Spec validation: shipped experiments, one-line errors naming the field, overrides, schema."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from envs.wrappers.stacks import STACKS
from marl.errors import SpecError
from marl.spec import Spec, dump_spec, load_spec, parse_overrides, spec_from_dict, spec_schema

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = sorted([*ROOT.glob("experiments/**/*.yaml"), *ROOT.glob("experiments/**/*.yml")])
MINIMAL = {"name": "t", "env": {"id": "cooperative/spread-v0"}}


def _spec(**over: Any) -> Spec:
    return spec_from_dict({**MINIMAL, **over})


def _error(data: Any = None, overrides: list[str] | None = None,
           tmp_path: Path | None = None) -> str:
    """The SpecError message for ``data`` (+ overrides), asserting it is one line."""
    with pytest.raises(SpecError) as info:
        if overrides is None:
            spec_from_dict(data)
        else:
            path = tmp_path / "spec.yaml"
            path.write_text(yaml.safe_dump(data if data is not None else MINIMAL))
            load_spec(path, overrides)
    message = str(info.value)
    assert "\n" not in message, message
    return message


# ---------------------------------------------------------------- shipped experiments
def test_experiments_exist() -> None:
    assert EXPERIMENTS, "experiments/ holds no YAML spec"


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_experiment_validates(path: Path) -> None:
    spec = load_spec(path)
    assert spec.name


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_experiment_says_how_to_run_and_what_to_expect(path: Path) -> None:
    lines = path.read_text().splitlines()
    head = "\n".join(lines[: next(i for i, line in enumerate(lines) if not line.startswith("#"))])
    assert head.startswith("# How to run") and "Expect" in head, f"{path.name}: opening comment"


# ---------------------------------------------------------------- rejected specs
@pytest.mark.parametrize(
    "data, field",
    [
        ({**MINIMAL, "sed": 1}, "sed"),
        ({**MINIMAL, "algorithm": {"lrr": 0.1}}, "algorithm.lrr"),
        ({**MINIMAL, "env": {"id": "cooperative/spread-v0", "confg": {}}}, "env.confg"),
        ({**MINIMAL, "policies": {"model": {"hiden": [8]}}}, "policies.model.hiden"),
    ],
)
def test_unknown_key_is_rejected_by_name(data: dict, field: str) -> None:
    message = _error(data)
    assert f"unknown key '{field}'" in message


@pytest.mark.parametrize(
    "data, field",
    [
        ({**MINIMAL, "seed": "abc"}, "seed"),
        ({**MINIMAL, "algorithm": {"num_epochs": "many"}}, "algorithm.num_epochs"),
        ({**MINIMAL, "policies": {"model": {"hidden": "big"}}}, "policies.model.hidden"),
        ({**MINIMAL, "tracking": {"tensorboard": "sometimes"}}, "tracking.tensorboard"),
        ({**MINIMAL, "env": "cooperative/spread-v0"}, "env"),
        ({**MINIMAL, "policies": {"mode": "everyone"}}, "policies.mode"),
    ],
)
def test_wrong_type_is_rejected_by_name(data: dict, field: str) -> None:
    assert f"invalid value for '{field}'" in _error(data)


@pytest.mark.parametrize(
    "data, field",
    [
        ({**MINIMAL, "seed": -1}, "seed"),
        ({**MINIMAL, "algorithm": {"gamma": 1.5}}, "algorithm.gamma"),
        ({**MINIMAL, "algorithm": {"lr": 0}}, "algorithm.lr"),
        ({**MINIMAL, "algorithm": {"num_epochs": 0}}, "algorithm.num_epochs"),
        ({**MINIMAL, "algorithm": {"lambda": 2}}, "algorithm.lambda"),
        ({**MINIMAL, "resources": {"num_env_runners": -1}}, "resources.num_env_runners"),
        ({**MINIMAL, "stop": {"iterations": 0}}, "stop.iterations"),
        ({**MINIMAL, "checkpoint": {"keep": 0}}, "checkpoint.keep"),
    ],
)
def test_out_of_range_is_rejected_by_name(data: dict, field: str) -> None:
    message = _error(data)
    assert f"invalid value for '{field}'" in message
    assert "greater than" in message or "less than" in message


def test_minibatch_larger_than_batch_is_rejected() -> None:
    message = _error({**MINIMAL, "algorithm": {"train_batch_size": 200, "minibatch_size": 256}})
    assert "minibatch_size (256) must be <= train_batch_size (200)" in message
    # Equal is fine.
    assert _spec(algorithm={"train_batch_size": 256, "minibatch_size": 256})


@pytest.mark.parametrize(
    "data, needle",
    [
        ({"env": {"id": "cooperative/spread-v0"}}, "missing required key 'name'"),
        ({"name": "t"}, "missing required key 'env'"),
        ({**MINIMAL, "name": "has space"}, "invalid value for 'name'"),
        ({**MINIMAL, "stop": {}}, "set at least one of stop.iterations"),
        ({**MINIMAL, "policies": {"mode": "groups"}}, "needs policies.groups"),
        ({**MINIMAL, "policies": {"groups": {"*": "p"}}}, "only used with mode: groups"),
        ({**MINIMAL, "policies": {"frozen": {"bad name": "random"}}}, "'bad name'"),
        ({**MINIMAL, "policies": {"mode": "per_agent", "frozen": {"a": "random"}, "train": ["a"]}},
         "frozen and cannot be in policies.train"),
        ({**MINIMAL, "policies": {"model": {"hidden": []}}}, "non-empty list"),
        (["a", "b"], "must be a YAML mapping"),
    ],
)
def test_cross_field_rules(data: Any, needle: str) -> None:
    assert needle in _error(data)


def test_unknown_preprocess_stack_names_the_choices() -> None:
    message = _error({**MINIMAL, "env": {"id": "cooperative/spread-v0", "preprocess": "zzz"}})
    assert "env.preprocess" in message and "'zzz'" in message
    for name in STACKS:
        assert name in message
    for name in STACKS:
        assert _spec(env={"id": "competitive/tag-v0", "preprocess": name}).env.preprocess == name


# ---------------------------------------------------------------- env ids
@pytest.mark.parametrize(
    "bad, closest",
    [
        ("competitive/connect_fuor-v0", "competitive/connect_four-v0"),
        ("competitive/connect_four-v1", "competitive/connect_four-v0"),
        ("cooperative/spread", "cooperative/spread-v0"),
        ("connect_four", "competitive/connect_four-v0"),
        ("mixed/prisoner_dilemma-v0", "mixed/prisoners_dilemma-v0"),
    ],
)
def test_unknown_env_id_suggests_closest(bad: str, closest: str) -> None:
    message = _error({**MINIMAL, "env": {"id": bad}})
    assert f"unknown env id '{bad}'" in message
    assert "did you mean" in message and closest in message.split("did you mean", 1)[1]


def test_unrelated_env_id_points_to_envs_list() -> None:
    assert "marl envs list" in _error({**MINIMAL, "env": {"id": "zzzzzzzzzzzzzzzzzzzzzzzzzzzzz"}})


# ---------------------------------------------------------------- overrides
def test_parse_overrides_nests_and_types_values() -> None:
    got = parse_overrides([
        "stop.iterations=5", "algorithm.lr=0.001", "algorithm.lambda=1", "a.b.c=hello",
        "a.b.d=[1, 2]", "tracking.tensorboard=false", "policies.train=null", "x={k: v}",
        "name=", "e=x=y",
    ])
    assert got == {
        "stop": {"iterations": 5},
        "algorithm": {"lr": 0.001, "lambda": 1},
        "a": {"b": {"c": "hello", "d": [1, 2]}},
        "tracking": {"tensorboard": False},
        "policies": {"train": None},
        "x": {"k": "v"},
        "name": "",
        "e": "x=y",
    }
    assert type(got["stop"]["iterations"]) is int and type(got["algorithm"]["lr"]) is float


@pytest.mark.parametrize("bad", ["stop.iterations", "=5", " =5"])
def test_malformed_override_is_rejected(bad: str) -> None:
    with pytest.raises(SpecError, match="key.path=value"):
        parse_overrides([bad])


def test_override_of_a_value_then_a_subkey_is_rejected() -> None:
    with pytest.raises(SpecError, match="set twice"):
        parse_overrides(["a=1", "a.b=2"])


def test_overrides_apply_over_the_file(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({
        **MINIMAL,
        "algorithm": {"lr": 0.01, "num_epochs": 3},
        "env": {"id": "cooperative/spread-v0", "config": {"N": 3, "max_cycles": 25}},
    }))
    spec = load_spec(path, [
        "algorithm.lr=1e-3",           # YAML reads this as a string; the model parses it
        "stop.iterations=7",
        "env.config.N=2",
        "policies.model.hidden=[32, 16]",
        "tracking.wandb.mode=disabled",
        "seed=3",
    ])
    assert spec.algorithm.lr == pytest.approx(1e-3)
    assert spec.algorithm.num_epochs == 3  # untouched sibling survives the merge
    assert spec.stop.iterations == 7
    assert spec.env.config == {"N": 2, "max_cycles": 25}
    assert spec.policies.model.hidden == [32, 16]
    assert spec.tracking.wandb.mode == "disabled"
    assert spec.seed == 3


def test_override_errors_name_the_field(tmp_path: Path) -> None:
    assert "unknown key 'algorithm.lrr'" in _error(overrides=["algorithm.lrr=1"], tmp_path=tmp_path)
    assert "invalid value for 'stop.iterations'" in _error(
        overrides=["stop.iterations=-2"], tmp_path=tmp_path)
    assert "invalid value for 'seed'" in _error(overrides=["seed=abc"], tmp_path=tmp_path)


# ---------------------------------------------------------------- files
def test_missing_file_and_yaml_error_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="spec file not found"):
        load_spec(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nenv:\n  id: [oops\n")
    with pytest.raises(SpecError) as info:
        load_spec(bad)
    assert "YAML syntax error at line" in str(info.value) and "\n" not in str(info.value)


# ---------------------------------------------------------------- schema and round trip
def _walk_properties(schema: dict) -> list[tuple[str, dict]]:
    out = []
    for model_name, model in [("Spec", schema), *schema.get("$defs", {}).items()]:
        for prop, body in model.get("properties", {}).items():
            out.append((f"{model_name}.{prop}", body))
    return out


def test_schema_is_valid_json_schema_with_descriptions() -> None:
    schema = json.loads(spec_schema())
    jsonschema.Draft202012Validator.check_schema(schema)
    props = _walk_properties(schema)
    assert len(props) > 30
    undocumented = [name for name, body in props if not body.get("description")]
    assert not undocumented, f"fields without a docstring: {undocumented}"
    assert "lambda" in schema["$defs"]["AlgorithmSpec"]["properties"]  # alias, as users write it
    assert schema["additionalProperties"] is False


def test_schema_accepts_resolved_specs_and_rejects_unknown_keys() -> None:
    validator = jsonschema.Draft202012Validator(json.loads(spec_schema()))
    for path in EXPERIMENTS:
        validator.validate(load_spec(path).to_dict())
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**MINIMAL, "sed": 1})


def test_cli_spec_schema_prints_the_schema() -> None:
    marl = Path(sys.executable).with_name("marl")
    marl = str(marl) if marl.exists() else (shutil.which("marl") or "marl")
    out = subprocess.run([marl, "spec", "schema"], capture_output=True, text=True,
                         timeout=60, check=True)
    schema = json.loads(out.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema == json.loads(spec_schema())


def test_resolved_spec_round_trips(tmp_path: Path) -> None:
    spec = _spec(algorithm={"lambda": 0.9, "lr": 1e-3}, policies={"mode": "per_agent"},
                 env={"id": "cooperative/spread-v0", "config": {"N": 2}}, seed=4)
    data = spec.to_dict()
    assert data["algorithm"]["lambda"] == 0.9 and "lambda_" not in data["algorithm"]
    assert Spec.model_validate(data) == spec
    dump_spec(spec, tmp_path / "spec.yaml")
    again = load_spec(tmp_path / "spec.yaml")
    assert again == spec and again.to_dict() == data
    # Every default is written out, so a run's spec.yaml does not change meaning when
    # defaults change later.
    assert set(yaml.safe_load((tmp_path / "spec.yaml").read_text())) == set(Spec.model_fields)


def test_spec_is_frozen() -> None:
    spec = _spec()
    with pytest.raises(Exception):
        spec.seed = 5  # type: ignore[misc]
