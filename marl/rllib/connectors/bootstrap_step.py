"""The bootstrap step of every episode chunk, with its columns as whole arrays.

RLlib's ``AddOneTsToEpisodesAndTruncate`` (first in PPO's learner pipeline) extends each
agent's episode chunk by one artificial step (its final observation, for V(s_T)) and adds
three columns: ``loss_mask`` (False on that step), ``terminateds`` and ``truncateds``
(the chunk's flags on its last real step). The extension
(``add_one_ts_to_episodes_and_truncate``) appends the last item of every buffer through
``InfiniteLookbackBuffer.append``: an indexed ``get(-1)`` and a ``tree.map_structure``
per buffer, seven buffers a chunk, and a ``validate``; the columns go in as Python lists
of bools, filed, moved to their module and stacked one row at a time.

``AddBootstrapStep`` does the same: the last item of every buffer repeated by slicing the
buffer's arrays, a 0.0 reward appended as RLlib appends it, the chunk truncated if it is
not done, and the three columns as one boolean array per chunk (``add_n_batch_items``
tags an array as a batch of rows). The same episodes and the same batch, row for row and
dtype for dtype (tests/rllib/connectors/test_bootstrap_step.py compares both pipelines'
output on real episodes); on connect four's batch it takes 7.7 ms to RLlib's 16.3
(``benchmarks/learner_speed.py``, docs/benchmarks.md). PPO's learner puts it in place of
RLlib's piece (learners/ppo.py); connectors that must follow the bootstrap step go after
this class.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tree
from ray.rllib.connectors.learner import AddOneTsToEpisodesAndTruncate
from ray.rllib.core.columns import Columns
from ray.rllib.env.multi_agent_episode import MultiAgentEpisode

__all__ = ["AddBootstrapStep", "use_bootstrap_step"]


class AddBootstrapStep(AddOneTsToEpisodesAndTruncate):
    """``AddOneTsToEpisodesAndTruncate`` with array columns (see the module doc)."""

    def __call__(self, *, rl_module: Any, batch: dict[str, Any], episodes: list[Any],
                 explore: bool | None = None, shared_data: dict | None = None,
                 **kwargs: Any) -> Any:
        if episodes and isinstance(episodes[0], MultiAgentEpisode):
            for i, ma_episode in enumerate(episodes):  # ids as RLlib's piece makes them
                ma_episode.id_ += "_" + str(i)
                for sa_episode in ma_episode.agent_episodes.values():
                    sa_episode.multi_agent_episode_id = ma_episode.id_
        for i, sa_episode in enumerate(
                self.single_agent_episode_iterator(episodes, agents_that_stepped_only=False)):
            sa_episode.id_ += "_" + str(i)
            n = len(sa_episode)
            if n == 0:  # RLlib's piece rejects an empty chunk; so does this one
                raise ValueError(f"agent {sa_episode.agent_id!r}: an episode chunk without "
                                 f"steps reached the learner")
            _extend_by_one(sa_episode)
            loss_mask = np.ones(n + 1, dtype=bool)
            loss_mask[n] = False  # the appended bootstrap step
            terminateds = np.zeros(n + 1, dtype=bool)
            terminateds[n - 1] = bool(sa_episode.is_terminated)  # last real step
            truncateds = np.zeros(n + 1, dtype=bool)
            truncateds[n - 1] = bool(sa_episode.is_truncated)  # chunk boundary
            self.add_n_batch_items(batch, Columns.LOSS_MASK, loss_mask, n + 1, sa_episode)
            self.add_n_batch_items(batch, Columns.TERMINATEDS, terminateds, n + 1,
                                   sa_episode)
            self.add_n_batch_items(batch, Columns.TRUNCATEDS, truncateds, n + 1, sa_episode)
        if shared_data is not None:
            shared_data["_added_loss_mask_for_valid_episode_ts"] = True
        return batch


def _repeat_last(buffer: Any) -> None:
    """Append a buffer's last item again (``buffer.append(buffer[-1])``, without the
    indexed lookup)."""
    data = buffer.data
    if not buffer.finalized:
        data.append(data[-1])
    elif isinstance(data, np.ndarray):
        buffer.data = np.concatenate([data, data[-1:]], axis=0)
    else:
        buffer.data = tree.map_structure(lambda d: np.concatenate([d, d[-1:]], axis=0), data)


def _extend_by_one(episode: Any) -> None:
    """RLlib's ``add_one_ts_to_episodes_and_truncate`` for one chunk (see the module doc)."""
    episode.t += 1
    _repeat_last(episode.observations)
    _repeat_last(episode.infos)
    _repeat_last(episode.actions)
    episode.rewards.append(0.0)
    for buffer in episode.extra_model_outputs.values():
        _repeat_last(buffer)
    if not episode.is_done:
        episode.is_truncated = True


def use_bootstrap_step(pipeline: Any) -> None:
    """Put ``AddBootstrapStep`` in place of RLlib's piece in a learner pipeline."""
    pipeline.insert_before(AddOneTsToEpisodesAndTruncate, AddBootstrapStep())
    pipeline.remove(AddOneTsToEpisodesAndTruncate)
