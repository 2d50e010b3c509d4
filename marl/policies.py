"""Which agent plays with which policy, and which policies train (plain Python)."""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from marl.errors import SpecError
from marl.spec import PoliciesSpec

__all__ = ["PolicyPlan", "plan_policies"]


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
