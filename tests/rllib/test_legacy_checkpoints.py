"""Run dirs written by marl 0.1 (before the package layout of docs/architecture.md) still
evaluate and resume: RLlib pickled their classes under the old import paths
(``marl.rllib.lean_runner``, ``marl.rllib.mappo.module``, ...; see
``marl/rllib/_legacy.py``).

The fixtures are real 1-iteration runs made with the 0.1 code: a connect-four league with
an alpha-beta opponent, mappo on spread, and ppo on the prisoner's dilemma (social
metrics callback).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from marl.cli.main import app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_runs"
RUNS = {p.name.split("-")[0]: p for p in sorted(FIXTURES.iterdir())}

pytestmark = pytest.mark.usefixtures("ray_session")


def _copy(name: str, tmp_path: Path) -> Path:
    run_dir = tmp_path / RUNS[name].name
    shutil.copytree(RUNS[name], run_dir)
    return run_dir


def test_the_fixtures_name_classes_by_their_old_paths() -> None:
    pickled = b"".join(p.read_bytes() for p in FIXTURES.rglob("class_and_ctor_args.pkl"))
    for old in (b"marl.rllib.lean_runner", b"marl.rllib.mappo.module", b"marl.rllib.mappo.config",
                b"marl.rllib.cluster_hooks", b"marl.rllib.league_modules",
                b"marl.rllib.social_callback"):
        assert old in pickled, old
    assert set(RUNS) == {"legacy_league", "legacy_mappo", "legacy_pd"}


@pytest.mark.parametrize("name", ["legacy_league", "legacy_mappo", "legacy_pd"])
def test_old_runs_evaluate(name: str, tmp_path: Path) -> None:
    run_dir = _copy(name, tmp_path)
    result = CliRunner().invoke(app, ["eval", str(run_dir), "--episodes", "2", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads((run_dir / "eval.json").read_text())
    assert {r["pairing"] for r in rows} >= {"trained", "random"}
    assert all(r["episodes"] == 2 for r in rows)


@pytest.mark.parametrize("name", ["legacy_league", "legacy_mappo"])
def test_old_runs_resume(name: str, tmp_path: Path) -> None:
    run_dir = _copy(name, tmp_path)
    result = CliRunner().invoke(app, ["train", "--resume", str(run_dir),
                                      "--set", "stop.iterations=2"])
    assert result.exit_code == 0, result.output
    latest = json.loads((run_dir / "checkpoints" / "latest").read_text())
    assert latest["iteration"] == 2
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["iteration"] for line in lines] == [1, 2]
    if name == "legacy_league":
        assert (run_dir / "checkpoints" / latest["name"] / "league.json").is_file()
