"""Does a spec's placement fit a Ray cluster? Plain Python: no Ray import.

A spec asks for actors with resource bundles::

    env runner  x num_env_runners : {CPU: num_cpus_per_env_runner, **custom_resources_per_env_runner}
    learner     x num_learners    : {CPU: 1 if no GPU else 0, GPU: num_gpus_per_learner,
                                     **custom_resources_per_learner}     (RLlib's "auto" CPUs)
    driver learner (num_learners=0, num_gpus_per_learner>0): {GPU: num_gpus_per_learner}

Each bundle must fit on one node, and all of them together on the cluster. We pack
them first-fit-decreasing onto the nodes' total resources, the way Ray's scheduler
would place them on an idle cluster. A spec that does not fit would otherwise leave
RLlib waiting forever for actors that never start; here it is one ``ClusterError``
line naming the fields to change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from dataclasses import dataclass, field

from marl.errors import ClusterError

__all__ = ["Bundle", "Node", "demand", "check_fits", "describe_nodes"]

_EPS = 1e-9


@dataclass(frozen=True)
class Bundle:
    """Resources one actor needs on a single node."""

    role: str
    amounts: dict[str, float]


@dataclass(frozen=True)
class Node:
    """A node's total resources (``CPU``, ``GPU``, custom names)."""

    name: str
    total: dict[str, float] = field(default_factory=dict)


def demand(resources: Any) -> list[Bundle]:
    """The actor bundles a ``ResourcesSpec`` asks for (see the module docstring)."""
    r = resources
    runner = {"CPU": float(r.num_cpus_per_env_runner),
              **{k: float(v) for k, v in getattr(r, "custom_resources_per_env_runner", {}).items()}}
    gpus = float(r.num_gpus_per_learner)
    learner = {"CPU": 0.0 if gpus > 0 else 1.0, "GPU": gpus,
               **{k: float(v) for k, v in getattr(r, "custom_resources_per_learner", {}).items()}}
    bundles = [Bundle("env runner", runner) for _ in range(r.num_env_runners)]
    bundles += [Bundle("learner", learner) for _ in range(r.num_learners)]
    if r.num_learners == 0 and gpus > 0:
        bundles.append(Bundle("driver learner", {"GPU": gpus}))
    return [Bundle(b.role, {k: v for k, v in b.amounts.items() if v > 0}) for b in bundles]


def _fmt(amounts: Mapping[str, float]) -> str:
    return ", ".join(f"{v:g} {k}" for k, v in sorted(amounts.items())) or "nothing"


def describe_nodes(nodes: Sequence[Node]) -> str:
    """``3 nodes: head (0 CPU), w1 (2 CPU, 1 GPU), ...`` for error lines."""
    parts = [f"{n.name} ({_fmt({k: v for k, v in n.total.items() if k in ('CPU', 'GPU')})})"
             for n in nodes]
    return f"{len(nodes)} node{'s' if len(nodes) != 1 else ''}: {', '.join(parts)}"


def _totals(bundles: Sequence[Bundle]) -> dict[str, float]:
    out: dict[str, float] = {}
    for b in bundles:
        for k, v in b.amounts.items():
            out[k] = out.get(k, 0.0) + v
    return out


def _fix_for(key: str) -> str:
    if key == "GPU":
        return ("lower resources.num_gpus_per_learner / num_learners, or add a GPU node "
                "(cluster.yaml: the gpu_learner node type)")
    if key == "CPU":
        return ("lower resources.num_env_runners / num_cpus_per_env_runner / num_learners, "
                "or add worker nodes")
    return (f"remove {key!r} from resources.custom_resources_per_*, or start nodes with "
            f"`ray start --resources='{{\"{key}\": N}}'`")


def check_fits(resources: object, nodes: Sequence[Node]) -> None:
    """Raise ``ClusterError`` unless the spec's bundles can all be placed on ``nodes``.

    Args:
        resources: a ``ResourcesSpec`` (duck-typed: only its fields are read).
        nodes: the cluster's alive nodes with their total resources.

    Raises:
        ClusterError: one line: what is asked, what the cluster has, which fields to change.
    """
    bundles = demand(resources)
    if not bundles:
        return
    if not nodes:
        raise ClusterError("the cluster has no alive nodes; start it (`ray up cluster.yaml`) "
                           "and wait for the nodes to join (`ray status`)")
    have = _totals([Bundle(n.name, n.total) for n in nodes])
    need = _totals(bundles)
    for key, amount in sorted(need.items()):
        if amount > have.get(key, 0.0) + _EPS:
            asked = "; ".join(
                f"{sum(1 for b in bundles if b.role == role)} {role}(s) x "
                f"{_fmt(next(b.amounts for b in bundles if b.role == role))}"
                for role in dict.fromkeys(b.role for b in bundles))
            raise ClusterError(
                f"resources: the spec needs {amount:g} {key} ({asked}) but the cluster has "
                f"{have.get(key, 0.0):g} ({describe_nodes(nodes)}); {_fix_for(key)}")
    # Totals fit; now each bundle must fit on one node (first-fit decreasing).
    free = [dict(n.total) for n in nodes]
    order = sorted(bundles, key=lambda b: (-b.amounts.get("GPU", 0.0),
                                           -b.amounts.get("CPU", 0.0)))
    for b in order:
        for node_free in free:
            if all(node_free.get(k, 0.0) + _EPS >= v for k, v in b.amounts.items()):
                for k, v in b.amounts.items():
                    node_free[k] = node_free.get(k, 0.0) - v
                break
        else:
            raise ClusterError(
                f"resources: a {b.role} needs {_fmt(b.amounts)} on one node, and after placing "
                f"the larger actors no node has that left ({describe_nodes(nodes)}); "
                f"{_fix_for(max(b.amounts, key=lambda k: b.amounts[k]))}")
