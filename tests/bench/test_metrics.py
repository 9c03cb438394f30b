"""Benchmark metrics on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tinyts.bench.metrics import (
    QUANTILES,
    acf_period,
    crps_quantiles,
    mae,
    mase,
    mase_terms,
    mse,
    seasonal_period,
    seasonal_scale,
)


def test_mse_mae_by_hand() -> None:
    pred = np.array([[1.0, 2.0], [3.0, 5.0]])
    target = np.array([[1.0, 0.0], [4.0, 5.0]])
    assert mse(pred, target) == pytest.approx((0 + 4 + 1 + 0) / 4)
    assert mae(pred, target) == pytest.approx((0 + 2 + 1 + 0) / 4)


def test_masked_errors_only_count_masked_points() -> None:
    pred = np.array([0.0, 10.0, 3.0])
    target = np.array([1.0, 0.0, 1.0])
    mask = np.array([True, False, True])
    assert mse(pred, target, mask) == pytest.approx((1 + 4) / 2)
    assert mae(pred, target, mask) == pytest.approx((1 + 2) / 2)


def test_errors_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="same shape"):
        mse(np.zeros(3), np.zeros(4))
    with pytest.raises(TypeError, match="bool"):
        mae(np.zeros(3), np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match="no point"):
        mse(np.zeros(3), np.zeros(3), np.zeros(3, dtype=bool))


def test_seasonal_scale_and_mase_by_hand() -> None:
    context = np.array([[1.0, 2.0, 3.0, 5.0], [0.0, 0.0, 0.0, 0.0]])
    # period 2: |3-1|, |5-2| -> 2.5; the second series repeats itself -> 0
    np.testing.assert_allclose(seasonal_scale(context, 2), [2.5, 0.0])
    # period >= length falls back to lag 1: |1|, |1|, |2| -> 4/3
    assert seasonal_scale(context[:1], 4)[0] == pytest.approx(4 / 3)
    pred = np.array([[1.0, 1.0], [1.0, 1.0]])
    target = np.array([[2.0, 4.0], [0.0, 0.0]])
    # series 1: MAE 2 / 2.5 = 0.8; series 2 has a zero scale and is left out
    assert mase(pred, target, context, 2) == pytest.approx(0.8)
    np.testing.assert_allclose(mase_terms(pred, target, context, 2), [0.8, np.nan])  # per series
    with pytest.raises(ValueError, match="zero seasonal scale"):
        mase(pred[1:], target[1:], context[1:], 2)
    with pytest.raises(ValueError, match="period"):
        seasonal_scale(context, 0)


def test_crps_by_hand() -> None:
    y = np.array([1.0])
    # one level q = 0.1, forecast 0 below y = 1: 2 * |1 * (0 - 0.1)| / |1| = 0.2
    assert crps_quantiles(np.array([[0.0]]), y, quantiles=(0.1,)) == pytest.approx(0.2)
    # the same forecast above y at q = 0.1: 2 * |(1 - 2) * (1 - 0.1)| = 1.8
    assert crps_quantiles(np.array([[2.0]]), y, quantiles=(0.1,)) == pytest.approx(1.8)
    # two levels: mean of the two per-level losses
    q = np.array([[0.0, 2.0]])
    assert crps_quantiles(q, y, quantiles=(0.1, 0.9)) == pytest.approx((0.2 + 0.2) / 2)


def test_crps_of_a_point_forecast_is_the_normalised_deviation() -> None:
    rng = np.random.default_rng(0)
    y = rng.standard_normal((5, 7)) + 3
    point = y + rng.standard_normal((5, 7))
    as_quantiles = np.repeat(point[..., None], len(QUANTILES), axis=-1)
    expected = np.sum(np.abs(y - point)) / np.sum(np.abs(y))
    assert crps_quantiles(as_quantiles, y) == pytest.approx(expected)
    assert crps_quantiles(np.repeat(y[..., None], len(QUANTILES), axis=-1), y) == 0.0


def test_crps_rewards_a_calibrated_spread() -> None:
    rng = np.random.default_rng(1)
    y = 5 + rng.standard_normal(20000)
    from scipy.stats import norm

    calibrated = 5 + np.broadcast_to(norm.ppf(QUANTILES), (y.size, len(QUANTILES)))
    point = np.full((y.size, len(QUANTILES)), 5.0)
    assert crps_quantiles(calibrated, y) < crps_quantiles(point, y)


def test_crps_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="shape"):
        crps_quantiles(np.zeros((3, 2)), np.ones(3))
    with pytest.raises(ValueError, match=r"levels in \(0, 1\)"):
        crps_quantiles(np.zeros((3, 1)), np.ones(3), quantiles=(1.0,))
    with pytest.raises(ValueError, match="all zero"):
        crps_quantiles(np.zeros((3, 9)), np.zeros(3))


@pytest.mark.parametrize(
    ("freq", "period"), [("h", 24), ("15min", 96), ("10min", 144), ("D", 7), ("W", 52), ("30min", 48)]
)
def test_seasonal_period_from_timestamps(freq: str, period: int) -> None:
    stamps = pd.date_range("2020-01-01", periods=50, freq=freq).to_numpy()
    assert seasonal_period(stamps) == period


def test_seasonal_period_falls_back_to_the_acf() -> None:
    t = np.arange(2000)
    x = np.sin(2 * np.pi * t / 37) + 0.1 * np.random.default_rng(0).standard_normal(t.size)
    assert acf_period(x) == 37
    odd = pd.date_range("2020-01-01", periods=2000, freq="7min").to_numpy()
    assert seasonal_period(odd, x[None, :]) == 37
    assert seasonal_period(None, None) == 1
    assert acf_period(np.arange(5.0)) == 1
