"""The Lagrangian maths (``marl.constraints``) on hand-built costs, and the spec's
``algorithm.constraints`` checks. No Ray."""

from __future__ import annotations

import math

import pytest

from marl.constraints import combine_advantages, lagrange_update, mean_episode_cost
from marl.errors import SpecError
from marl.spec import spec_from_dict


def test_multiplier_rises_over_the_limit_falls_below_and_stays_non_negative() -> None:
    lam, seen = 0.0, []
    for cost in [2.0, 1.0, 0.5, 0.0, 0.0, 0.0]:  # limit 0.5, lr 0.1
        lam = lagrange_update(lam, cost, limit=0.5, lr=0.1)
        seen.append(round(lam, 10))
    assert seen == [0.15, 0.2, 0.2, 0.15, 0.1, 0.05]
    assert lagrange_update(0.05, 0.0, limit=1.0, lr=0.1) == 0.0  # projected onto lambda >= 0
    assert lagrange_update(0.3, 0.7, limit=0.7, lr=5.0) == pytest.approx(0.3)  # at the limit
    with pytest.raises(ValueError, match="nan"):
        lagrange_update(0.3, math.nan, limit=0.5, lr=0.1)


def test_combined_advantage() -> None:
    # (A_r - sum_k lambda_k A_c,k) / (1 + sum_k lambda_k)
    out = combine_advantages([1.0, -1.0], [[2.0, 0.0], [0.0, 4.0]], [0.5, 1.0])
    assert out == pytest.approx([(1.0 - 1.0) / 2.5, (-1.0 - 4.0) / 2.5])
    assert combine_advantages([1.0, -2.0], [[9.0, 9.0]], [0.0]) == [1.0, -2.0]  # lambda 0: PPO
    with pytest.raises(ValueError):
        combine_advantages([1.0], [[1.0]], [0.1, 0.2])


def test_mean_episode_cost_per_agent_episode() -> None:
    # 4 agent-episodes with 6 collisions between them; no finished episode: left out
    assert mean_episode_cost({"collisions": 6.0}, {"collisions": 4}) == {"collisions": 1.5}
    assert mean_episode_cost({"collisions": 0.0}, {"collisions": 0}) == {}


def _spec(**algorithm):
    return spec_from_dict({"name": "t", "env": {"id": "cooperative/spread-v0"},
                           "algorithm": algorithm})


def test_spec_constraints() -> None:
    spec = _spec(name="mappo", constraints=[{"cost": "collisions", "limit": 0.5}])
    c = spec.algorithm.constraints[0]
    assert (c.cost, c.limit, c.lambda_lr, c.lambda_init, c.advantage) == (
        "collisions", 0.5, 0.05, 0.0, "center")
    assert spec.to_dict()["algorithm"]["constraints"][0]["cost"] == "collisions"


@pytest.mark.parametrize("constraints, message", [
    ([{"cost": "bumps", "limit": 0.5}],
     "algorithm.constraints: unknown cost 'bumps' for cooperative/spread-v0; its costs: "
     "collisions"),
    ([{"cost": "collisions", "limit": 0.5}, {"cost": "collisions", "limit": 1}],
     "cost names repeat"),
    ([{"cost": "collisions", "limit": -1}], "algorithm.constraints.0.limit"),
    ([{"cost": "collisions"}], "missing required key 'algorithm.constraints.0.limit'"),
])
def test_spec_constraint_errors_are_one_line(constraints, message) -> None:
    with pytest.raises(SpecError) as err:
        _spec(constraints=constraints)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_constraints_need_a_ppo_family_algorithm() -> None:
    with pytest.raises(SpecError, match="run with ppo, ippo or mappo .*not reinforce"):
        _spec(name="reinforce", constraints=[{"cost": "collisions", "limit": 0.5}])
