"""marl's lean minibatch loop (``fast_update``, learners/ppo.py) against RLlib's loop.

The lean loop must be a faster way to the same numbers: the same rows in the same
minibatches for the same numpy seed, and after one real update (real env, real RLlib
learner, several modules, several epochs and minibatches) the same weights, optimizer
state and reported losses as RLlib's per-minibatch code (``fast_update: false``).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest
import torch
from ray.rllib.core.learner.training_data import TrainingData
from ray.rllib.policy.sample_batch import MultiAgentBatch, SampleBatch

from marl.rllib.learners.ppo import ModuleRows, PerModuleEpochs, TensorMinibatches


def _tensor_batch(rows: dict[str, int]) -> MultiAgentBatch:
    return MultiAgentBatch({m: SampleBatch({
        "row": torch.arange(n),
        "obs": {"observations": torch.arange(n * 3, dtype=torch.float32).reshape(n, 3),
                "action_mask": torch.ones(n, 2)}}) for m, n in rows.items()}, 100)


@pytest.mark.parametrize("kwargs", [{"num_minibatches": 3}, {"minibatch_size": 4}])
def test_tensor_minibatches_are_per_module_epochs_rows_for_the_same_seed(kwargs: dict) -> None:
    rows = {"main": 13, "exploiter": 5, "rare": 2}
    np.random.seed(7)
    lean = list(TensorMinibatches(_tensor_batch(rows), num_epochs=3,
                                  shuffle_batch_per_epoch=True, **kwargs))
    np.random.seed(7)
    stock = list(PerModuleEpochs(_tensor_batch(rows), num_epochs=3,
                                 shuffle_batch_per_epoch=True, **kwargs))
    assert len(lean) == len(stock) > 3
    for ours, theirs in zip(lean, stock, strict=True):
        assert list(ours.policy_batches) == list(theirs.policy_batches)
        for mid, b in ours.policy_batches.items():
            assert isinstance(b, ModuleRows) and len(b) == b.count == len(theirs[mid])
            assert b["row"].tolist() == theirs[mid]["row"].tolist()
            assert torch.equal(b["obs"]["observations"], theirs[mid]["obs"]["observations"])
    assert TensorMinibatches.covers(_tensor_batch(rows))
    numpy_batch = MultiAgentBatch({"a": SampleBatch({"row": np.arange(4)})}, 4)
    assert not TensorMinibatches.covers(numpy_batch)  # RLlib's slicing handles these


def test_tensor_minibatches_mark_each_modules_last_minibatch() -> None:
    # The lean loop logs a module's loss statistics (window=1: the last value is the one
    # reported) on its last minibatch of the update only: with 2 rows, "rare" has its
    # last minibatch before the others' (minibatch_size 4: 4 steps, "rare" takes 2).
    rows = {"main": 13, "rare": 2}
    iterator = TensorMinibatches(_tensor_batch(rows), num_epochs=2, minibatch_size=4,
                                 shuffle_batch_per_epoch=True)
    assert iterator.final_modules is None
    marked = []
    for minibatch in iterator:
        marked.append((sorted(minibatch.policy_batches), sorted(iterator.final_modules or ())))
    assert marked == [(["main", "rare"], []), (["main", "rare"], []), (["main"], []),
                      (["main"], []), (["main", "rare"], []), (["main", "rare"], ["rare"]),
                      (["main"], []), (["main"], ["main"])]
    assert iterator.final_modules is None  # after the update: every path logs


SPEC: dict[str, Any] = {
    "name": "lean", "seed": 0, "env": {"id": "cooperative/spread-v0"},
    "algorithm": {"train_batch_size": 300, "minibatch_size": 64, "num_epochs": 2},
    "policies": {"mode": "per_agent", "model": {"hidden": [32]}},
    "resources": {"num_env_runners": 0, "sampler": "lean"},
    "tracking": {"wandb": {"mode": "disabled"}, "tensorboard": False},
}


def _algo(algorithm: str, fast: bool, extra: dict[str, Any] | None = None) -> Any:
    from marl.experiment import resolve
    from marl.rllib.builder import build_config
    from marl.rllib.env.creator import register
    from marl.spec import spec_from_dict

    register()
    spec = spec_from_dict({**SPEC, "algorithm": {**SPEC["algorithm"], "name": algorithm,
                                                 **(extra or {})}})
    config = build_config(resolve(spec))
    config.learner_config_dict["marl"]["fast_update"] = fast
    return config.build_algo()


def _leaves(tree_: Any, prefix: str = "") -> dict[str, float]:
    if isinstance(tree_, list):  # LearnerGroup.update: one result per learner
        (tree_,) = tree_
    out: dict[str, float] = {}
    for key, value in tree_.items():
        if isinstance(value, dict):
            out.update(_leaves(value, f"{prefix}{key}/"))
        else:
            try:
                out[f"{prefix}{key}"] = float(value)
            except (TypeError, ValueError):
                continue
    return out


@pytest.mark.parametrize("algorithm,extra", [("ppo", {}), ("mappo", {}),
                                             ("ppo", {"kl_coeff": 0.2})])  # KL penalty on
def test_lean_update_matches_rllibs_loop(ray_session, algorithm: str, extra: dict) -> None:
    from ray.rllib.execution.rollout_ops import synchronous_parallel_sample
    from ray.rllib.utils.metrics import NUM_ENV_STEPS_SAMPLED_LIFETIME

    lean, stock = _algo(algorithm, True, extra), _algo(algorithm, False, extra)
    try:
        ours, theirs = lean.learner_group._learner, stock.learner_group._learner
        theirs.module.set_state(ours.module.get_state())  # same initial weights
        episodes = synchronous_parallel_sample(
            worker_set=lean.env_runner_group, max_env_steps=300, _uses_new_env_runners=True)
        steps = sum(len(e) for e in episodes)
        config = lean.config
        kwargs = {"num_epochs": config.num_epochs, "minibatch_size": config.minibatch_size,
                  "shuffle_batch_per_epoch": True}
        iters = [learner._create_iterator_if_necessary(
            training_data=TrainingData(episodes=copy.deepcopy(episodes)), **kwargs)
            for learner in (ours, theirs)]
        assert type(iters[0]) is TensorMinibatches and type(iters[1]) is PerModuleEpochs
        assert len(list(iters[0])) == 2 * iters[0].steps_per_epoch >= 6

        first = next(iter(ours.module.keys()))
        before = {k: v.clone() for k, v in ours.module[first].state_dict().items()}
        results = []
        for algo in (lean, stock):
            np.random.seed(123)
            results.append(algo.learner_group.update(
                episodes=copy.deepcopy(episodes),
                timesteps={NUM_ENV_STEPS_SAMPLED_LIFETIME: steps}, **kwargs))
        after = ours.module[first].state_dict()
        assert any(not torch.equal(before[k], after[k]) for k in before)  # it did train
        for mid in ours.module.keys():
            for (name, a), (_, b) in zip(ours.module[mid].state_dict().items(),
                                         theirs.module[mid].state_dict().items(), strict=True):
                torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7, msg=f"{mid} {name}")
            a_state = ours.get_optimizer(mid).state_dict()["state"]
            b_state = theirs.get_optimizer(mid).state_dict()["state"]
            assert a_state.keys() == b_state.keys() and a_state
            for i in a_state:
                torch.testing.assert_close(a_state[i]["exp_avg_sq"], b_state[i]["exp_avg_sq"],
                                           rtol=1e-6, atol=1e-9)

        got, want = (_leaves(r) for r in results)
        timing = ("throughput", "timer", "_time", "off_policyness")
        want = {k: v for k, v in want.items() if not any(t in k for t in timing)}
        assert want.keys() <= got.keys()
        modules = sorted(ours.module.keys())
        assert len(modules) == 3
        for mid in modules:  # what flatten_result reports as train/<policy>/...
            for key in ("policy_loss", "vf_loss", "entropy", "total_loss",
                        "gradients_default_optimizer_global_norm", "num_module_steps_trained",
                        "default_optimizer_learning_rate"):
                assert f"{mid}/{key}" in want, key
        for key, value in want.items():
            assert math.isclose(got[key], value, rel_tol=1e-5, abs_tol=1e-7) or (
                math.isnan(value) and math.isnan(got[key])), (key, got[key], value)
    finally:
        lean.stop()
        stock.stop()
