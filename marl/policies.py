"""Which agent plays with which policy, which policies train, and what a policy's cnn
encoder views its observation as (plain Python)."""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from marl.errors import SpecError
from marl.spec import ModelSpec, PoliciesSpec

if TYPE_CHECKING:
    from envs.registry import EnvEntry

__all__ = ["BOARD_CONV", "NATURE_CONV", "CnnInput", "PolicyPlan", "cnn_input", "plan_policies"]

BOARD_CONV: tuple[tuple[int, ...], ...] = ((64, 3), (64, 3))
"""Default conv layers on a board: 3x3, same padding (the board keeps its size)."""
NATURE_CONV: tuple[tuple[int, ...], ...] = ((32, 8, 4), (64, 4, 2), (64, 3, 1))
"""Default conv layers on an image: the Nature CNN's (Mnih et al. 2015), unpadded."""


@dataclass(frozen=True)
class PolicyPlan:
    """The resolved policy layout of a run.

    Attributes:
        rules: ordered ``(agent glob, policy)`` pairs; first match wins.
        agents_of: policy -> the agents it plays.
        trainable: policies that learn.
        frozen: frozen policy -> its kind (``random``).
    """

    rules: tuple[tuple[str, str], ...]
    agents_of: dict[str, tuple[str, ...]]
    trainable: tuple[str, ...]
    frozen: dict[str, str]

    def policy_of(self, agent: str) -> str:
        for pattern, policy in self.rules:
            if fnmatchcase(agent, pattern):
                return policy
        raise KeyError(agent)


def plan_policies(spec: PoliciesSpec, agents: list[str]) -> PolicyPlan:
    """Resolve the spec's policy section against the env's agent ids.

    Raises:
        SpecError: an agent without a policy, or a frozen/trained policy no agent plays.
    """
    if spec.mode == "shared":
        rules: tuple[tuple[str, str], ...] = (("*", "shared"),)
    elif spec.mode == "per_agent":
        rules = tuple((a, a) for a in agents)
    else:
        rules = tuple(spec.groups.items())
    agents_of: dict[str, list[str]] = {}
    for agent in agents:
        policy = next((p for pat, p in rules if fnmatchcase(agent, pat)), None)
        if policy is None:
            raise SpecError(
                f"policies.groups: agent {agent!r} matches no pattern; add one "
                f"(agents are {', '.join(agents)})"
            )
        agents_of.setdefault(policy, []).append(agent)
    used = set(agents_of)
    for name in [*spec.frozen, *(spec.train or [])]:
        if name not in used:
            raise SpecError(
                f"policies: policy {name!r} is played by no agent; policies in use are "
                f"{', '.join(sorted(used))}"
            )
    trainable = tuple(
        p for p in agents_of if p not in spec.frozen and (spec.train is None or p in spec.train)
    )
    if not trainable:
        raise SpecError("policies: no policy trains; list one in policies.train or unfreeze one")
    return PolicyPlan(
        rules=rules,
        agents_of={p: tuple(a) for p, a in agents_of.items()},
        trainable=trainable,
        frozen={p: k for p, k in spec.frozen.items()},
    )


@dataclass(frozen=True)
class CnnInput:
    """What a cnn encoder takes: the observation viewed as ``board`` (H, W, C), times
    ``scale``, through ``conv`` ([channels, kernel(, stride)] entries)."""

    board: tuple[int, int, int]
    scale: float
    conv: tuple[tuple[int, ...], ...]
    features: str = "none"


def cnn_input(model: ModelSpec, entry: EnvEntry, space: Any, policy: str) -> CnnInput:
    """The cnn encoder's input for a policy whose agents observe ``space``: the env's
    declared board, else the observation itself when it is an image, (H, W) or (H, W, C)
    after env.preprocess (uint8 pixels scaled by 1/255: the parallel adapter casts them
    to float32 unscaled); ``model.conv``, else the board or the image default.

    Raises:
        SpecError: the observation is neither a board nor an image, or the conv layers do
            not fit it (a side shrinks below 1: side' = (side + 2 pad - k) // stride + 1).
    """
    import gymnasium as gym
    import numpy as np

    if model.features != "none" and model.features not in entry.features:
        offered = ", ".join(entry.features) or "none"
        raise SpecError(f"policies.model.features: {model.features} is not offered by "
                        f"{entry.id} (its board features: {offered}); remove features")
    if entry.board is not None:
        h, w, c = (int(x) for x in entry.board)
        scale = 1.0
    else:
        if isinstance(space, gym.spaces.Dict) and "observations" in space.spaces:
            space = space["observations"]
        if not isinstance(space, gym.spaces.Box) or len(space.shape) not in (2, 3):
            raise SpecError(f"policies.model.encoder: cnn needs an image observation (H, W) "
                            f"or (H, W, C); policy {policy!r} observes {space}: fix "
                            f"env.preprocess or use encoder: mlp")
        h, w, c = (int(x) for x in (*space.shape, 1)[:3])
        scale = 1.0 / 255.0 if space.dtype == np.uint8 else 1.0
    conv = tuple(tuple(int(x) for x in e) for e in model.conv) if model.conv else (
        BOARD_CONV if entry.board is not None else NATURE_CONV)
    sides = [h, w]
    for layer in conv:
        kernel = layer[1]
        stride, pad = (layer[2], 0) if len(layer) == 3 else (1, kernel // 2)
        sides = [(side + 2 * pad - kernel) // stride + 1 for side in sides]
        if min(sides) < 1:
            raise SpecError(f"policies.model.conv: {[list(e) for e in conv]} does not fit "
                            f"the {h}x{w}x{c} observation of policy {policy!r}; use smaller "
                            f"kernels or strides, or a larger image (env.preprocess resize)")
    return CnnInput((h, w, c), scale, conv, model.features)
