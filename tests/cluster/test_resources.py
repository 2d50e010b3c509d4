"""Spec placement vs a cluster's nodes (``marl.resources``): pure Python, no Ray."""

from __future__ import annotations

import pytest

from marl.errors import ClusterError
from marl.resources import Node, check_fits, demand
from marl.spec import ResourcesSpec

HEAD = Node("head", {"CPU": 0.0, "memory": 1e9})


def nodes(*cpus: float, gpus: tuple[float, ...] = ()) -> list[Node]:
    out = [HEAD] + [Node(f"w{i}", {"CPU": c}) for i, c in enumerate(cpus, 1)]
    out += [Node(f"g{i}", {"CPU": 4.0, "GPU": g}) for i, g in enumerate(gpus, 1)]
    return out


def test_demand_counts_runners_and_learners_with_rllibs_auto_cpus() -> None:
    r = ResourcesSpec(num_env_runners=3, num_cpus_per_env_runner=0.5, num_learners=2,
                      num_gpus_per_learner=0)
    bundles = demand(r)
    assert [b.role for b in bundles] == ["env runner"] * 3 + ["learner"] * 2
    assert bundles[0].amounts == {"CPU": 0.5} and bundles[-1].amounts == {"CPU": 1.0}
    gpu = demand(ResourcesSpec(num_env_runners=0, num_learners=2, num_gpus_per_learner=1))
    assert [b.amounts for b in gpu] == [{"GPU": 1.0}, {"GPU": 1.0}]  # auto: 0 CPUs with a GPU
    driver = demand(ResourcesSpec(num_env_runners=0, num_learners=0, num_gpus_per_learner=1))
    assert [(b.role, b.amounts) for b in driver] == [("driver learner", {"GPU": 1.0})]


def test_fits_when_every_actor_has_a_node() -> None:
    check_fits(ResourcesSpec(num_env_runners=4, num_cpus_per_env_runner=1), nodes(2, 2))
    check_fits(ResourcesSpec(num_env_runners=2, num_cpus_per_env_runner=1, num_learners=2,
                             num_gpus_per_learner=1), nodes(2, gpus=(2,)))
    check_fits(ResourcesSpec(num_env_runners=0, num_learners=0), [HEAD])  # all in the driver


def test_too_few_cpus_names_the_fields_and_the_cluster() -> None:
    with pytest.raises(ClusterError) as err:
        check_fits(ResourcesSpec(num_env_runners=5, num_cpus_per_env_runner=1), nodes(2, 2))
    msg = str(err.value)
    assert "needs 5 CPU" in msg and "has 4" in msg and "5 env runner(s) x 1 CPU" in msg
    assert "resources.num_env_runners" in msg and "w1 (2 CPU)" in msg


def test_no_gpu_node_for_gpu_learners() -> None:
    with pytest.raises(ClusterError, match=r"needs 2 GPU .* has 0 .*num_gpus_per_learner"):
        check_fits(ResourcesSpec(num_env_runners=1, num_learners=2, num_gpus_per_learner=1),
                   nodes(4))


def test_total_fits_but_no_single_node_can_host_an_actor() -> None:
    # 3 CPUs in total, but a 2-CPU runner needs them on one node.
    with pytest.raises(ClusterError, match=r"a env runner needs 2 CPU on one node"):
        check_fits(ResourcesSpec(num_env_runners=1, num_cpus_per_env_runner=2),
                   nodes(1.5, 1.5))


def test_custom_resources_pin_runners_to_node_types() -> None:
    r = ResourcesSpec(num_env_runners=2, num_cpus_per_env_runner=1,
                      custom_resources_per_env_runner={"env_node": 1})
    tagged = [HEAD, Node("e1", {"CPU": 2, "env_node": 2})]
    check_fits(r, tagged)
    with pytest.raises(ClusterError, match=r"env_node.*ray start --resources"):
        check_fits(r, nodes(8))


def test_empty_cluster() -> None:
    with pytest.raises(ClusterError, match="no alive nodes"):
        check_fits(ResourcesSpec(num_env_runners=1), [])
