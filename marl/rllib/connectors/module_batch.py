"""Episodes to per-module arrays in one pass, for modules without state.

Between the bootstrap step and the tensors, RLlib's PPO learner pipeline runs six pieces:
``AddObservationsFromEpisodesToBatch``, ``AddColumnsFromEpisodesToTrainBatch`` (actions,
rewards, flags, the sampler's extra outputs), ``AddTimeDimToBatchAndZeroPad`` and
``AddStatesFromEpisodesToBatch`` (nothing without a stateful module),
``AgentToModuleMapping`` (agent-keyed lists to module-keyed lists, item by item) and
``BatchIndividualItems`` (each module's list of chunks concatenated). Each walks every
agent chunk of the batch once per column, through ``InfiniteLookbackBuffer.get`` and
``add_n_batch_items``, and the mapping re-files every chunk's arrays one at a time.

``ModuleBatch`` builds the same batch directly: per chunk (in the same order) it slices
each buffer's arrays once, files them under their module, and concatenates each module's
columns, leaving ``shared_data["memorized_map_structure"]`` as the mapping leaves it.
Where its assumptions do not hold (a stateful module, episodes that are not multi-agent,
buffers not yet numpy, columns filed by module or not as arrays, or flags not added by
the bootstrap step) it runs RLlib's six pieces instead. tests/rllib/connectors/
test_bootstrap_step.py compares marl's whole pipeline with RLlib's, column by column and
dtype by dtype, on real episodes of both samplers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tree
from ray.rllib.connectors.common import (
    AddObservationsFromEpisodesToBatch,
    AddStatesFromEpisodesToBatch,
    AddTimeDimToBatchAndZeroPad,
    AgentToModuleMapping,
    BatchIndividualItems,
)
from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.connectors.learner import AddColumnsFromEpisodesToTrainBatch
from ray.rllib.core.columns import Columns
from ray.rllib.env.multi_agent_episode import MultiAgentEpisode
from ray.rllib.env.utils.infinite_lookback_buffer import InfiniteLookbackBuffer
from ray.rllib.utils.spaces.space_utils import BatchedNdArray

__all__ = ["REPLACED", "ModuleBatch", "use_module_batch"]

REPLACED = (AddObservationsFromEpisodesToBatch, AddColumnsFromEpisodesToTrainBatch,
            AddTimeDimToBatchAndZeroPad, AddStatesFromEpisodesToBatch, AgentToModuleMapping,
            BatchIndividualItems)
"""RLlib's pieces ``ModuleBatch`` stands for, in pipeline order."""


class ModuleBatch(ConnectorV2):
    """RLlib's six batching pieces (``REPLACED``) in one pass (see the module doc)."""

    def __init__(self, pieces: list[Any]) -> None:
        super().__init__()
        self.pieces = pieces  # RLlib's own, for what the fast path does not cover
        self.last_call_fast: bool | None = None
        """Whether the latest call took the one-pass path (None before any call)."""

    def __call__(self, *, rl_module: Any, batch: dict[str, Any], episodes: list[Any],
                 explore: bool | None = None, shared_data: dict | None = None,
                 **kwargs: Any) -> Any:
        self.last_call_fast = shared_data is not None and self._covers(rl_module, batch,
                                                                       episodes)
        if shared_data is None or not self.last_call_fast:
            for piece in self.pieces:
                batch = piece(rl_module=rl_module, batch=batch, episodes=episodes,
                              explore=explore, shared_data=shared_data, **kwargs)
            return batch
        chunks = list(self.single_agent_episode_iterator(episodes,
                                                         agents_that_stepped_only=False))
        for i, chunk in enumerate(chunks):  # AddObservationsFromEpisodesToBatch's ids
            if "_" not in chunk.id_:
                chunk.id_ += "_" + str(i)
        columns: dict[str, dict[tuple, list[Any]]] = {c: dict(d) for c, d in batch.items()}
        new = [c for c in (Columns.OBS, Columns.ACTIONS, Columns.REWARDS) if c not in columns]
        skip = set(columns) | set(new) | {Columns.STATE_IN, Columns.STATE_OUT}
        for chunk in chunks:
            key = (chunk.multi_agent_episode_id, chunk.agent_id, chunk.module_id)
            n = len(chunk)
            for column in new:
                buffer = (chunk.observations if column == Columns.OBS else
                          chunk.actions if column == Columns.ACTIONS else chunk.rewards)
                columns.setdefault(column, {}).setdefault(key, []).append(_rows(buffer, n))
            for column, buffer in chunk.extra_model_outputs.items():
                if column not in skip:
                    columns.setdefault(column, {}).setdefault(key, []).append(
                        _rows(buffer, n))
        structure: dict[str, list[tuple[str, str]]] = {}
        for eps_id, agent_id, module_id in next(iter(columns.values()), {}):
            structure.setdefault(module_id, []).append((eps_id, agent_id))
        shared_data["memorized_map_structure"] = structure
        by_module: dict[str, dict[str, list[Any]]] = {}
        for column, agent_data in columns.items():
            for (_, _, module_id), items in agent_data.items():
                by_module.setdefault(module_id, {}).setdefault(column, []).extend(items)
        return {module_id: {column: _concatenate(items) for column, items in cols.items()}
                for module_id, cols in by_module.items()}

    @staticmethod
    def _covers(rl_module: Any, batch: dict[str, Any], episodes: list[Any]) -> bool:
        if not episodes or not all(isinstance(e, MultiAgentEpisode) for e in episodes):
            return False
        if any(rl_module[mid].is_stateful() for mid in rl_module.keys()):
            return False
        if Columns.TERMINATEDS not in batch or Columns.TRUNCATEDS not in batch:
            return False  # filed by the bootstrap step; RLlib's lists otherwise
        for column, agent_data in batch.items():
            if column in rl_module or column == Columns.INFOS or not isinstance(agent_data, dict):
                return False
            for key, items in agent_data.items():
                if not (isinstance(key, tuple) and len(key) == 3 and isinstance(items, list)):
                    return False
                if not all(_batched(item) for item in items):
                    return False
        for episode in episodes:
            for chunk in episode.agent_episodes.values():
                buffers = [chunk.observations, chunk.actions, chunk.rewards,
                           *chunk.extra_model_outputs.values()]
                if not all(isinstance(b, InfiniteLookbackBuffer) and b.finalized
                           for b in buffers):
                    return False
        return True


def _batched(item: Any) -> bool:
    """Whether ``item`` is rows (``add_n_batch_items``' tagged arrays), not one row."""
    if isinstance(item, BatchedNdArray):
        return True
    if isinstance(item, dict | tuple):
        leaves = tree.flatten(item)
        return bool(leaves) and all(isinstance(x, BatchedNdArray) for x in leaves)
    return False


def _rows(buffer: Any, n: int) -> Any:
    """``buffer.get(slice(0, n))`` of a numpy buffer: its rows after the lookback."""
    start = buffer.lookback
    return tree.map_structure(lambda d: d[start:start + n], buffer.data)


def _concatenate(items: list[Any]) -> Any:
    """``BatchIndividualItems``' ``batch`` of a list of row blocks."""
    first = items[0]
    if isinstance(first, dict | tuple):
        return tree.map_structure(lambda *s: np.concatenate(s, axis=0), *items)
    return np.concatenate(items, axis=0)


def use_module_batch(pipeline: Any) -> None:
    """Put ``ModuleBatch`` in place of RLlib's six pieces in a learner pipeline (they
    must stand together, in order, as RLlib's default pipeline has them)."""
    kinds = [type(c) for c in pipeline.connectors]
    if not all(k in kinds for k in REPLACED):
        return
    start = kinds.index(REPLACED[0])
    if kinds[start:start + len(REPLACED)] != list(REPLACED):
        return
    pieces = pipeline.connectors[start:start + len(REPLACED)]
    pipeline.insert_before(REPLACED[0], ModuleBatch(pieces))
    for kind in REPLACED:
        pipeline.remove(kind)
