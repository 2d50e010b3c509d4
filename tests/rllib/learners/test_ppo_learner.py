"""marl's PPO learner pieces on hand-built data: exact epochs per module, one masking
function in sampling and in the loss, and both samplers' episodes at a time limit."""

from __future__ import annotations

import collections

import gymnasium as gym
import numpy as np
import pytest
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.rl_module import RLModuleSpec
from ray.rllib.policy.sample_batch import MultiAgentBatch, SampleBatch
from ray.rllib.utils.minibatch_utils import MiniBatchCyclicIterator

from marl.rllib.learners.ppo import PerModuleEpochs, minibatch_edges
from marl.rllib.modules.actor_critic import ActorCriticModule


def _batch(rows: dict[str, int]) -> MultiAgentBatch:
    return MultiAgentBatch({m: SampleBatch({"row": np.arange(n)}) for m, n in rows.items()}, 100)


def _passes(iterator) -> dict[str, collections.Counter]:
    seen: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for minibatch in iterator:
        for module_id, b in minibatch.policy_batches.items():
            seen[module_id].update(int(r) for r in b["row"])
    return seen


@pytest.mark.parametrize("kwargs", [{"num_minibatches": 2}, {"minibatch_size": 4},
                                    {"num_minibatches": 1}])
def test_every_module_makes_exactly_num_epochs_passes(kwargs: dict) -> None:
    rows = {"main": 12, "exploiter": 4, "rare": 3}
    seen = _passes(PerModuleEpochs(_batch(rows), num_epochs=3, shuffle_batch_per_epoch=True,
                                   **kwargs))
    for module_id, n in rows.items():
        assert seen[module_id] == collections.Counter({r: 3 for r in range(n)}), module_id


def test_minibatch_count_per_epoch() -> None:
    it = PerModuleEpochs(_batch({"a": 12, "b": 4}), num_epochs=2, minibatch_size=4)
    assert it.steps_per_epoch == 3 and len(list(it)) == 6  # a: 12 rows / 4
    it = PerModuleEpochs(_batch({"a": 12, "b": 4}), num_epochs=2, num_minibatches=2)
    assert [sorted(len(b) for b in mb.policy_batches.values()) for mb in it] == [[2, 6]] * 4
    assert minibatch_edges(10, 3) == [0, 3, 7, 10] and minibatch_edges(2, 5) == [0, 1, 2]


def test_rllibs_cyclic_iterator_gives_small_modules_more_epochs() -> None:
    """What PerModuleEpochs replaces: RLlib's iterator, 12 vs 4 rows, 3 epochs."""
    seen = _passes(MiniBatchCyclicIterator(_batch({"a": 12, "b": 4}), num_epochs=3,
                                           minibatch_size=4, shuffle_batch_per_epoch=False))
    assert set(seen["a"].values()) == {3}
    assert set(seen["b"].values()) == {9}  # three times the epochs


def test_masking_is_the_same_in_sampling_inference_and_loss() -> None:
    obs_space = gym.spaces.Dict({"observations": gym.spaces.Box(-1, 1, (84,), np.float32),
                                 "action_mask": gym.spaces.Box(0, 1, (7,), np.float32)})
    for encoder in ("mlp", "cnn"):
        module = RLModuleSpec(module_class=ActorCriticModule, observation_space=obs_space,
                              action_space=gym.spaces.Discrete(7),
                              model_config={"encoder": encoder, "hidden": [16],
                                            "board": [6, 7, 2], "conv": [[8, 3]],
                                            "value_normalization": False}).build()
        rng = np.random.default_rng(0)
        mask = torch.tensor([[1, 0, 1, 1, 0, 1, 1]] * 5, dtype=torch.float32)
        batch = {Columns.OBS: {"observations": torch.tensor(rng.normal(size=(5, 84)),
                                                             dtype=torch.float32),
                               "action_mask": mask}}
        outs = [module.forward_exploration(batch), module.forward_inference(batch),
                module.forward_train(batch)]
        logits = [o[Columns.ACTION_DIST_INPUTS] for o in outs]
        for other in logits[1:]:
            torch.testing.assert_close(other, logits[0])
        probs = torch.softmax(logits[0], -1)
        assert float(probs[:, [1, 4]].max()) < 1e-30
        # Policy head gain 0.01: the first policy is near uniform over the legal moves.
        legal = probs[:, mask[0].bool()]
        assert float((legal - 0.2).abs().max()) < 0.02
        assert module.compute_values(batch).shape == (5,)


def test_cnn_sees_the_board_not_a_flat_vector() -> None:
    """A left-right mirrored board is a different input to the conv layers: the cnn's
    first layer works on (C, H, W) = (2, 6, 7) images."""
    module = RLModuleSpec(module_class=ActorCriticModule,
                          observation_space=gym.spaces.Box(-1, 1, (84,), np.float32),
                          action_space=gym.spaces.Discrete(7),
                          model_config={"encoder": "cnn", "hidden": [8], "board": [6, 7, 2],
                                        "conv": [[4, 3]], "value_normalization": False}).build()
    conv = module.pi[1]
    assert isinstance(conv, torch.nn.Conv2d) and conv.in_channels == 2
    board = torch.zeros(1, 6, 7, 2)
    board[0, 5, 0, 0] = 1.0  # a piece bottom-left, first player's plane
    image = module.pi[0](board.reshape(1, 84))
    assert image.shape == (1, 2, 6, 7) and float(image[0, 0, 5, 0]) == 1.0


def test_mirror_augment_appends_mirrored_rows_with_recomputed_logp() -> None:
    from marl.rllib.connectors.symmetry import MirrorAugment, make_symmetry

    obs_space = gym.spaces.Dict({"observations": gym.spaces.Box(-1, 1, (84,), np.float32),
                                 "action_mask": gym.spaces.Box(0, 1, (7,), np.float32)})
    rl_module = {"shared": RLModuleSpec(
        module_class=ActorCriticModule, observation_space=obs_space,
        action_space=gym.spaces.Discrete(7),
        model_config={"hidden": [16], "value_normalization": False}).build()}
    rng = np.random.default_rng(1)
    n = 6
    mask = torch.ones(n, 7)
    mask[:, 6] = 0  # column 6 full
    rows = {Columns.OBS: {"observations": torch.tensor(rng.integers(0, 2, (n, 84)),
                                                       dtype=torch.float32),
                          "action_mask": mask},
            Columns.ACTIONS: torch.tensor([0, 1, 2, 3, 4, 5]),
            Columns.ACTION_LOGP: torch.zeros(n), Columns.ACTION_DIST_INPUTS: torch.zeros(n, 7),
            Columns.ADVANTAGES: torch.arange(n, dtype=torch.float32),
            Columns.VALUE_TARGETS: torch.ones(n), Columns.VF_PREDS: torch.zeros(n),
            Columns.LOSS_MASK: torch.tensor([True] * 5 + [False])}
    piece = MirrorAugment(symmetry=make_symmetry({"kind": "mirror_lr", "board": [6, 7, 2],
                                                  "num_actions": 7}))
    out = piece(rl_module=rl_module, batch={"shared": rows}, episodes=[])["shared"]
    assert len(out[Columns.ACTIONS]) == 2 * n
    assert out[Columns.ACTIONS][n:].tolist() == [6, 5, 4, 3, 2, 1]
    torch.testing.assert_close(out[Columns.OBS]["action_mask"][n:, 0], torch.zeros(n))
    torch.testing.assert_close(out[Columns.ADVANTAGES][n:], rows[Columns.ADVANTAGES])
    assert out[Columns.LOSS_MASK][n:].tolist() == rows[Columns.LOSS_MASK].tolist()
    module = rl_module["shared"]
    mirrored = {Columns.OBS: {k: v[n:] for k, v in out[Columns.OBS].items()}}
    logits = module.forward_train(mirrored)[Columns.ACTION_DIST_INPUTS]
    logp = torch.log_softmax(logits, -1).gather(1, out[Columns.ACTIONS][n:, None]).squeeze(1)
    torch.testing.assert_close(out[Columns.ACTION_LOGP][n:], logp.detach())
    # the mirror of board cell (h, w) is (h, 6 - w)
    board = out[Columns.OBS]["observations"].reshape(2 * n, 6, 7, 2)
    torch.testing.assert_close(board[n:], board[:n].flip(2))
