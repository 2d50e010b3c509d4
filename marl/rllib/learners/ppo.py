"""The PPO Learner of every ``marl`` algorithm: RLlib's PPO Learner with four fixes.

0. **GAE on the module's critic, advantages standardized over real rows only**
   (``TeamGAE``, ``marl.rllib.connectors.team_gae``; RLlib's GAE also counts the
   appended bootstrap rows). With ``value_normalization`` (ippo/mappo) it works in
   return units and fits the critic to normalized targets.
1. **Time limits bootstrap** (``marl.rllib.connectors.time_limit``): a truncated agent
   is not terminated; its GAE bootstraps V(s_T). Off with
   ``algorithm.bootstrap_truncated: false``.
2. **Adam eps 1e-5** (CleanRL, MAPPO) instead of torch's 1e-8.
3. **Symmetry augmentation** (``algorithm.symmetry_augmentation``,
   ``marl.rllib.connectors.symmetry``): mirrored rows appended after GAE.
4. **Exactly ``num_epochs`` passes per module** (``PerModuleEpochs``). RLlib's
   ``MiniBatchCyclicIterator`` takes ``minibatch_size`` rows of every module at each SGD
   step and runs until the *least* covered module has done ``num_epochs``: a module with
   a third of the rows gets about three times the epochs. Here each module's own rows
   are shuffled and split every epoch, into ``num_minibatches`` minibatches (CleanRL's
   and MAPPO's unit) or into minibatches of about ``minibatch_size`` rows; modules with
   fewer rows get smaller minibatches, not more passes.

Settings ride in ``config.learner_config_dict["marl"]``. ``MappoTorchLearner``
(``learners/mappo.py``) builds on this class.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, cast

import torch
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.algorithms.ppo.torch.ppo_torch_learner import PPOTorchLearner
from ray.rllib.connectors.learner import AddOneTsToEpisodesAndTruncate, GeneralAdvantageEstimation
from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
from ray.rllib.policy.sample_batch import MultiAgentBatch, SampleBatch
from ray.rllib.utils.minibatch_utils import MiniBatchIteratorBase

from marl.rllib.connectors.team_gae import TeamGAE
from marl.rllib.connectors.time_limit import BootstrapTruncated

__all__ = ["ADAM_EPS", "MarlPPOConfig", "PPOLearner", "PerModuleEpochs", "minibatch_edges"]

ADAM_EPS = 1e-5


def minibatch_edges(rows: int, num_minibatches: int) -> list[int]:
    """Row boundaries of ``num_minibatches`` near-equal slices of ``rows`` rows."""
    k = max(1, min(num_minibatches, rows))
    return [round(i * rows / k) for i in range(k + 1)]


class PerModuleEpochs(MiniBatchIteratorBase):
    """Minibatches in which every module makes exactly ``num_epochs`` passes over its rows.

    Every SGD step holds a slice of every module (as long as it has rows left in this
    epoch): with ``num_minibatches`` each module is cut into that many slices per epoch;
    otherwise the step count per epoch is that of the module with the most rows in
    ``minibatch_size`` slices, and every module is cut into that many slices.
    """

    def __init__(self, batch: MultiAgentBatch, *, num_epochs: int = 1,
                 minibatch_size: int | None = None, num_minibatches: int | None = None,
                 shuffle_batch_per_epoch: bool = True, **kwargs: Any) -> None:
        super().__init__(batch, num_epochs=num_epochs, minibatch_size=minibatch_size or 0,
                         shuffle_batch_per_epoch=shuffle_batch_per_epoch)
        self._batch = batch
        self._num_epochs = num_epochs
        if num_minibatches:
            self._steps = int(num_minibatches)
        else:
            size = minibatch_size or max(len(b) for b in batch.policy_batches.values())
            self._steps = max(math.ceil(len(b) / size) for b in batch.policy_batches.values())
        self._shuffle = shuffle_batch_per_epoch

    @property
    def steps_per_epoch(self) -> int:
        return self._steps

    def __iter__(self) -> Iterator[MultiAgentBatch]:
        batches = self._batch.policy_batches
        for _ in range(self._num_epochs):
            edges = {}
            for module_id, module_batch in batches.items():
                if len(module_batch) == 0:
                    raise ValueError(f"the batch of module {module_id} is empty")
                if self._shuffle:
                    module_batch.shuffle()
                edges[module_id] = minibatch_edges(len(module_batch), self._steps)
            for step in range(self._steps):
                # A slice of a SampleBatch is one (RLlib annotates __getitem__ by column).
                minibatch = {mid: cast(SampleBatch, batches[mid][e[step]:e[step + 1]])
                             for mid, e in edges.items() if step + 1 < len(e)}
                yield MultiAgentBatch(minibatch, len(self._batch))


class PPOLearner(PPOTorchLearner):
    """RLlib's PPO Learner with time-limit bootstrapping, Adam eps 1e-5 and exact epochs."""

    config: PPOConfig  # MarlPPOConfig.get_default_learner_class: built from a PPO config

    @property
    def marl_settings(self) -> dict[str, Any]:
        return dict(self.config.learner_config_dict.get("marl", {}))

    def build(self) -> None:
        super().build()
        pipeline = self._learner_connector
        if pipeline is None or not self.config.add_default_connectors_to_learner_pipeline:
            return
        names = [type(c) for c in pipeline.connectors]
        if AddOneTsToEpisodesAndTruncate not in names or GeneralAdvantageEstimation not in names:
            raise RuntimeError("unexpected learner pipeline: RLlib's PPO defaults not found")
        pipeline.remove(GeneralAdvantageEstimation)
        pipeline.append(TeamGAE(gamma=self.config.gamma, lambda_=self.config.lambda_))
        if self.marl_settings.get("bootstrap_truncated", True):
            pipeline.insert_before(AddOneTsToEpisodesAndTruncate, BootstrapTruncated())
        if self.marl_settings.get("symmetry"):
            from marl.rllib.connectors.symmetry import MirrorAugment, make_symmetry

            pipeline.append(MirrorAugment(symmetry=make_symmetry(self.marl_settings["symmetry"])))

    def configure_optimizers_for_module(self, module_id: str, config: Any = None) -> None:
        module = self.module[module_id]
        params = self.get_parameters(module)
        self.register_optimizer(module_id=module_id,
                                optimizer=torch.optim.Adam(params, eps=ADAM_EPS),
                                params=params, lr_or_lr_schedule=config.lr)

    def _create_iterator_if_necessary(self, *, training_data: Any, num_total_minibatches: int = 0,
                                      num_epochs: int = 1, minibatch_size: int | None = None,
                                      shuffle_batch_per_epoch: bool = False, **kwargs: Any) -> Any:
        settings = self.marl_settings
        if (training_data.data_iterators or num_total_minibatches
                or not settings.get("per_module_epochs", True)):
            # Data iterators, and several learners (which must run the same number of
            # steps, see learners/multi_learner.py): RLlib's own iterators.
            return super()._create_iterator_if_necessary(
                training_data=training_data, num_total_minibatches=num_total_minibatches,
                num_epochs=num_epochs, minibatch_size=minibatch_size,
                shuffle_batch_per_epoch=shuffle_batch_per_epoch, **kwargs)
        batch = self._make_batch_if_necessary(training_data=training_data)
        for module_id in list(batch.policy_batches):
            if not self.should_module_be_updated(module_id, batch):
                del batch.policy_batches[module_id]
        if not batch.policy_batches:
            return {}
        batch = self._set_slicing_by_batch_id(batch, value=True)
        return PerModuleEpochs(batch, num_epochs=num_epochs, minibatch_size=minibatch_size,
                               num_minibatches=settings.get("num_minibatches"),
                               shuffle_batch_per_epoch=shuffle_batch_per_epoch)


class MarlPPOConfig(PPOConfig):
    """PPOConfig whose Learner is ``PPOLearner`` and whose env runners hold actors only.

    (RLlib keeps a listed module spec's own ``inference_only=False`` on env runners, which
    would build, and never sync, the critic there.)
    """

    def get_default_learner_class(self) -> type:
        return PPOLearner

    def get_multi_rl_module_spec(self, *args: Any, inference_only: bool = False,
                                 **kwargs: Any) -> MultiRLModuleSpec:
        spec = super().get_multi_rl_module_spec(*args, inference_only=inference_only, **kwargs)
        if inference_only:  # env runners: actors only; critics stay on the learners
            assert spec.rl_module_specs is not None, "a multi-agent spec lists its modules"
            for module_spec in spec.rl_module_specs.values():
                module_spec.inference_only = True
            spec.inference_only = True
        return spec
