"""The one actor-critic of ppo, ippo and mappo: decentralized actor, learner-only critic,
a pluggable encoder, one masking function.

    actor   pi(own obs) -> action logits (Discrete) or Gaussian mean and a learned,
            state-independent log std (Box)        built everywhere (env runners, learners)
    critic  V(critic input) -> value               built on learners only
    value_norm  running target statistics          ippo/mappo, learners only

The actor and the critic are separate networks (MAPPO's layout): the policy loss has no
path into the critic and the value loss none into the actor; with ``share_encoder`` an
own-observation critic is instead one value head on the actor's last hidden layer
(CleanRL's Atari layout: one network per row on the learner, both losses train it). The critic input is the
agent's own observation (ppo, ippo) or the batch column ``critic_obs`` (mappo: team
observations or global state, see ``marl.rllib.env.critic_input``). Env runners build
this module with ``inference_only=True`` (``MarlPPOConfig``), so the critic, its
statistics and its input never reach them.

Encoders (``model_config["encoder"]``), for the actor and an own-observation critic:

    mlp   [LayerNorm] -> Linear-act per ``hidden`` width
    cnn   the flat observation viewed as its board or image (H, W, C), times
          ``obs_scale`` [-> fixed feature planes] -> Conv2d-ReLU per ``conv`` entry ([channels, k]: k x k, same
          padding; [channels, k, stride]: unpadded, strided, as the Nature CNN) ->
          flatten (width found by a forward pass of zeros) -> Linear-act per ``hidden``

A centralized critic is an MLP over ``critic_obs``. Initialisation as CleanRL and MAPPO:
orthogonal, gain sqrt(2) on hidden layers, 0.01 on the policy head (the first policy is
near uniform), 1 on the value head; zero biases.

model_config:
    encoder                 "mlp" (default) | "cnn"
    hidden, activation      hidden widths after the encoder; tanh | relu
    conv, board             cnn: [[channels, kernel(, stride)], ...] and the board's or
                            image's [H, W, C]
    features                cnn on a board: "none" (default) | "threats" (fixed planes
                            added before the first conv, ``modules.board_features``)
    obs_scale               cnn: factor on the observation (1/255 for uint8 pixels;
                            default 1)
    input_norm              "none" (default) | "layernorm" on the actor's (and an
                            own-obs critic's) input
    critic_hidden           critic MLP widths (default: hidden)
    share_encoder           own-obs critic: a value head on the actor's last hidden layer
                            (default False: a network of its own)
    critic_input            "own_obs" | "central"
    critic_obs_dim          width of ``critic_obs`` (central only)
    value_normalization     keep a ValueNorm (ippo/mappo: True; ppo: False, RLlib's GAE
                            reads raw values)
    action_squash           Box actions: "clip" (default; Gaussian, clipped to the bounds
                            by the env runner) | "tanh" (tanh-squashed Gaussian); see
                            ``marl.rllib.modules.distributions``

Box actions: ACTION_DIST_INPUTS = cat(mean, log_std), the mean from the policy head (gain
0.01), log_std the parameter ``pi_log_std`` (init 0: std 1), in RLlib's normalized action
space [-1, 1] (mapped to the space's bounds by the env runner). Masks apply to Discrete
actions only.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.distribution.torch.torch_distribution import TorchDistribution
from ray.rllib.core.rl_module.apis import InferenceOnlyAPI, ValueFunctionAPI
from ray.rllib.core.rl_module.rl_module import RLModule
from ray.rllib.core.rl_module.torch import TorchRLModule
from ray.rllib.utils.torch_utils import FLOAT_MIN
from torch import nn

from marl.policies import BOARD_CONV
from marl.rllib.env.critic_input import CRITIC_OBS
from marl.rllib.modules.board_features import FEATURE_PLANES, ThreatPlanes
from marl.rllib.modules.distributions import action_distribution
from marl.rllib.modules.value_norm import ValueNorm

__all__ = ["ActorCriticModule", "TeamCriticModule", "conv_layers", "encoder_layers", "mask_logits"]

_ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}


def mask_logits(logits: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Illegal actions get log(0) clamped to FLOAT_MIN: never sampled, no gradient.

    The one masking function of every module (sampling, inference and the loss).
    """
    if mask is None:
        return logits
    return logits + torch.clamp(torch.log(mask), min=FLOAT_MIN)


def _linear(in_dim: int, out_dim: int, gain: float) -> nn.Linear:
    layer = nn.Linear(in_dim, out_dim)
    nn.init.orthogonal_(layer.weight, gain)
    nn.init.zeros_(layer.bias)
    return layer


class _Board(nn.Module):
    """Flat observations (B, H*W*C, row-major as PettingZoo's boards and images) ->
    (B, C, H, W), times ``scale``."""

    def __init__(self, board: tuple[int, int, int], scale: float = 1.0):
        super().__init__()
        self.board = tuple(int(x) for x in board)
        self.scale = float(scale)  # a plain attribute: checkpoints hold no new tensor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w, c = self.board
        x = x.reshape(-1, h, w, c).permute(0, 3, 1, 2)
        return x * self.scale if self.scale != 1.0 else x


def _conv(in_channels: int, entry: list[int] | tuple[int, ...]) -> nn.Conv2d:
    """``[channels, kernel]``: same padding, stride 1; ``[channels, kernel, stride]``:
    no padding."""
    out_channels, kernel = int(entry[0]), int(entry[1])
    stride, padding = (int(entry[2]), 0) if len(entry) == 3 else (1, kernel // 2)
    conv = nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=padding)
    assert conv.bias is not None, "Conv2d has a bias by default"
    nn.init.orthogonal_(conv.weight, math.sqrt(2))
    nn.init.zeros_(conv.bias)
    return conv


def conv_layers(board: tuple[int, ...] | list[int], conv: Any, scale: float = 1.0,
                features: str = "none") -> tuple[list[nn.Module], int]:
    """The cnn encoder's layers up to the flatten, and their output width.

    ``features`` (``threats``) adds fixed planes to the board before the first conv
    (``marl.rllib.modules.board_features``). The width comes from a forward pass of one
    zero observation, not from a formula.

    Raises:
        ValueError: the kernels and strides do not fit the board (an output side < 1).
    """
    h, w, c = (int(x) for x in board)
    layers: list[nn.Module] = [_Board((h, w, c), scale)]
    channels = c
    if features != "none":
        layers.append(ThreatPlanes())
        channels += FEATURE_PLANES[features]
    for entry in conv:
        layers += [_conv(channels, entry), nn.ReLU()]
        channels = int(entry[0])
    layers.append(nn.Flatten())
    try:
        with torch.no_grad():
            width = int(nn.Sequential(*layers)(torch.zeros(1, h * w * c)).shape[1])
    except RuntimeError:
        width = 0
    if width < 1:
        raise ValueError(f"cnn encoder: conv {[list(e) for e in conv]} does not fit a "
                         f"{h}x{w}x{c} observation; use smaller kernels or strides, or a "
                         f"larger image (env.preprocess resize)")
    return layers, width


def encoder_layers(in_dim: int, cfg: dict[str, Any], hidden: list[int], activation: str,
                   kind: str = "mlp", input_norm: str = "none") -> tuple[list[nn.Module], int]:
    """Layers of an encoder and its output width (see the module docstring)."""
    act = _ACTIVATIONS[activation]
    layers: list[nn.Module] = []
    if kind == "cnn":
        board = cfg.get("board")
        if not board or math.prod(board) != in_dim:
            raise ValueError(f"cnn encoder: board {board} does not hold {in_dim} inputs")
        layers, in_dim = conv_layers(board, cfg.get("conv") or BOARD_CONV,
                                     float(cfg.get("obs_scale", 1.0)),
                                     cfg.get("features", "none"))
    elif input_norm == "layernorm":
        layers.append(nn.LayerNorm(in_dim))
    for width in hidden:
        layers += [_linear(in_dim, width, math.sqrt(2)), act()]
        in_dim = width
    return layers, in_dim


def _actor_space(space: gym.Space) -> gym.Space:
    if isinstance(space, gym.spaces.Dict) and "observations" in space.spaces:
        return space["observations"]
    return space


class ActorCriticModule(TorchRLModule, ValueFunctionAPI, InferenceOnlyAPI):
    """Masked actor-critic with separate networks and a learner-only (optionally central)
    critic; see the module docstring for ``model_config``."""

    def setup(self) -> None:
        cfg = self.model_config or {}
        # RLModuleSpec.build hands modules a dict (a DefaultModelConfig becomes one there);
        # marl's specs give dicts.
        assert isinstance(cfg, dict), "the actor-critic's model_config is a dict"
        assert self.observation_space is not None and self.action_space is not None, \
            "the actor-critic's spec gives both spaces"
        hidden = list(cfg.get("hidden", [64, 64]))
        activation = cfg.get("activation", "tanh")
        kind = cfg.get("encoder", "mlp")
        input_norm = cfg.get("input_norm", "none")
        obs_dim = gym.spaces.flatdim(_actor_space(self.observation_space))
        space = self.action_space
        self.action_squash = cfg.get("action_squash", "clip")
        self._dist_cls = action_distribution(space, self.action_squash)
        self.continuous = isinstance(space, gym.spaces.Box)
        if isinstance(space, gym.spaces.Box):
            if len(space.shape) != 1:
                raise ValueError(f"marl's actor-critic supports flat Box actions (one "
                                 f"dimension), not {space}")
            out_dim = int(space.shape[0])  # the Gaussian's mean
        else:
            assert isinstance(space, gym.spaces.Discrete), "action_distribution: Discrete or Box"
            out_dim = int(space.n)
        layers, width = encoder_layers(obs_dim, cfg, hidden, activation, kind, input_norm)
        # One Sequential per network: parameter names stay pi.<i>/critic.<i> for every
        # encoder (checkpoints of the MLP-only module load unchanged).
        self.pi = nn.Sequential(*layers, _linear(width, out_dim, 0.01))
        if self.continuous:
            # State-independent log std (CleanRL, MAPPO): one learned value per action
            # dimension, initialised to 0 (std 1).
            self.pi_log_std = nn.Parameter(torch.zeros(out_dim))
        self.central = cfg.get("critic_input", "own_obs") == "central"
        self.normalizes_values = bool(cfg.get("value_normalization", True))
        self.share_encoder = bool(cfg.get("share_encoder", False)) and not self.central
        if not self.inference_only and self.share_encoder:
            # The value head on the actor's last hidden layer (pi[:-1]).
            self.critic = nn.Sequential(_linear(width, 1, 1.0))
            self.value_norm = ValueNorm() if self.normalizes_values else None
        elif not self.inference_only:
            critic_hidden = list(hidden if cfg.get("critic_hidden") is None
                                 else cfg["critic_hidden"])
            if self.central:
                layers, width = encoder_layers(int(cfg["critic_obs_dim"]), cfg, critic_hidden,
                                               activation)
            else:
                layers, width = encoder_layers(obs_dim, cfg, critic_hidden, activation, kind,
                                               input_norm)
            self.critic = nn.Sequential(*layers, _linear(width, 1, 1.0))
            self.value_norm = ValueNorm() if self.normalizes_values else None

    @property
    def has_critic(self) -> bool:
        return not self.inference_only

    @staticmethod
    def _own_obs(batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor | None]:
        obs = batch[Columns.OBS]
        if isinstance(obs, dict):
            return obs["observations"].flatten(1), obs["action_mask"]
        return obs.flatten(1), None

    def _dist_inputs(self, out: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        if self.continuous:  # cat(mean, log_std), the log std broadcast over the rows
            return torch.cat([out, self.pi_log_std.expand_as(out)], dim=-1)
        return mask_logits(out, mask)

    def _trunk(self, obs: torch.Tensor) -> torch.Tensor:
        """The actor's encoder and hidden layers: every layer of ``pi`` but its head."""
        for layer in list(self.pi.children())[:-1]:
            obs = layer(obs)
        return obs

    def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        obs, mask = self._own_obs(batch)
        return {Columns.ACTION_DIST_INPUTS: self._dist_inputs(self.pi(obs), mask)}

    def forward_train(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        # TorchRLModule's walks every submodule into training mode at each call (each SGD
        # step); a mode switch is due only after an eval() (inference restores the mode).
        if not self.training:
            self.train()
        return RLModule.forward_train(self, batch, **kwargs)

    def _forward_train(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if not self.share_encoder:
            return self._forward(batch)
        # One pass through the shared layers; the learner hands the embeddings to
        # compute_values.
        obs, mask = self._own_obs(batch)
        embeddings = self._trunk(obs)
        return {Columns.ACTION_DIST_INPUTS: self._dist_inputs(self.pi[-1](embeddings), mask),
                Columns.EMBEDDINGS: embeddings}

    # One distribution for sampling, inference and the loss (``modules.distributions``);
    # inference takes its deterministic version (RLlib: ``to_deterministic``).
    def get_inference_action_dist_cls(self) -> type[TorchDistribution]:
        return self._dist_cls

    def get_exploration_action_dist_cls(self) -> type[TorchDistribution]:
        return self._dist_cls

    def get_train_action_dist_cls(self) -> type[TorchDistribution]:
        return self._dist_cls

    def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> torch.Tensor:
        """Value of each row (normalized units when ``value_normalization``):
        V(critic_obs) (mappo) or V(own obs) (ppo, ippo)."""
        if self.share_encoder:
            if embeddings is None:
                embeddings = self._trunk(self._own_obs(batch)[0])
            return self.critic(embeddings).squeeze(-1)
        x = batch[CRITIC_OBS] if self.central else self._own_obs(batch)[0]
        return self.critic(x).squeeze(-1)

    def get_non_inference_attributes(self) -> list[str]:
        return ["critic", "value_norm"] if self.normalizes_values else ["critic"]


TeamCriticModule = ActorCriticModule
"""The 0.1 name (ippo/mappo only then); checkpoints of marl 0.1 name it."""
