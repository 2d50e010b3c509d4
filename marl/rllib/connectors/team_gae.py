"""Learner connector pieces: the critic's input column (mappo) and GAE on the critic.

Learner pipeline (``PPOLearner.build``, ``MappoTorchLearner.build``)::

    BootstrapTruncated              time limits are not terminal (connectors/time_limit.py)
    AddBootstrapStep                + bootstrap step per episode chunk (bootstrap_step.py)
    AddCriticObs                    infos[t]["critic_obs"] -> column critic_obs (mappo)
    ModuleBatch                     obs, actions, logp, ... per module (module_batch.py)
    NumpyToTensor                   RLlib's: the batch as tensors
    TeamGAE                         values from the module's critic -> advantages, targets

``TeamGAE`` replaces RLlib's ``GeneralAdvantageEstimation`` for every algorithm:
advantages are standardized over real rows only (not the bootstrap rows), and with a
ValueNorm (ippo/mappo) it folds the new targets into the critic's running statistics and
hands the loss normalized targets.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import torch
from ray.rllib.connectors.common.numpy_to_tensor import NumpyToTensor
from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.core.columns import Columns
from ray.rllib.utils.numpy import convert_to_numpy
from ray.rllib.utils.postprocessing.value_predictions import compute_value_targets

from marl.rllib.env.critic_input import CRITIC_OBS

__all__ = ["AddCriticObs", "TeamGAE", "attach_columns", "team_critic_module"]


def team_critic_module(rl_module: Any, module_id: str | None) -> Any | None:
    """The (unwrapped) module if it is a ActorCriticModule with a critic, else None.

    ``module_id`` is optional as on RLlib's ``SingleAgentEpisode``; None finds no module.
    """
    from marl.rllib.modules.actor_critic import ActorCriticModule

    if module_id is None or module_id not in rl_module:
        return None
    module = rl_module[module_id]
    module = module.unwrapped() if hasattr(module, "unwrapped") else module
    if isinstance(module, ActorCriticModule) and module.has_critic:
        return module
    return None


def _numpy(x: Any) -> np.ndarray:
    """``convert_to_numpy`` of one tensor or array. RLlib annotates it with the whole
    nested-structure union it accepts; for a single tensor it returns one array."""
    return cast(np.ndarray, convert_to_numpy(x))


class AddCriticObs(ConnectorV2):
    """Column ``critic_obs``: row t of an agent's chunk = the critic input at its obs t.

    Uses the same slice as RLlib's observations (``0 .. len(chunk)``, which includes the
    bootstrap step), so every row holds the critic input of the same time step as its
    observation. Only for modules with a centralized critic.
    """

    def __call__(self, *, rl_module: Any, batch: dict[str, Any], episodes: list[Any],
                 **kwargs: Any) -> Any:
        for sa_episode in self.single_agent_episode_iterator(episodes,
                                                              agents_that_stepped_only=False):
            module = team_critic_module(rl_module, sa_episode.module_id)
            if module is None or not module.central:
                continue
            n = len(sa_episode)
            infos = sa_episode.get_infos(slice(0, n))
            try:
                rows = np.stack([np.asarray(info[CRITIC_OBS], np.float32) for info in infos])
            except KeyError:
                raise RuntimeError(
                    f"agent {sa_episode.agent_id!r}: no {CRITIC_OBS!r} in infos; the env was "
                    f"built without the critic input (env_config['critic'])") from None
            self.add_n_batch_items(batch, CRITIC_OBS, rows, n, sa_episode)
        return batch


def attach_columns(connector: Any, *, rl_module: Any, episodes: list[Any],
                   batch: dict[str, Any], results: dict[str, dict[str, np.ndarray]],
                   device: Any) -> dict[str, Any]:
    """Put numpy ``results`` (module -> column -> rows) into ``batch`` as tensors on
    ``device``, with the ``NumpyToTensor`` cached on ``connector._to_tensor``."""
    if not results:
        return batch
    if connector._to_tensor is None:
        connector._to_tensor = NumpyToTensor(as_learner_connector=True, device=device)
    tensors = connector._to_tensor(rl_module=rl_module, batch=results, episodes=episodes)
    for module_id, columns in tensors.items():
        batch[module_id].update(columns)
    return batch


class TeamGAE(ConnectorV2):
    """GAE on the team critic's values, with running value normalization.

    Per module, on the whole train batch (episode chunks laid end to end, each with its
    bootstrap row):

        v      = denormalize(V(critic input))            values in return units
        target = GAE(lambda) targets from rewards and v  (RLlib's compute_value_targets)
        adv    = standardize(target - v)                 over loss-mask rows
        stats  <- update(target over loss-mask rows)     then
        column value_targets = normalize(target),  vf_preds = V(critic input) (normalized)

    ``vf_preds`` are the values at sampling time in the critic's normalized units, for
    the PPO-style value clip. Targets are normalized with the statistics *after* this
    batch, as MAPPO does.
    """

    def __init__(self, input_observation_space=None, input_action_space=None, *,
                 gamma: float, lambda_: float):
        super().__init__(input_observation_space, input_action_space)
        self.gamma = gamma
        self.lambda_ = lambda_
        self._to_tensor: NumpyToTensor | None = None  # built on first use, on the device

    def __call__(self, *, rl_module: Any, episodes: list[Any], batch: dict[str, Any],
                 **kwargs: Any) -> Any:
        sa_episodes = list(self.single_agent_episode_iterator(episodes,
                                                              agents_that_stepped_only=False))
        results: dict[str, dict[str, np.ndarray]] = {}
        device = None
        for module_id, module_batch in batch.items():
            module = team_critic_module(rl_module, module_id)
            if module is None:
                continue
            with torch.no_grad():
                values_t = module.compute_values(module_batch)
                norm = module.value_norm
                raw_t = norm.denormalize(values_t) if norm is not None else values_t
            device = values_t.device
            values_norm, values = _numpy(values_t), _numpy(raw_t)
            lens = [len(e) for e in sa_episodes if e.module_id in (None, module_id)]
            if sum(lens) != len(values):
                raise RuntimeError(f"module {module_id}: {len(values)} value rows for "
                                   f"{sum(lens)} episode steps (recurrent modules are not "
                                   f"supported by ippo/mappo)")
            targets = compute_value_targets(
                values=values,
                rewards=_numpy(module_batch[Columns.REWARDS]),
                terminateds=_numpy(module_batch[Columns.TERMINATEDS]),
                truncateds=_numpy(module_batch[Columns.TRUNCATEDS]),
                gamma=self.gamma, lambda_=self.lambda_)
            valid = _numpy(module_batch[Columns.LOSS_MASK]).astype(bool)
            adv = targets - values
            adv = (adv - adv[valid].mean()) / max(1e-4, float(adv[valid].std()))
            if norm is not None:
                norm.update(torch.as_tensor(targets[valid], device=device))
                targets = _numpy(norm.normalize(torch.as_tensor(targets, device=device)))
            results[module_id] = {
                Columns.ADVANTAGES: adv.astype(np.float32),
                Columns.VALUE_TARGETS: targets.astype(np.float32),
                Columns.VF_PREDS: values_norm.astype(np.float32),
            }
        return attach_columns(self, rl_module=rl_module, episodes=episodes, batch=batch,
                              results=results, device=device)
