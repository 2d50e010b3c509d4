"""Several learners (``num_learners >= 2``) with several trainable modules, without the hang.

RLlib 2.58 wraps every module in its own torch ``DistributedDataParallel`` and splits
each iteration's episodes into one shard per learner (``ShardEpisodesIterator``, by
length, slicing chunks to balance). With several trainable modules three things break:

1. **Hang (ray#63819).** A shard without rows of module ``m`` never runs ``m``'s
   backward, so ``m``'s all-reduce is missing on that learner while the others wait
   for it forever. Leagues hit this at once: a rarely matched player, or a player whose
   episodes all landed in one shard. Reproduced: connect four, three trainable modules,
   one of them in 1/12 of the episodes, 2 learners: hung in the second iteration.
2. **Crash on turn-based envs.** Slicing a multi-agent chunk of a turn-based game
   leaves an agent with an observation but no step; RLlib's learner connectors then
   fail ("Trying to get index -1 from []", "Mismatch between num_items ...").
   Reproduced: connect four, per_agent policies, 2 learners, first iteration.
3. **Silent gradient mixing.** Gloo pairs collectives by call order. A learner
   forwards its modules in the order they appear in its batch (its shard's episode
   order) and DDP all-reduces in that order, so two learners with different orders
   average module ``a``'s gradient with module ``b``'s (same shapes: no error).

The fix, installed by ``marl.rllib.callbacks.cluster.ClusterHooks`` (``install``):

1.+2. ``CoveringTrainingData.shard`` shards whole chunks (never sliced), balanced by
   length, then gives every shard lacking a trainable module of this iteration a copy
   of the shortest chunk holding it; every learner runs the same number of minibatches
   (RLlib's ``num_total_minibatches``, at least 1). A copied chunk counts twice in that
   iteration's average: a small bias, paid only by modules that would otherwise hang.
3. ``SortModules``, the last learner-connector piece, puts the batch's modules in
   sorted order, so every learner forwards and all-reduces in the same order.
"""

from __future__ import annotations

import types
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.core.learner.learner_group import LearnerGroup
from ray.rllib.core.learner.training_data import TrainingData
from ray.rllib.utils.typing import EpisodeType

if TYPE_CHECKING:
    class _CoveringLearnerGroup(LearnerGroup):
        """A ``LearnerGroup`` as ``install`` leaves it (never instantiated)."""

        _marl_algorithm: weakref.ref[Any]  # the algorithm owning the group

__all__ = ["CoveringTrainingData", "SortModules", "cover_shards", "install", "modules_in",
           "split_whole"]


def modules_in(episode: Any) -> set[str]:
    """Modules with at least one step in a (multi-agent) episode chunk."""
    agent_episodes = getattr(episode, "agent_episodes", None)
    if agent_episodes is None:  # single-agent episode: the default module
        return {"default_policy"} if len(episode) > 0 else set()
    return {sa.module_id for sa in agent_episodes.values()
            if sa.module_id is not None and len(sa) > 0}


def split_whole(episodes: list[Any], num_shards: int) -> list[list[Any]]:
    """Whole episode chunks into ``num_shards`` lists of near-equal total length.

    Longest chunk first onto the shortest shard. Unlike RLlib's sharder this never
    slices a chunk: slicing turn-based multi-agent chunks leaves agents with an
    observation but no step, which breaks RLlib's learner connectors
    (``AddOneTsToEpisodesAndTruncate``: "Trying to get index -1 from []").
    """
    shards: list[list[Any]] = [[] for _ in range(num_shards)]
    lengths = [0] * num_shards
    for episode in sorted(episodes, key=len, reverse=True):
        i = lengths.index(min(lengths))
        shards[i].append(episode)
        lengths[i] += len(episode)
    return shards


def cover_shards(shards: list[list[Any]], trainable: Callable[[str], bool]) -> list[list[Any]]:
    """Give every shard at least one episode chunk of every trainable module.

    Args:
        shards: episode lists, one per learner.
        trainable: whether a module id is trained.

    Returns:
        New lists: a shard lacking module ``m`` gets the shortest chunk holding ``m``
        (shared, not moved: each learner receives its own serialized copy).
    """
    present = [set().union(*map(modules_in, shard)) if shard else set() for shard in shards]
    wanted = sorted(m for m in set().union(*present) if trainable(m))
    out = [list(shard) for shard in shards]
    for module in wanted:
        holders = [e for shard in shards for e in shard if module in modules_in(e)]
        chunk = min(holders, key=len)  # least extra data
        for i in range(len(out)):
            if module not in present[i]:
                out[i].append(chunk)
                present[i] |= modules_in(chunk)
    return out


class CoveringTrainingData(TrainingData):
    """``TrainingData`` whose episode shards are whole chunks covering every trainable module."""

    trainable: Callable[[str], bool] = staticmethod(lambda module_id: True)

    def shard(self, num_shards: int, len_lookback_buffer: int | None = None, **kwargs: Any):
        if self.episodes is None or num_shards < 2:
            return super().shard(num_shards, len_lookback_buffer=len_lookback_buffer, **kwargs)
        extra = {}
        if kwargs.get("minibatch_size"):
            # Same number of minibatch updates on every learner (RLlib's rule), at least 1:
            # with 0 each learner would count its own epochs and the all-reduces diverge.
            extra["num_total_minibatches"] = max(1, self._compute_num_total_minibatches(
                self.episodes, num_shards, kwargs["minibatch_size"], kwargs.get("num_epochs", 1)))
        shards = cover_shards(split_whole(self.episodes, num_shards), self.trainable)
        return [(TrainingData(episodes=eps), dict(extra)) for eps in shards]


class SortModules(ConnectorV2):
    """Last learner-connector piece: the batch's module ids in sorted order."""

    def __call__(self, *, rl_module: Any, batch: dict[str, Any], episodes: Any,
                 **kwargs: Any) -> Any:
        if isinstance(batch, dict) and len(batch) > 1:
            return {mid: batch[mid] for mid in sorted(batch, key=str)}
        return batch


def _trainable_fn(config: Any) -> Callable[[str], bool]:
    policies = config.policies_to_train
    if policies is None:
        return lambda module_id: True
    if callable(policies):
        def ask(module_id: str) -> bool:
            try:
                return bool(policies(module_id, None))
            except Exception:  # a user predicate that needs the batch: cover it anyway
                return True
        return ask
    chosen = frozenset(policies)
    return lambda module_id: module_id in chosen


def _covering_update(self: _CoveringLearnerGroup, *, episodes: list[EpisodeType] | None = None,
                     training_data: TrainingData | None = None, **kwargs: Any) -> Any:
    if episodes is not None and training_data is None:
        training_data = CoveringTrainingData(episodes=list(episodes))
        # The algorithm's config: add_module keeps its policies_to_train current.
        algorithm = self._marl_algorithm()
        training_data.trainable = _trainable_fn(algorithm.config if algorithm else self.config)
        episodes = None
    return LearnerGroup.update(self, episodes=episodes, training_data=training_data, **kwargs)


def _append_sort_modules(learner: Any) -> bool:
    pipeline = learner._learner_connector
    if pipeline is None or any(isinstance(c, SortModules) for c in pipeline.connectors):
        return False
    pipeline.append(SortModules())
    return True


def install(algorithm: Any) -> bool:
    """Apply both fixes to an algorithm with >= 2 remote learners; True if applied."""
    group = getattr(algorithm, "learner_group", None)
    if group is None or group.is_local or len(group) < 2:
        return False
    group._marl_algorithm = weakref.ref(algorithm)
    group.update = types.MethodType(_covering_update, group)
    group.foreach_learner(_append_sort_modules)
    return True
