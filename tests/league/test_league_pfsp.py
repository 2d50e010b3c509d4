"""PFSP weightings against hand-computed distributions."""

from __future__ import annotations

import pytest

from marl.league.pfsp import hard, linear_capped, pfsp_distribution, variance

WIN_RATES = [0.2, 0.5, 0.9]


def test_hard_squared_matches_hand_computation() -> None:
    # (1 - x)^2 = 0.64, 0.25, 0.01; sum 0.90
    probs = pfsp_distribution(WIN_RATES, "hard", exponent=2.0)
    assert probs == pytest.approx([0.64 / 0.9, 0.25 / 0.9, 0.01 / 0.9])


def test_hard_exponent_is_configurable() -> None:
    # p = 1: 0.8, 0.5, 0.1 (sum 1.4); p = 3: 0.512, 0.125, 0.001 (sum 0.638)
    assert pfsp_distribution(WIN_RATES, "hard", exponent=1.0) == pytest.approx(
        [0.8 / 1.4, 0.5 / 1.4, 0.1 / 1.4]
    )
    assert pfsp_distribution(WIN_RATES, "hard", exponent=3.0) == pytest.approx(
        [0.512 / 0.638, 0.125 / 0.638, 0.001 / 0.638]
    )
    assert hard(0.5, 3.0) == pytest.approx(0.125)


def test_variance_matches_hand_computation() -> None:
    # x (1 - x) = 0.16, 0.25, 0.09; sum 0.50
    assert pfsp_distribution(WIN_RATES, "variance") == pytest.approx([0.32, 0.5, 0.18])
    assert variance(0.5) == pytest.approx(0.25)


def test_linear_capped_matches_hand_computation() -> None:
    # min(0.5, 1 - x) = 0.5, 0.5, 0.1; sum 1.1
    assert pfsp_distribution(WIN_RATES, "linear_capped") == pytest.approx(
        [0.5 / 1.1, 0.5 / 1.1, 0.1 / 1.1]
    )
    assert linear_capped(0.0) == 0.5


def test_all_zero_weights_give_uniform() -> None:
    assert pfsp_distribution([1.0, 1.0], "hard") == [0.5, 0.5]
    assert pfsp_distribution([0.0, 1.0, 1.0], "variance") == pytest.approx([1 / 3] * 3)


def test_empty_and_callable_and_unknown() -> None:
    assert pfsp_distribution([], "hard") == []
    assert pfsp_distribution([0.2, 0.6], lambda x: x) == pytest.approx([0.25, 0.75])
    with pytest.raises(KeyError, match="unknown PFSP weighting"):
        pfsp_distribution([0.5], "squared_typo")
