"""Dependency rule: marl.league is pure Python and never imports ray."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import marl.league

REPO = Path(__file__).resolve().parents[2]
LEAGUE_DIR = REPO / "marl" / "league"


def test_import_marl_league_loads_no_ray() -> None:
    code = (
        "import sys, marl.league\n"
        "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))\n"
        "print('marl.league' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["[]", "True"]


def test_no_module_in_marl_league_imports_ray() -> None:
    files = sorted(LEAGUE_DIR.glob("*.py"))
    assert len(files) >= 8
    offenders = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "ray"]
    assert offenders == []


def test_public_surface_is_explicit() -> None:
    assert all(hasattr(marl.league, name) for name in marl.league.__all__)
    for path in sorted(LEAGUE_DIR.glob("*.py")):
        assert len(path.read_text().splitlines()) <= 400, path.name
