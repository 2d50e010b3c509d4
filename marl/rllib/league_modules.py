"""Scripted league opponents as RLModules (never trained, no weights)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.rl_module import RLModule

from envs.connect_four_opponents import alphabeta_action
from marl.rllib.inference import module_dir, module_policy

__all__ = ["AlphaBetaModule", "checkpoint_policy"]

_C4_BOARD = (6, 7, 2)


class AlphaBetaModule(RLModule):
    """Connect four's depth-limited alpha-beta search (``model_config={"depth": k}``).

    Takes the masked observation ``{"observations": 84 floats, "action_mask": 7}``,
    restores the ``(6, 7, 2)`` board and searches each row; ties go to the centre.
    """

    def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        obs = batch[Columns.OBS]
        boards = np.asarray(obs["observations"]).reshape(-1, *_C4_BOARD).astype(np.int8)
        masks = np.asarray(obs["action_mask"])
        depth = int(self.model_config.get("depth", 1))
        actions = [alphabeta_action({"observation": b, "action_mask": m}, depth)
                   for b, m in zip(boards, masks, strict=True)]
        return {Columns.ACTIONS: np.asarray(actions, dtype=np.int64)}

    def _forward_train(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        raise NotImplementedError("a scripted opponent is frozen and never trained")

    def compile(self, *args: Any, **kwargs: Any) -> None:  # TorchRLModule API compatibility
        pass

    def get_state(self, *args: Any, **kwargs: Any) -> dict:
        return {}

    def set_state(self, state: dict) -> None:
        pass


def checkpoint_policy(checkpoint: Path, player_id: str, greedy: bool = False, seed: int = 0) -> Any:
    """A trained player of a checkpoint as an ``act(list_of_obs) -> actions`` callable."""
    module = RLModule.from_checkpoint(str(module_dir(Path(checkpoint), player_id).resolve()))
    module.eval()
    return module_policy(module, greedy, seed)
