"""The bootstrap rows leave the batch before SGD (``drop_bootstrap_rows``, learners/ppo.py).

Each episode chunk's artificial last row (its final observation, for V(s_T)) is masked out
of every loss; dropping it after GAE must leave each loss where it was and the minibatches
holding real rows only.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.learner.training_data import TrainingData
from ray.rllib.policy.sample_batch import MultiAgentBatch, SampleBatch

from marl.rllib.learners.ppo import drop_bootstrap_rows


def _batch(mask: list[bool]) -> SampleBatch:
    n = len(mask)
    return SampleBatch({
        "row": torch.arange(n),
        Columns.OBS: {"observations": torch.arange(n * 2, dtype=torch.float32).reshape(n, 2),
                      "action_mask": torch.ones(n, 3)},
        Columns.LOSS_MASK: torch.tensor(mask)})


def test_drop_keeps_the_masked_in_rows_of_every_column_and_removes_the_mask() -> None:
    batch = MultiAgentBatch({"a": _batch([True, True, False, True, False]),
                             "rnn": _batch([True, False])}, 7)
    drop_bootstrap_rows(batch, keep={"rnn"})
    a = batch.policy_batches["a"]
    assert len(a) == 3 and Columns.LOSS_MASK not in a
    assert a["row"].tolist() == [0, 1, 3]
    assert a[Columns.OBS]["observations"].tolist() == [[0, 1], [2, 3], [6, 7]]
    assert a[Columns.OBS]["action_mask"].shape == (3, 3)
    rnn = batch.policy_batches["rnn"]  # a stateful module keeps its sequences
    assert len(rnn) == 2 and rnn[Columns.LOSS_MASK].tolist() == [True, False]


def test_drop_leaves_sequences_and_unmasked_batches_alone() -> None:
    seq = _batch([True, False])
    seq[SampleBatch.SEQ_LENS] = torch.tensor([2])
    plain = SampleBatch({"row": torch.arange(3)})
    batch = MultiAgentBatch({"seq": seq, "plain": plain}, 5)
    drop_bootstrap_rows(batch)
    assert len(batch.policy_batches["seq"]) == 2
    assert batch.policy_batches["plain"] is plain


SPEC: dict[str, Any] = {
    "name": "droprows", "seed": 0,
    "algorithm": {"train_batch_size": 300, "minibatch_size": 64, "num_epochs": 2},
    "policies": {"model": {"hidden": [32]}},
    "resources": {"num_env_runners": 0, "sampler": "lean"},
    "tracking": {"wandb": {"mode": "disabled"}, "tensorboard": False},
}


@pytest.mark.parametrize("env_id,algorithm", [("competitive/connect_four-v0", "ppo"),
                                              ("cooperative/spread-v0", "mappo")])
def test_losses_are_unchanged_without_the_bootstrap_rows(ray_session, env_id: str,
                                                         algorithm: str) -> None:
    """On a real batch (real env, real learner pipeline, GAE included), each module's loss
    and gradients over the masked batch equal those over the batch without its bootstrap
    rows, and the learner's minibatches hold real rows only, each once per epoch."""
    from ray.rllib.execution.rollout_ops import synchronous_parallel_sample

    from marl.experiment import resolve
    from marl.rllib.builder import build_config
    from marl.rllib.env.creator import register
    from marl.spec import spec_from_dict

    register()
    spec = spec_from_dict({**SPEC, "env": {"id": env_id},
                           "algorithm": {**SPEC["algorithm"], "name": algorithm}})
    algo = build_config(resolve(spec)).build_algo()
    try:
        learner = algo.learner_group._learner
        episodes = synchronous_parallel_sample(
            worker_set=algo.env_runner_group, max_env_steps=300, _uses_new_env_runners=True)
        masked = learner._make_batch_if_necessary(
            training_data=TrainingData(episodes=copy.deepcopy(episodes)))
        dropped = copy.deepcopy(masked)
        drop_bootstrap_rows(dropped)
        for mid, module_batch in masked.policy_batches.items():
            mask = module_batch[Columns.LOSS_MASK].bool()
            assert 0 < int(mask.sum()) < len(mask)  # there were bootstrap rows to drop
            assert len(dropped.policy_batches[mid]) == int(mask.sum())
            config = learner.config.get_config_for_module(mid)
            losses, grads = [], []
            for which in (masked, dropped):
                rows = {k: v for k, v in which.policy_batches[mid].items()}
                learner.module[mid].zero_grad()
                fwd = learner.module[mid].forward_train(rows)
                loss = learner.compute_loss_for_module(module_id=mid, config=config,
                                                       batch=rows, fwd_out=fwd)
                loss.backward()
                losses.append(float(loss))
                grads.append([p.grad.clone() for p in learner.module[mid].parameters()
                              if p.grad is not None])
            assert losses[0] == pytest.approx(losses[1], rel=1e-5, abs=1e-7)
            assert grads[0] and len(grads[0]) == len(grads[1])
            for a, b in zip(*grads, strict=True):
                torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)

        iterator = learner._create_iterator_if_necessary(
            training_data=TrainingData(episodes=copy.deepcopy(episodes)), num_epochs=2,
            minibatch_size=64, shuffle_batch_per_epoch=True)
        seen: dict[str, list[int]] = {}
        for minibatch in iterator:
            for mid, rows in minibatch.policy_batches.items():
                assert Columns.LOSS_MASK not in rows
                seen.setdefault(mid, []).append(len(rows))
        for mid, sizes in seen.items():
            real = int(masked.policy_batches[mid][Columns.LOSS_MASK].sum())
            assert sum(sizes) == 2 * real  # every real row once per epoch, nothing else
    finally:
        algo.stop()
    assert np.isfinite(losses).all()
