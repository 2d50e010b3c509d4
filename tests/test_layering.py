"""The dependency rules of docs/architecture.md, checked on the source (every import,
function-level ones included).

    envs            imports no marl
    marl.league     pure Python: no ray (nor does marl.spec)
    marl.rllib      the only importer of ray.rllib
    layers          no module imports one of a higher layer; no import circles
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Bottom to top. A module may import its own layer or lower ones (docs/architecture.md).
LAYERS: list[tuple[str, ...]] = [
    ("envs",),
    ("marl.errors", "marl.events"),
    ("marl.league", "marl.play"),
    ("marl.spec", "marl.policies", "marl.algorithms", "marl.resources", "marl.storage", "marl"),
    ("marl.experiment",),
    ("marl.tracking",),
    ("marl.rllib",),
    ("marl.run", "marl.runs", "marl.cluster", "marl.localcluster"),
    ("marl.evaluate", "marl.sweep"),
    ("marl.cli",),
]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _source_files() -> dict[str, Path]:
    files = sorted([*REPO.glob("marl/**/*.py"), *REPO.glob("envs/**/*.py")])
    return {_module_name(p): p for p in files}


MODULES = _source_files()


def _imports(path: Path) -> set[str]:
    """Every module name imported anywhere in the file (absolute imports only)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            # ``from pkg import mod`` imports the submodule pkg.mod
            out.update(f"{node.module}.{a.name}" for a in node.names
                       if f"{node.module}.{a.name}" in MODULES)
    return out


def _internal_edges() -> dict[str, set[str]]:
    graph = {}
    for name, path in MODULES.items():
        targets = {t for t in _imports(path) if t in MODULES and t != name}
        # A module always imports its parent packages; that is no dependency of its own.
        graph[name] = {t for t in targets if not name.startswith(t + ".")}
    return graph


def _layer(module: str) -> int:
    best = None
    for i, layer in enumerate(LAYERS):
        for prefix in layer:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[1]:
                    best = (i, len(prefix))
    assert best is not None, f"{module} is in no layer: add it to LAYERS and docs/architecture.md"
    return best[0]


def test_every_module_has_a_layer() -> None:
    assert len(MODULES) > 60
    for module in MODULES:
        _layer(module)


def _upward(graph: dict[str, set[str]]) -> list[str]:
    return [f"{src} (layer {_layer(src)}) -> {dst} (layer {_layer(dst)})"
            for src, dsts in sorted(graph.items()) for dst in sorted(dsts)
            if _layer(dst) > _layer(src)]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def test_no_module_imports_a_higher_layer() -> None:
    assert _upward(_internal_edges()) == []


def test_no_import_circles() -> None:
    assert _cycles(_internal_edges()) == []


def test_the_checks_find_planted_faults() -> None:
    """Not vacuous: a league module importing the builder, and a two-module circle."""
    graph = _internal_edges()
    planted = {**graph, "marl.league.manager": graph["marl.league.manager"] | {"marl.rllib.builder"}}
    assert _upward(planted) == ["marl.league.manager (layer 2) -> marl.rllib.builder (layer 6)"]
    circle = {**graph, "marl.spec": graph["marl.spec"] | {"marl.policies"}}
    assert _cycles(circle) == [["marl.spec", "marl.policies", "marl.spec"]]
    assert "marl.league.spec" in graph["marl.spec"]  # the graph sees real imports


def _offenders(prefixes: tuple[str, ...], banned: tuple[str, ...]) -> list[str]:
    out = []
    for name, path in MODULES.items():
        if not any(name == p or name.startswith(p + ".") for p in prefixes):
            continue
        out += [f"{name}: {i}" for i in sorted(_imports(path))
                if any(i == b or i.startswith(b + ".") for b in banned)]
    return out


def test_envs_import_no_marl() -> None:
    assert _offenders(("envs",), ("marl",)) == []


def test_league_and_spec_import_no_ray() -> None:
    assert _offenders(("marl.league", "marl.spec", "marl.experiment", "marl.play"),
                      ("ray",)) == []


def test_only_marl_rllib_imports_ray_rllib() -> None:
    outside = [n for n in _offenders(("marl", "envs"), ("ray.rllib", "ray.tune"))
               if not n.startswith("marl.rllib")]
    assert outside == []


@pytest.mark.parametrize("module", ["marl.league", "marl.spec", "marl.experiment"])
def test_importing_the_pure_core_loads_no_ray(module: str) -> None:
    code = (f"import sys, {module}\n"
            "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["[]"]


def test_no_module_uses_an_old_import_path() -> None:
    """marl 0.1's paths stay importable for its checkpoints (marl/rllib/_legacy.py), but
    code imports the modules where they live now."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_legacy", REPO / "marl/rllib/_legacy.py")
    legacy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(legacy)
    old = set(legacy.LEGACY_MODULES)
    users = []
    for name, path in MODULES.items():
        if name == "marl.rllib._legacy":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                users += [f"{name}: {a.name}" for a in node.names if a.name in old]
            elif isinstance(node, ast.ImportFrom) and node.module:
                targets = {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
                users += [f"{name}: {t}" for t in sorted(targets & old)]
    assert users == []
