"""``env.preprocess`` pipelines and image cnn settings in the spec: one-line errors, the
pistonball preset, and the round trip through the run dir's spec dump and ``resolve``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from marl.errors import SpecError
from marl.experiment import resolve
from marl.policies import NATURE_CONV, cnn_input
from marl.spec import dump_spec, load_spec, spec_from_dict

PISTONBALL = {"id": "cooperative/pistonball-v0", "config": {"n_pistons": 4}}
KAZ = {"id": "cooperative/knights_archers_zombies-v0", "config": {"max_cycles": 50}}
PIXELS = [{"color_reduction": {"mode": "B"}}, {"resize": {"x_size": 36, "y_size": 36}},
          {"frame_stack": 2}]


def _data(env: dict[str, Any], **over: Any) -> dict[str, Any]:
    return {"name": "t", "env": env, **over}


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(SpecError) as info:
        resolve(spec_from_dict(data, source="s.yaml"))
    message = str(info.value)
    assert "\n" not in message, message
    return message


@pytest.mark.parametrize(("preprocess", "needles"), [
    ([{"frame_stack": 4}, {"resise": {}}],
     ["step 2: unknown wrapper 'resise'", "did you mean resize?"]),
    ([{"resize": {"x_size": 8, "ysize": 8}}], ["step 1 (resize)", "did you mean y_size?"]),
    ([{"color_reduction": {"mode": "b"}}], ["mode must be one of R, G, B, full"]),
    (["flatten"], ["write the step as a mapping"]),
    (7, ["a pipeline is a list"]),
])
def test_bad_pipelines_fail_validation_on_env_preprocess(preprocess: Any,
                                                          needles: list[str]) -> None:
    message = _error(_data({**PISTONBALL, "preprocess": preprocess}))
    assert message.startswith("s.yaml: invalid value for 'env.preprocess': "), message
    for needle in needles:
        assert needle in message, (needle, message)


def test_a_step_the_env_does_not_take_is_an_env_preprocess_error() -> None:
    message = _error(_data({**KAZ, "preprocess": [{"color_reduction": {"mode": "G"}}]}))
    assert message.startswith("env.preprocess: step 1 (color_reduction): ")


def test_minimal_pistonball_spec_gets_the_preset_pipeline_and_small_cnn() -> None:
    spec = spec_from_dict(_data(PISTONBALL))
    assert [next(iter(s)) for s in spec.env.preprocess] == [
        "color_reduction", "resize", "frame_stack"]
    assert spec.policies.model.encoder == "cnn" and spec.policies.model.share_encoder
    exp = resolve(spec)
    assert exp.observation_spaces["piston_0"].shape == (32, 32, 4)
    cnn = cnn_input(spec.policies.model, exp.entry, exp.observation_spaces["piston_0"], "shared")
    assert cnn.board == (32, 32, 4) and cnn.conv == ((16, 4, 2), (32, 3, 2))
    assert cnn.scale == pytest.approx(1 / 255)  # uint8 pixels
    # A cnn without conv layers on an image gets the Nature CNN.
    spec = spec_from_dict(_data({**PISTONBALL, "preprocess": PIXELS},
                                policies={"model": {"encoder": "cnn"}}))
    assert spec.policies.model.conv is None
    exp = resolve(spec)
    cnn = cnn_input(spec.policies.model, exp.entry, exp.observation_spaces["piston_0"], "shared")
    assert cnn.conv == NATURE_CONV
    # A spec's own pipeline replaces the preset's whole.
    spec = spec_from_dict(_data({**PISTONBALL, "preprocess": PIXELS}))
    assert spec.env.preprocess == PIXELS


def test_pipeline_round_trips_through_the_spec_dump(tmp_path: Path) -> None:
    spec = spec_from_dict(_data({**PISTONBALL, "preprocess": [*PIXELS, {"dtype": "float32"},
                                                               {"normalize_obs": {}}]},
                                policies={"model": {"encoder": "cnn",
                                                    "conv": [[8, 4, 2], [16, 3]]}}))
    dump_spec(spec, tmp_path / "spec.yaml")
    again = load_spec(tmp_path / "spec.yaml")
    assert again == spec
    exp = resolve(again)
    assert exp.env_config["preprocess"] == spec.to_dict()["env"]["preprocess"]
    assert type(exp.env_config["preprocess"]) is list
    assert all(type(step) is dict for step in exp.env_config["preprocess"])
    cnn = cnn_input(again.policies.model, exp.entry, exp.observation_spaces["piston_1"], "shared")
    assert cnn.board == (36, 36, 2) and cnn.scale == 1.0  # float32 after normalize_obs
    assert cnn.conv == ((8, 4, 2), (16, 3))


def test_cnn_needs_an_image_or_board_after_the_pipeline() -> None:
    message = _error(_data(KAZ, policies={"model": {"encoder": "cnn"}}))
    assert "cnn needs a board or an image" in message and "use encoder: mlp" in message
    message = _error(_data({**PISTONBALL, "preprocess": [{"flatten": {}}]}))
    assert "cnn needs a board or an image" in message
    # A reshape makes KAZ's (27, 5) vectors an image the cnn takes.
    spec = spec_from_dict(_data({**KAZ, "preprocess": [{"reshape": [27, 5, 1]}]},
                                policies={"model": {"encoder": "cnn", "conv": [[8, 3]]}}))
    exp = resolve(spec)
    assert cnn_input(spec.policies.model, exp.entry, exp.observation_spaces["knight_0"],
                     "shared").board == (27, 5, 1)


def test_conv_layers_that_do_not_fit_the_image_fail_before_a_run() -> None:
    message = _error(_data({**PISTONBALL, "preprocess": [
        {"color_reduction": {"mode": "B"}}, {"resize": {"x_size": 16, "y_size": 16}}]},
        policies={"model": {"encoder": "cnn"}}))  # the Nature CNN
    assert message.startswith("policies.model.conv: [[32, 8, 4], [64, 4, 2], [64, 3, 1]] "
                              "does not fit the 16x16x1 observation")


@pytest.mark.parametrize(("conv", "ok"), [
    ([[32, 8, 4], [64, 3]], True), ([[8, 3]], True), ([[8, 2]], False), ([[8, 3, 0]], False),
    ([[0, 3, 1]], False), ([], False), ([[8, 3, 1, 1]], False),
])
def test_conv_entries_take_channels_kernel_and_an_optional_stride(conv: list, ok: bool) -> None:
    data = _data({"id": "competitive/connect_four-v0"},
                 policies={"model": {"encoder": "cnn", "conv": conv}})
    if ok:
        assert spec_from_dict(data).policies.model.conv == conv
    else:
        with pytest.raises(SpecError, match="policies.model"):
            spec_from_dict(data)
