"""Symmetry augmentation: every training row also enters the batch as its mirror image.

Last piece of the learner pipeline (after ``TeamGAE``), for ``algorithm.
symmetry_augmentation`` on envs that declare a symmetry (``envs.symmetries``; connect
four: left-right mirror, action a <-> 6 - a). For each row (s, a) it appends (s', a'):

    observations, action mask, action   mirrored
    advantages, value targets, rewards, flags, loss mask   copied (the game is symmetric:
                                        the mirrored position is worth the same)
    action_logp, action_dist_inputs     recomputed on s' with the module as it is before
                                        the update (the sampling weights), so the PPO ratio
                                        of a mirrored row starts at 1
    vf_preds                            V(s'), for the value clip

Twice the rows per update for the same env steps.
"""

from __future__ import annotations

from typing import Any

import torch
from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.core.columns import Columns

from envs.symmetries import Mirror, mirror_lr
from marl.rllib.connectors.team_gae import team_critic_module

__all__ = ["MirrorAugment", "make_symmetry"]


def make_symmetry(settings: dict[str, Any]) -> Mirror:
    """The symmetry of ``learner_config_dict["marl"]["symmetry"]``."""
    if settings["kind"] != "mirror_lr":
        raise ValueError(f"unknown symmetry {settings['kind']!r}")
    return mirror_lr(tuple(settings["board"]), int(settings["num_actions"]))


class MirrorAugment(ConnectorV2):
    """Append the mirror image of every row of every trained actor-critic module."""

    def __init__(self, input_observation_space: Any = None, input_action_space: Any = None, *,
                 symmetry: Mirror):
        super().__init__(input_observation_space, input_action_space)
        self.symmetry = symmetry

    def __call__(self, *, rl_module: Any, batch: dict[str, Any], episodes: list[Any],
                 **kwargs: Any) -> Any:
        for module_id in list(batch):
            module = team_critic_module(rl_module, module_id)
            if module is not None:
                batch[module_id] = self.augment(module, batch[module_id])
        return batch

    def augment(self, module: Any, rows: dict[str, Any]) -> dict[str, Any]:
        obs = rows[Columns.OBS]
        if not isinstance(obs, dict):
            obs = {"observations": obs}
        device = obs["observations"].device
        obs_index = torch.as_tensor(self.symmetry.obs_index, device=device)
        action_index = torch.as_tensor(self.symmetry.action_index, device=device)
        mirrored = {"observations": obs["observations"].flatten(1)[:, obs_index].reshape(
            obs["observations"].shape)}
        if "action_mask" in obs:
            mirrored["action_mask"] = obs["action_mask"][:, action_index]
        mirrored_obs = mirrored if isinstance(rows[Columns.OBS], dict) else mirrored["observations"]
        actions = action_index[rows[Columns.ACTIONS].long()].to(rows[Columns.ACTIONS].dtype)
        with torch.no_grad():
            logits = module.forward_train({Columns.OBS: mirrored_obs})[Columns.ACTION_DIST_INPUTS]
            logp = module.get_train_action_dist_cls().from_logits(logits).logp(actions)
            values = module.compute_values({Columns.OBS: mirrored_obs})
        n = len(actions)
        recomputed = {Columns.OBS: mirrored_obs, Columns.ACTIONS: actions,
                      Columns.ACTION_DIST_INPUTS: logits, Columns.ACTION_LOGP: logp,
                      Columns.VF_PREDS: values}
        out: dict[str, Any] = {}
        for key, value in rows.items():
            if key == Columns.OBS and isinstance(value, dict):
                out[key] = {k: torch.cat([v, mirrored[k]]) for k, v in value.items()}
            elif key in recomputed:
                out[key] = torch.cat([value, recomputed[key].to(value.dtype)])
            elif isinstance(value, torch.Tensor) and value.ndim >= 1 and len(value) == n:
                out[key] = torch.cat([value, value])
            else:
                out[key] = value
        return out
