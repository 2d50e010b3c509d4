"""marl's learner pipeline builds exactly the batch RLlib's builds: ``AddBootstrapStep``
in place of RLlib's ``AddOneTsToEpisodesAndTruncate`` and ``ModuleBatch`` in place of its
six batching pieces. Real episodes (marl's lean sampler and RLlib's, real env, every
agent chunk), the learner's own pipeline run once as marl builds it and once with RLlib's
pieces put back, compared column by column up to the advantages (everything after is a
function of that batch)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
import torch
from ray.rllib.connectors.learner import AddOneTsToEpisodesAndTruncate

from marl.rllib.connectors.bootstrap_step import AddBootstrapStep
from marl.rllib.connectors.coma import ComaAdvantages
from marl.rllib.connectors.module_batch import ModuleBatch
from marl.rllib.connectors.team_gae import TeamGAE

CASES = {
    "connect_four": {"env": {"id": "competitive/connect_four-v0"},
                     "algorithm": {"name": "ppo", "train_batch_size": 400}},
    "connect_four_stock_sampler": {"env": {"id": "competitive/connect_four-v0"},
                                   "algorithm": {"name": "ppo", "train_batch_size": 400},
                                   "resources": {"sampler": "stock"}},
    "spread_mappo": {"env": {"id": "cooperative/spread-v0"},
                     "algorithm": {"name": "mappo", "train_batch_size": 200},
                     "policies": {"mode": "per_agent"}},
    "spread_coma": {"env": {"id": "cooperative/spread-v0"},   # + teammates' actions
                    "algorithm": {"name": "coma", "train_batch_size": 200}},
}


def _algo(case: dict[str, Any]) -> Any:
    from marl.experiment import resolve
    from marl.rllib.builder import build_config
    from marl.rllib.env.creator import register
    from marl.spec import spec_from_dict

    register()
    spec = spec_from_dict({"name": "bootstrap_step", "seed": 0, **case,
                           "policies": {"model": {"hidden": [16]}, **case.get("policies", {})},
                           "resources": {"num_env_runners": 0, "sampler": "lean",
                                         **case.get("resources", {})},
                           "tracking": {"wandb": {"mode": "disabled"}, "tensorboard": False}})
    return build_config(resolve(spec)).build_algo()


def _run(pieces: list[Any], learner: Any, episodes: list[Any],
         shared: dict[str, Any]) -> dict[str, Any]:
    batch: dict[str, Any] = {}
    torch.manual_seed(0)  # coma samples teammates' bootstrap actions: the same in both runs
    for piece in pieces:
        if isinstance(piece, TeamGAE | ComaAdvantages):  # the advantages: network outputs
            break
        batch = piece(rl_module=learner.module, batch=batch, episodes=episodes,
                      shared_data=shared, metrics=learner.metrics)
    assert shared["_added_loss_mask_for_valid_episode_ts"] is True
    return batch


def _flat(tree: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(tree, dict):
        return {k: v for key, sub in tree.items() for k, v in _flat(sub, f"{prefix}/{key}").items()}
    return {prefix: tree}


@pytest.mark.parametrize("name", sorted(CASES))
def test_marls_pipeline_builds_rllibs_batch(ray_session, name: str) -> None:
    from ray.rllib.execution.rollout_ops import synchronous_parallel_sample

    algo = _algo(CASES[name])
    try:
        learner = algo.learner_group._learner
        pieces = list(learner._learner_connector.connectors)
        kinds = [type(p) for p in pieces]
        assert AddBootstrapStep in kinds and AddOneTsToEpisodesAndTruncate not in kinds
        (module_batch,) = (p for p in pieces if isinstance(p, ModuleBatch))
        stock: list[Any] = []
        for p in pieces:
            stock += ([AddOneTsToEpisodesAndTruncate()] if type(p) is AddBootstrapStep
                      else list(p.pieces) if p is module_batch else [p])
        episodes = synchronous_parallel_sample(
            worker_set=algo.env_runner_group, max_env_steps=algo.config.train_batch_size,
            _uses_new_env_runners=True)
        ours_eps, theirs_eps = copy.deepcopy(episodes), copy.deepcopy(episodes)
        ours_shared: dict[str, Any] = {}
        theirs_shared: dict[str, Any] = {}
        ours, theirs = (_flat(_run(p, learner, e, sh)) for p, e, sh in
                        ((pieces, ours_eps, ours_shared), (stock, theirs_eps, theirs_shared)))
        assert module_batch.last_call_fast is True  # the one-pass path, not RLlib's
        assert ours.keys() == theirs.keys()
        assert ours_shared["memorized_map_structure"] == theirs_shared["memorized_map_structure"]
        assert any(k.endswith("/loss_mask") for k in ours)
        for key, want in theirs.items():
            got = ours[key]
            if isinstance(want, torch.Tensor):
                assert got.dtype == want.dtype and torch.equal(got, want), key
            else:
                assert np.array_equal(np.asarray(got), np.asarray(want)), key
        masks = [v for k, v in ours.items() if k.endswith("/loss_mask")]
        chunks = sum(len(ep.agent_episodes) for ep in episodes)
        assert sum(int((~m.bool()).sum()) for m in masks) == chunks  # one bootstrap row each
        for a, b in zip(ours_eps, theirs_eps, strict=True):  # episodes extended alike
            assert a.id_ == b.id_
            assert {k: (len(e), e.id_, e.is_truncated) for k, e in a.agent_episodes.items()} \
                == {k: (len(e), e.id_, e.is_truncated) for k, e in b.agent_episodes.items()}
    finally:
        algo.stop()
