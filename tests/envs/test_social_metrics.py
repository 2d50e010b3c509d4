"""Social outcome metrics against hand-computed values."""

from __future__ import annotations

import pytest

from envs.social_metrics import (
    efficiency,
    equality,
    gini,
    peace,
    peace_fraction,
    sustainability,
)


def test_efficiency_is_total_return_per_step() -> None:
    assert efficiency([3, 1, 0], 4) == 1.0
    assert efficiency([10.0, 5.0], 100) == 0.15
    assert efficiency([-1.0, 0.5], 2) == -0.25
    with pytest.raises(ValueError, match="episode_length"):
        efficiency([1.0], 0)


def test_gini_and_equality() -> None:
    # (0, 0, 3): sum_ij |x_i - x_j| = 4 * 3 = 12; 2 n^2 mean = 2 * 9 * 1 = 18.
    assert gini([0, 0, 3]) == pytest.approx(2 / 3)
    assert equality([0, 0, 3]) == pytest.approx(1 / 3)
    # (1, 3): sum = 2 * 2 = 4; 2 * 4 * 2 = 16 -> 0.25.
    assert gini([1, 3]) == pytest.approx(0.25)
    assert equality([1, 3]) == pytest.approx(0.75)
    assert equality([2, 2, 2]) == 1.0
    assert equality([0, 0]) == 1.0  # defined as 1 when nobody collected anything
    assert equality([0, 0, 0, 5]) == pytest.approx(0.25)  # one agent takes all: 1/n
    with pytest.raises(ValueError, match="non-negative"):
        gini([1, -1])


def test_sustainability_is_pooled_mean_harvest_time() -> None:
    assert sustainability([1, 2, 9]) == 4.0
    assert sustainability([500]) == 500.0
    assert sustainability([]) == 0.0


def test_peace_counts_untagged_agent_steps() -> None:
    assert peace(4, 3, 10) == 26.0
    assert peace(0, 5, 1000) == 5000.0
    assert peace_fraction(4, 3, 10) == pytest.approx(26 / 30)
    assert peace_fraction(0, 3, 0) == 1.0
    with pytest.raises(ValueError, match="tagged_agent_steps"):
        peace(31, 3, 10)
