"""The PPO Learner of every ``marl`` algorithm: RLlib's PPO Learner with marl's fixes.

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

5. **A lean minibatch loop** (``fast_update``, default on; same losses, same weights).
   RLlib's loop pays per SGD step for a ``SampleBatch`` per module slice, and for two
   ``isfinite`` passes over every gradient tensor (``TorchLearner.apply_gradients``).
   Here each epoch gathers every module's shuffled columns once (the same
   ``np.random.permutation`` draws as ``SampleBatch.shuffle``) and a minibatch is plain
   tensor slices (``ModuleRows``); gradients are clipped by global norm from the per
   tensor norms RLlib computes anyway, and a finite global norm stands for the finiteness
   checks, so Adam steps at once. Per-step statistics (losses, entropy, explained
   variance, gradient norm, off-policyness: all logged with ``window=1``, so an update
   reports the last value) are computed on each module's last minibatch only, and the
   PPO loss skips the previous policy's distribution unless the KL penalty is on.
   Anything the lean loop does not cover (recurrent or
   zero-padded batches, non-tensor columns, clipping by value/norm, grad scalers, torch
   lr schedulers, non-finite gradients) takes RLlib's code; ``fast_update: false`` takes
   it always.

6. **No bootstrap rows in the minibatches** (``drop_bootstrap_rows``): once GAE has
   used them, each chunk's artificial last row (masked out of every loss) leaves the
   batch, so SGD runs on real rows only, as CleanRL's and MAPPO's loops do, and
   ``minibatch_size`` / ``num_minibatches`` count real rows. Stateful modules keep them.
7. **Episodes to module arrays in one pass** (``ModuleBatch``,
   ``marl.rllib.connectors.module_batch``) in place of RLlib's six batching pieces.
8. **Steps-trained counters once per update** in the lean loop
   (``_log_steps_trained_metrics``): RLlib logs eight counters a module per SGD step;
   here they are summed over the update's minibatches and logged once, the same figures.

Settings ride in ``config.learner_config_dict["marl"]``. ``MappoTorchLearner``
(``learners/mappo.py``) builds on this class.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator
from typing import Any, cast

import numpy as np
import torch
import tree
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.algorithms.ppo.ppo import (
    LEARNER_RESULTS_KL_KEY,
    LEARNER_RESULTS_VF_EXPLAINED_VAR_KEY,
    LEARNER_RESULTS_VF_LOSS_UNCLIPPED_KEY,
)
from ray.rllib.algorithms.ppo.torch.ppo_torch_learner import PPOTorchLearner
from ray.rllib.connectors.learner import AddOneTsToEpisodesAndTruncate, GeneralAdvantageEstimation
from ray.rllib.core.columns import Columns
from ray.rllib.core.learner.learner import ENTROPY_KEY, POLICY_LOSS_KEY, VF_LOSS_KEY
from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
from ray.rllib.evaluation.postprocessing import Postprocessing
from ray.rllib.policy.sample_batch import MultiAgentBatch, SampleBatch
from ray.rllib.utils.metrics import (
    ALL_MODULES,
    MODULE_TRAIN_BATCH_SIZE_MEAN,
    NUM_ENV_STEPS_SAMPLED_LIFETIME,
    NUM_ENV_STEPS_TRAINED,
    NUM_ENV_STEPS_TRAINED_LIFETIME,
    NUM_MODULE_STEPS_TRAINED,
    NUM_MODULE_STEPS_TRAINED_LIFETIME,
    WEIGHTS_SEQ_NO,
)
from ray.rllib.utils.minibatch_utils import MiniBatchIteratorBase
from ray.rllib.utils.torch_utils import explained_variance
from ray.rllib.utils.typing import ParamDict

from marl.rllib.connectors.bootstrap_step import use_bootstrap_step
from marl.rllib.connectors.module_batch import use_module_batch
from marl.rllib.connectors.team_gae import TeamGAE
from marl.rllib.connectors.time_limit import BootstrapTruncated

__all__ = ["ADAM_EPS", "MarlPPOConfig", "ModuleRows", "PPOLearner", "PerModuleEpochs",
           "TensorMinibatches", "drop_bootstrap_rows", "minibatch_edges"]

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


class ModuleRows(dict):
    """One module's minibatch on the lean path: column -> tensor (views into the epoch's
    shuffled columns; observations may be a dict of tensors). As for a ``SampleBatch``,
    ``len`` and ``count`` are its number of rows (RLlib's step counters read ``len``)."""

    __slots__ = ("count",)

    def __init__(self, columns: Any = (), count: int | None = None) -> None:
        super().__init__(columns)
        if count is None:  # rebuilt by dm-tree from (key, value) pairs
            leaves = tree.flatten(dict(self))
            count = int(leaves[0].shape[0]) if leaves else 0
        self.count = count

    def __len__(self) -> int:
        return self.count


class _Minibatch(MultiAgentBatch):
    """A ``MultiAgentBatch`` of ``ModuleRows`` (RLlib's constructor asserts SampleBatches)."""

    def __init__(self, policy_batches: dict[str, Any], env_steps: int) -> None:
        self.policy_batches = policy_batches
        self.count = env_steps


class TensorMinibatches(PerModuleEpochs):
    """``PerModuleEpochs`` over a batch of torch tensors, one gather per column and epoch.

    Same rows in the same order as ``PerModuleEpochs`` for the same numpy seed: every
    epoch draws ``np.random.permutation(rows)`` per module, in the batch's module order,
    and applies it to the columns as they stand (``SampleBatch.shuffle`` shuffles in
    place, so the draws compose). The minibatches are ``ModuleRows`` of slices.
    """

    @staticmethod
    def covers(batch: MultiAgentBatch) -> bool:
        """Whether every module batch is flat rows of torch tensors (no sequences, infos)."""
        for module_batch in batch.policy_batches.values():
            if (module_batch.get(SampleBatch.SEQ_LENS) is not None or module_batch.zero_padded
                    or SampleBatch.INFOS in module_batch):
                return False
            if not all(isinstance(v, torch.Tensor) and v.shape[:1] == (module_batch.count,)
                       for v in tree.flatten(dict(module_batch))):
                return False
        return True

    final_modules: set[str] | None = None
    """While iterating: the modules whose last minibatch of the update is the one just
    yielded (``PPOLearner.logs_step_stats``); ``None`` before and after."""

    def __iter__(self) -> Iterator[MultiAgentBatch]:
        batches = self._batch.policy_batches
        columns = {mid: dict(b) for mid, b in batches.items()}
        counts = {mid: b.count for mid, b in batches.items()}
        for mid, n in counts.items():
            if n == 0:
                raise ValueError(f"the batch of module {mid} is empty")
        for epoch in range(self._num_epochs):
            edges = {}
            for mid, n in counts.items():
                if self._shuffle:
                    index = torch.from_numpy(np.random.permutation(n))
                    columns[mid] = tree.map_structure(lambda v, i=index: v[i], columns[mid])
                edges[mid] = minibatch_edges(n, self._steps)
            for step in range(self._steps):
                self.final_modules = (
                    {mid for mid, e in edges.items() if step == len(e) - 2}
                    if epoch == self._num_epochs - 1 else set())
                yield _Minibatch({mid: ModuleRows(tree.map_structure(
                    lambda v, a=e[step], b=e[step + 1]: v[a:b], columns[mid]),
                    e[step + 1] - e[step]) for mid, e in edges.items() if step + 1 < len(e)},
                    len(self._batch))
        self.final_modules = None


def drop_bootstrap_rows(batch: MultiAgentBatch, keep: Collection[str] = ()) -> None:
    """Take the bootstrap rows out of every module batch, after the pipeline.

    Each episode chunk reaches the loss with one artificial row (``AddBootstrapStep``:
    its last observation, for V(s_T)) that GAE needs and the loss masks out. Once the
    advantages and targets are in the batch those rows are dead weight: every minibatch
    would still run them forward and backward (one row in nine on connect four's batch).
    Here each module batch keeps only its ``loss_mask`` rows and loses the column, so a
    minibatch holds real rows only (as CleanRL's and MAPPO's do), ``minibatch_size`` and
    ``num_minibatches`` count real rows, and the losses average over all rows
    (``losses.row_mean``: the same means as over the mask). Modules in ``keep`` (stateful
    ones: their rows are sequences) and batches with sequence lengths, zero padding or
    infos keep their rows and their mask.
    """
    for module_id, module_batch in list(batch.policy_batches.items()):
        mask = module_batch.get(Columns.LOSS_MASK)
        if (mask is None or module_id in keep or module_batch.zero_padded
                or module_batch.get(SampleBatch.SEQ_LENS) is not None
                or SampleBatch.INFOS in module_batch):
            continue
        if isinstance(mask, torch.Tensor):
            mask = mask.bool()
        else:
            mask = np.asarray(mask, dtype=bool)
        columns = {k: tree.map_structure(lambda v, m=mask: v[m], v)
                   for k, v in module_batch.items() if k != Columns.LOSS_MASK}
        batch.policy_batches[module_id] = SampleBatch(columns)


PROGRESS_STEPS = 1_000_000
"""The schedules' clock when a linear schedule anneals over stop.time_s or
stop.iterations: the fraction of the stop budget spent, in millionths
(``PPOLearner.set_budget_progress``; ``marl.rllib.builder.learning_rate``)."""


class PPOLearner(PPOTorchLearner):
    """RLlib's PPO Learner with time-limit bootstrapping, Adam eps 1e-5 and exact epochs."""

    _marl_budget_step: int = 0
    """The budget fraction the driver set last, in ``PROGRESS_STEPS`` units."""
    _marl_steps_trained: dict[str, tuple[int, int]] | None = None
    """During a lean update: each module's (rows, minibatches) so far; None otherwise."""
    _marl_env_steps_trained: int = 0

    def set_budget_progress(self, fraction: float) -> None:
        """The fraction of the run's stop budget spent (the driver, before each
        iteration): the clock of linear lr / entropy schedules without stop.env_steps."""
        if not self.marl_settings.get("budget_progress"):
            return
        step = self._marl_budget_step = int(round(min(1.0, max(0.0, fraction)) * PROGRESS_STEPS))
        # Now, so that this iteration's update already runs at the new values (RLlib
        # moves them after an update, for the next one).
        for optimizer, schedule in self._optimizer_lr_schedules.items():
            self._set_optimizer_lr(optimizer, lr=schedule.update(timestep=step))
        for schedule in self.entropy_coeff_schedulers_per_module.values():
            schedule.update(timestep=step)

    def after_gradient_based_update(self, *, timesteps: dict[str, Any]) -> None:
        self._flush_steps_trained()
        if self.marl_settings.get("budget_progress"):
            timesteps = {**timesteps, NUM_ENV_STEPS_SAMPLED_LIFETIME: self._marl_budget_step}
        super().after_gradient_based_update(timesteps=timesteps)

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
        use_bootstrap_step(pipeline)  # RLlib's bootstrap step, its columns as arrays
        use_module_batch(pipeline)  # RLlib's six batching pieces in one pass
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
        self._marl_minibatches: PerModuleEpochs | None = None
        self._marl_steps_trained = None
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
        if settings.get("drop_bootstrap_rows", True):
            drop_bootstrap_rows(batch, {mid for mid in batch.policy_batches
                                        if self.module[mid].is_stateful()})
        batch = self._set_slicing_by_batch_id(batch, value=True)
        lean = (settings.get("fast_update", True) and TensorMinibatches.covers(batch)
                and not any(self.module[mid].is_stateful() for mid in batch.policy_batches))
        iterator = (TensorMinibatches if lean else PerModuleEpochs)(
            batch, num_epochs=num_epochs, minibatch_size=minibatch_size,
            num_minibatches=settings.get("num_minibatches"),
            shuffle_batch_per_epoch=shuffle_batch_per_epoch)
        self._marl_minibatches = iterator if lean else None
        if lean:
            self._marl_steps_trained, self._marl_env_steps_trained = {}, 0
        return iterator

    # -- steps-trained counters: summed over the lean loop's minibatches, logged once --

    def _log_steps_trained_metrics(self, batch: MultiAgentBatch) -> None:
        """RLlib logs eight counters a module at every SGD step (about 45 us each); the
        lean loop sums them here and logs each once per update (``_flush_steps_trained``).
        The figures are the same: all but one are sums, and the one mean (a module's
        minibatch size) is a ``MeanStats``, cleared on every reduce, so one value equal to
        the mean of the update's minibatches reduces to what the per-step values did
        (``tests/rllib/learners/test_lean_update.py`` compares every metric)."""
        sums = self._marl_steps_trained
        if sums is None:
            super()._log_steps_trained_metrics(batch)
            return
        for module_id, module_batch in batch.policy_batches.items():
            rows, steps = sums.get(module_id, (0, 0))
            sums[module_id] = (rows + len(module_batch), steps + 1)
        self._marl_env_steps_trained += batch.env_steps()

    def _flush_steps_trained(self) -> None:
        sums, self._marl_steps_trained = self._marl_steps_trained, None
        if not sums:
            return
        log = self.metrics.log_value
        total = 0
        for module_id, (rows, steps) in sums.items():
            log((module_id, WEIGHTS_SEQ_NO), self._weights_seq_no, window=1)
            log((module_id, MODULE_TRAIN_BATCH_SIZE_MEAN), rows / steps, reduce="mean")
            log((module_id, NUM_MODULE_STEPS_TRAINED), rows, reduce="sum")
            log((module_id, NUM_MODULE_STEPS_TRAINED_LIFETIME), rows, reduce="lifetime_sum",
                with_throughput=True)
            total += rows
        for key, value, reduce in (
                (NUM_MODULE_STEPS_TRAINED, total, "sum"),
                (NUM_MODULE_STEPS_TRAINED_LIFETIME, total, "lifetime_sum"),
                (NUM_ENV_STEPS_TRAINED, self._marl_env_steps_trained, "sum"),
                (NUM_ENV_STEPS_TRAINED_LIFETIME, self._marl_env_steps_trained, "lifetime_sum")):
            log((ALL_MODULES, key), value, reduce=reduce, with_throughput=True)

    # -- per-step statistics: computed and logged on a module's last SGD step only --

    def logs_step_stats(self, module_id: str) -> bool:
        """Whether this SGD step computes and logs ``module_id``'s loss statistics.

        Every per-step statistic (losses, entropy, explained variance, gradient norm,
        off-policyness) is logged with ``window=1``: the update reports the last value
        logged. The lean loop therefore computes them on the module's last minibatch of
        the update only, which reports the same figures; every other path logs every
        step, as RLlib does."""
        iterator = getattr(self, "_marl_minibatches", None)
        final = iterator.final_modules if iterator is not None else None
        return final is None or module_id in final

    def _compute_off_policyness(self, batch: Any) -> None:
        super()._compute_off_policyness(
            {mid: b for mid, b in batch.items() if self.logs_step_stats(mid)})

    def compute_loss_for_module(self, *, module_id: str, config: Any, batch: dict[str, Any],
                                fwd_out: dict[str, Any]) -> torch.Tensor:
        """RLlib's PPO loss (``PPOTorchLearner.compute_loss_for_module``), the same terms
        in the same order, without the previous policy's distribution unless the KL
        penalty is on, and with its statistics only where ``logs_step_stats``."""
        if not self.marl_settings.get("fast_update", True):
            return cast(torch.Tensor, super().compute_loss_for_module(
                module_id=module_id, config=config, batch=batch, fwd_out=fwd_out))
        module = cast(Any, self.module[module_id].unwrapped())
        mask = batch.get(Columns.LOSS_MASK)
        num_valid = torch.sum(mask) if mask is not None else None

        def mean(x: Any) -> torch.Tensor:
            return torch.mean(x) if num_valid is None else torch.sum(x[mask]) / num_valid

        dist = module.get_train_action_dist_cls().from_logits(
            fwd_out[Columns.ACTION_DIST_INPUTS])
        logp_ratio = torch.exp(dist.logp(batch[Columns.ACTIONS]) - batch[Columns.ACTION_LOGP])
        if config.use_kl_loss:
            prev = module.get_exploration_action_dist_cls().from_logits(
                batch[Columns.ACTION_DIST_INPUTS])
            mean_kl = mean(prev.kl(dist))
        else:
            mean_kl = torch.tensor(0.0, device=logp_ratio.device)
        entropy = cast(torch.Tensor, dist.entropy())
        advantages = batch[Postprocessing.ADVANTAGES]
        surrogate = torch.min(advantages * logp_ratio, advantages * torch.clamp(
            logp_ratio, 1 - config.clip_param, 1 + config.clip_param))
        if config.use_critic:
            values = module.compute_values(
                batch, embeddings=fwd_out.get(Columns.EMBEDDINGS))
            vf_loss = torch.pow(values - batch[Postprocessing.VALUE_TARGETS], 2.0)
            vf_loss_clipped = torch.clamp(vf_loss, 0, config.vf_clip_param)
        else:
            values = vf_loss = vf_loss_clipped = torch.tensor(0.0, device=surrogate.device)
        entropy_coeff = self.entropy_coeff_schedulers_per_module[module_id].get_current_value()
        total = mean(-surrogate + config.vf_loss_coeff * vf_loss_clipped
                     - entropy_coeff * entropy)
        if config.use_kl_loss:
            total += cast(torch.Tensor, self.curr_kl_coeffs_per_module[module_id]) * mean_kl
        if self.logs_step_stats(module_id):
            self.metrics.log_dict({
                POLICY_LOSS_KEY: -mean(surrogate),
                VF_LOSS_KEY: mean(vf_loss_clipped) if config.use_critic else vf_loss,
                LEARNER_RESULTS_VF_LOSS_UNCLIPPED_KEY: (mean(vf_loss) if config.use_critic
                                                        else vf_loss),
                LEARNER_RESULTS_VF_EXPLAINED_VAR_KEY: explained_variance(
                    batch[Postprocessing.VALUE_TARGETS], values),
                ENTROPY_KEY: mean(entropy),
                LEARNER_RESULTS_KL_KEY: mean_kl,
            }, key=module_id, window=1)
        return total

    def _set_slicing_by_batch_id(self, batch: MultiAgentBatch, *, value: bool
                                 ) -> MultiAgentBatch:
        if isinstance(batch, _Minibatch):  # flat rows of stateless modules: no switch
            return batch
        return super()._set_slicing_by_batch_id(batch, value=value)

    # -- gradients: clip by global norm and step without per-tensor finiteness passes --

    def postprocess_gradients(self, gradients_dict: ParamDict) -> ParamDict:
        """RLlib's per-module global-norm clipping (same norms, same coefficient, same
        ``gradients_<optimizer>_global_norm`` metric), recording whether every gradient
        is finite (a finite norm of each tensor) so that ``apply_gradients`` can skip
        RLlib's two ``isfinite`` passes. Other clipping modes, several optimizers per
        module and non-finite gradients take RLlib's code."""
        self._marl_finite = False
        if not self.marl_settings.get("fast_update", True) or self._grad_scalers is not None:
            return super().postprocess_gradients(gradients_dict)
        out: ParamDict = {}
        finite = True
        for module_id in self.module.keys():
            config = self.config.get_config_for_module(module_id)
            optimizers = self.get_optimizers_for_module(module_id)
            if not optimizers:  # a frozen module (league snapshot): no gradients to clip
                continue
            module_grads: ParamDict = {}
            for _, optimizer in optimizers:
                module_grads.update(self.filter_param_dict_for_optimizer(gradients_dict,
                                                                         optimizer))
            if len(optimizers) != 1 or (config.grad_clip and config.grad_clip_by != "global_norm"):
                finite = False
                out.update(self.postprocess_gradients_for_module(
                    module_id=module_id, config=config, module_gradients_dict=module_grads))
                continue
            grads = list(module_grads.values())
            # torch_utils.compute_global_norm's per-tensor norms, before its nan_to_num
            # (one fused call for all tensors)
            norms = (torch.stack(torch._foreach_norm([g.detach() for g in grads], 2.0))
                     if grads else None)
            if norms is not None and not bool(torch.isfinite(norms).all()):
                finite = False  # RLlib's code: it zeroes or skips non-finite gradients
                out.update(self.postprocess_gradients_for_module(
                    module_id=module_id, config=config, module_gradients_dict=module_grads))
                continue
            if config.grad_clip or config.log_gradients:
                total = (torch.tensor(0.0) if norms is None
                         else torch.norm(norms, 2.0).nan_to_num(neginf=-10e8, posinf=10e8))
                if config.grad_clip and grads:  # torch_utils.clip_gradients, fused
                    coeff = config.grad_clip / torch.clamp(total + 1e-6, min=config.grad_clip)
                    torch._foreach_mul_([g.detach() for g in grads], torch.clamp(coeff, max=1.0))
                if self.logs_step_stats(module_id):
                    self.metrics.log_value(
                        key=(module_id, f"gradients_{optimizers[0][0]}_global_norm"),
                        value=total, window=1)
            out.update(module_grads)
        self._marl_finite = finite
        return out

    def apply_gradients(self, gradients_dict: ParamDict) -> None:
        """With every gradient known finite (``postprocess_gradients``), what RLlib's
        ``apply_gradients`` does then: set the gradients and step every optimizer."""
        if not getattr(self, "_marl_finite", False) or self._lr_scheduler_classes is not None:
            return super().apply_gradients(gradients_dict)
        self._marl_finite = False
        for pid, grad in gradients_dict.items():
            self._params[pid].grad = grad
        for optimizer_names in self._module_optimizers.values():
            for optimizer_name in optimizer_names:
                self._named_optimizers[optimizer_name].step()


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
