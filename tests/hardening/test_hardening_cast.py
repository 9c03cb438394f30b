"""Boundary properties of TinyCast.forecast: any input, any option, finite forecasts or clear errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from hardening_checks import (
    _as_np,
    as_numpy,
    assert_finite,
    cases,
    forecast_verdict,
    is_item_list,
    outcome,
    series_inputs,
)
from hypothesis import given
from hypothesis import strategies as st

from tinyts.models.cast import TinyCast

Tally = Callable[[str], None]
LEVELS = (0.1, 0.5, 0.9)


def _expected_shape(x: Any, horizon: int) -> list[tuple[int, ...]]:
    """The documented output shapes of ``mean`` (one per list item)."""
    items = list(x) if is_item_list(x) else [x]
    out = []
    for a in items:
        shape = _as_np(a).shape
        out.append((horizon,) if len(shape) == 1 else (*shape[:-1], horizon))
    return out


@cases(180)
@given(
    series_inputs(max_time=150),
    st.sampled_from([1, 8, 49, 100]),
    st.sampled_from(["auto", "rollout", "coarse", "hybrid", "anchored"]),
    st.booleans(),
)
def test_forecast(
    tally: Tally, tiny_cast: TinyCast, x: Any, horizon: int, strategy: str, multi: bool
) -> None:
    call = lambda: tiny_cast.forecast(  # noqa: E731
        x, horizon, quantiles=LEVELS, strategy=strategy, near_steps=16, multivariate=multi, symmetry=False
    )
    kind, res = outcome(call, forecast_verdict(x, tiny_cast.config.context_length))
    tally(kind)
    if kind == "error":
        return
    means = res.mean if isinstance(res.mean, list) else [res.mean]
    quants = res.quantiles if isinstance(res.quantiles, list) else [res.quantiles]
    for m, q, shape in zip(means, quants, _expected_shape(x, horizon), strict=True):
        assert tuple(m.shape) == shape and tuple(q.shape) == (*shape, len(LEVELS))
        assert_finite(m, "forecast mean")
        assert_finite(q, "forecast quantiles")
        qs = as_numpy(q).astype(np.float64)
        assert (np.diff(qs, axis=-1) >= -1e-6 * (1 + np.abs(qs[..., 1:]))).all(), "quantiles cross"
    assert res.levels == LEVELS


BAD_HORIZONS = (0, -3, 2.5, True, "12", None, np.float64(4.0))
BAD_QUANTILES = ((), (0.15,), (0.5, 1.5), ("a",), (None,), 0.05)
BAD_OPTIONS: tuple[dict[str, Any], ...] = (
    {"strategy": "magic"},
    {"near_steps": 0},
    {"near_steps": 2.5},
    {"sifi_max_stride": 0},
    {"sifi_weight": 1.5},
    {"sifi_weight": float("nan")},
    {"batch_size": 0},
    {"batch_size": True},
)


@cases(120)
@given(
    st.one_of(
        st.tuples(st.just("horizon"), st.sampled_from(BAD_HORIZONS)),
        st.tuples(st.just("quantiles"), st.sampled_from(BAD_QUANTILES)),
        st.tuples(st.just("options"), st.sampled_from(BAD_OPTIONS)),
    ),
    st.sampled_from([(40,), (2, 70), (3, 1, 20)]),
)
def test_forecast_bad_arguments(
    tally: Tally, tiny_cast: TinyCast, bad: tuple[str, Any], shape: tuple
) -> None:
    x = np.sin(np.arange(int(np.prod(shape))) / 4.0).reshape(shape)
    what, value = bad
    args: dict[str, Any] = {"horizon": 12, "quantiles": LEVELS}
    if what == "options":
        args.update(value)
    else:
        args[what] = value
    kind, _ = outcome(lambda: tiny_cast.forecast(x, **args), ValueError, strict_type=False)
    tally(kind)


@cases(60)
@given(st.sampled_from([1e13, 1e20, 1e30, 1e37]), st.integers(16, 150), st.integers(0, 99), st.booleans())
def test_forecast_is_equivariant_to_huge_scales(
    tally: Tally, tiny_cast: TinyCast, scale: float, length: int, seed: int, as_tensor: bool
) -> None:
    """A huge series (down-scaled inside) is forecast as the same series at 1024, times the scale."""
    rng = np.random.default_rng(seed)
    x = (np.sin(np.arange(length) / 3.0) + 0.3 * rng.standard_normal(length) + 2.0) * 1024.0
    x[rng.random(length) < 0.2] = np.nan
    x[:3] = 1024.0 * np.array([1.0, 3.0, 2.0])
    ref = tiny_cast.forecast(x, 20, symmetry=False).mean
    big: Any = x / 1024.0 * scale
    if as_tensor:
        big = torch.from_numpy(big)
    out = as_numpy(tiny_cast.forecast(big, 20, symmetry=False).mean)
    np.testing.assert_allclose(out / scale * 1024.0, ref, rtol=2e-3, atol=2e-3 * np.nanstd(x))
    tally("ok")


def test_short_series_next_to_a_long_one(tiny_cast: TinyCast) -> None:
    """Found by this suite: a 2-point series in one call with a series longer than the context (SIFI
    on for the long one) came back as NaN (0 * NaN from a strided phase without observations)."""
    short = np.array([[-45.9, -42.1]], dtype=np.float16)
    long = torch.from_numpy(np.sin(np.arange(129) / 3.0) * 60)[None]
    res = tiny_cast.forecast([short, long], 49, multivariate=False, symmetry=False)
    for m in res.mean:
        assert_finite(m, "forecast mean")
    alone = tiny_cast.forecast([short], 49, multivariate=False, symmetry=False)
    np.testing.assert_allclose(as_numpy(res.mean[0]), as_numpy(alone.mean[0]), rtol=1e-3, atol=1e-2)


def test_sparse_phase_of_a_long_series(tiny_cast: TinyCast) -> None:
    """Every other point missing: one SIFI phase has nothing observed and must not enter the blend."""
    x = np.sin(np.arange(300) / 5.0) * 10 + 50
    x[::2] = np.nan
    out = as_numpy(tiny_cast.forecast(x, 30).mean)
    assert_finite(out, "forecast mean")
    assert np.abs(out - 50).max() < 1000


def test_no_observation_in_the_window_is_a_clear_error(tiny_cast: TinyCast) -> None:
    x = np.sin(np.arange(300) / 5.0)
    x[-tiny_cast.config.context_length :] = np.nan
    kind, _ = outcome(lambda: tiny_cast.forecast(x, 5), ValueError)
    assert kind == "error"
