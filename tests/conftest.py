"""Suite-wide options.

``--sampler stock|lean`` runs every training in the suite with that env runner,
whatever the spec says (``resources.sampler``), so the same behavioural tests check
both RLlib's stock runner and the lean one. Tests marked ``own_sampler`` (those about
one runner in particular) keep their spec's choice.

    .venv/bin/python -m pytest -q tests/rllib --sampler stock
    .venv/bin/python -m pytest -q tests/rllib --sampler lean
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--sampler", choices=("spec", "stock", "lean"), default="spec",
                     help="env runner for every training: the spec's (default), RLlib's "
                          "stock runner, or the lean runner")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "own_sampler: not affected by --sampler")


@pytest.fixture(autouse=True)
def _forced_sampler(request: pytest.FixtureRequest) -> Iterator[None]:
    forced = request.config.getoption("--sampler")
    if forced == "spec" or request.node.get_closest_marker("own_sampler"):
        yield
        return
    import marl.rllib.sampling.runner as lean_runner

    original = lean_runner.configure_sampler

    def configure(config, resources):  # noqa: ANN001, ANN202 - same signature
        update = {"sampler": forced}
        if forced == "stock":
            update["overlap"] = False
        return original(config, resources.model_copy(update=update))

    lean_runner.configure_sampler = configure
    yield
    lean_runner.configure_sampler = original
