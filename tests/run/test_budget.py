"""The fraction of a run's stop budget spent: the clock of linear schedules when the
budget is time or iterations (``marl.run.budget_spent``)."""

from __future__ import annotations

import pytest

from marl.run import budget_spent
from marl.spec import spec_from_dict


def _spec(stop: dict) -> object:
    return spec_from_dict({"name": "b", "env": {"id": "competitive/connect_four-v0"},
                           "stop": stop})


@pytest.mark.parametrize(("stop", "at", "fraction"), [
    ({"iterations": 8}, (2, 0, 100.0), 0.25),
    ({"time_s": 900}, (50, 10**6, 225.0), 0.25),
    # several criteria: the one nearest to running out (the run stops on the first)
    ({"iterations": 100, "time_s": 60}, (10, 0, 30.0), 0.5),
    ({"iterations": 4, "time_s": 60}, (3, 0, 30.0), 0.75),
    ({"env_steps": 1000}, (1, 250, 1.0), 0.25),
    ({"time_s": 60}, (9, 0, 75.0), 1.0),  # past the budget: capped
])
def test_budget_spent_is_the_largest_fraction(stop: dict, at: tuple, fraction: float) -> None:
    assert budget_spent(_spec(stop), *at) == pytest.approx(fraction)
