"""Import names of marl 0.1, so its checkpoints still load.

RLlib pickles classes by import path into every checkpoint (module classes, the config
and learner class, callbacks, the env runner class). When a module moves, this table
keeps its old path importable: importing an old name yields the new module itself (no
copy, one class object). New code never imports these names.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
from types import ModuleType
from typing import Any

__all__ = ["LEGACY_MODULES", "install"]

LEGACY_MODULES: dict[str, str] = {
    "marl.rllib.cluster_hooks": "marl.rllib.callbacks.cluster",
    "marl.rllib.social_callback": "marl.rllib.callbacks.social",
    "marl.rllib.league_callback": "marl.rllib.league.callback",
    "marl.rllib.league_config": "marl.rllib.league.layout",
    "marl.rllib.league_runtime": "marl.rllib.league.runtime",
    "marl.rllib.league_modules": "marl.rllib.modules.scripted",
    "marl.rllib.lean_runner": "marl.rllib.sampling.runner",
    "marl.rllib.env_adapter": "marl.rllib.env.adapters",
    "marl.rllib.multi_learner": "marl.rllib.learners.multi_learner",
    "marl.rllib.mappo": "marl.rllib.learners",
    "marl.rllib.mappo.config": "marl.rllib.learners.mappo",
    "marl.rllib.mappo.learner": "marl.rllib.learners.mappo",
    "marl.rllib.mappo.module": "marl.rllib.modules.actor_critic",
    "marl.rllib.mappo.value_norm": "marl.rllib.modules.value_norm",
    "marl.rllib.mappo.connectors": "marl.rllib.connectors.team_gae",
    "marl.rllib.mappo.losses": "marl.rllib.learners.losses",
}


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname not in LEGACY_MODULES:
            return None
        return importlib.util.spec_from_loader(fullname, self, is_package=True)

    def create_module(self, spec: Any) -> ModuleType:
        return importlib.import_module(LEGACY_MODULES[spec.name])

    def exec_module(self, module: ModuleType) -> None:
        pass  # the target module is already executed


def install() -> None:
    """Put the alias finder first on ``sys.meta_path`` (idempotent)."""
    if not any(isinstance(f, _Alias) for f in sys.meta_path):
        sys.meta_path.insert(0, _Alias())
