"""Boundary properties of the data conversion layer (tinyts.data.convert.arrays): the one input boundary."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
import torch
from hardening_checks import (
    as_numpy,
    assert_same_where_observed,
    cases,
    frames,
    is_item_list,
    make_values,
    n_channels,
    n_series,
    outcome,
    series_inputs,
    verdict,
)
from hypothesis import given
from hypothesis import strategies as st

from tinyts.data.convert.arrays import (
    batch_to_df,
    batch_to_df_horizon,
    df_to_batch,
    from_batch,
    from_batch_horizon,
    future_timestamps,
    to_batch,
)

Tally = Callable[[str], None]


@cases(450)
@given(series_inputs(), st.sampled_from(["right", "left"]), st.sampled_from([1, 2, 3]), st.booleans())
def test_to_batch_accepts_exactly_the_valid_inputs(
    tally: Tally, x: object, align: str, min_length: int, allow_nan: bool
) -> None:
    expected = verdict(x, min_length=min_length)
    if expected is None and not allow_nan and np.isnan(_values(x)).any():
        expected = ValueError
    kind, batch = outcome(
        lambda: to_batch(x, align=align, min_length=min_length, allow_nan=allow_nan), expected
    )
    tally(kind)
    if kind == "error":
        return
    assert batch.values.dtype == torch.float32 and batch.observed.dtype == torch.bool
    assert batch.values.shape == batch.observed.shape
    assert batch.n_series == n_series(x) and batch.n_channels == n_channels(x)
    assert torch.isfinite(batch.values).all()
    assert not batch.values[~batch.observed].any()  # missing and padding are 0.0
    # the round trip gives the input back: same form, observed values exact, missing stay missing
    back = from_batch(batch.values.double().numpy(), batch, fill_observed=True)
    items = list(zip(x, back, strict=True)) if is_item_list(x) else [(x, back)]
    for a, b in items:
        assert tuple(as_numpy(b).shape) == tuple(as_numpy(a).shape)
        assert_same_where_observed(a, b)


def _values(x: object) -> np.ndarray:
    if is_item_list(x):
        return np.concatenate([as_numpy(a).astype(np.float64).ravel() for a in x])
    return as_numpy(x).astype(np.float64)


@cases(180)
@given(
    st.lists(st.integers(1, 40), min_size=1, max_size=4),
    st.sampled_from([1, 2]),
    st.sampled_from([(), (3,)]),
    st.sampled_from(["right", "left"]),
)
def test_horizon_outputs_come_back_per_series(
    tally: Tally, lengths: list[int], channels: int, extra: tuple[int, ...], align: str
) -> None:
    x = [make_values((channels, n), "smooth", n) for n in lengths]
    batch = to_batch(x, align=align)
    y = np.ones((len(lengths), channels, 5, *extra))
    back = from_batch_horizon(y, batch)
    assert [b.shape for b in back] == [(channels, 5, *extra)] * len(lengths)
    with pytest.raises(ValueError, match="n_series"):
        from_batch_horizon(np.ones((len(lengths) + 1, channels, 5)), batch)
    with pytest.raises(ValueError, match="shape"):
        from_batch(np.ones((len(lengths), channels, batch.n_time + 1)), batch)
    tally("ok")


# ------------------------------------------------------------------------------------- DataFrames


@cases(300)
@given(frames(), st.sampled_from(["right", "left"]))
def test_df_to_batch_and_back(
    tally: Tally, drawn: tuple[pd.DataFrame, type[Exception] | None, list[np.ndarray]], align: str
) -> None:
    df, forced, arrays = drawn
    kind, batch = outcome(lambda: df_to_batch(df, align=align), forced or verdict(arrays), strict_type=False)
    tally(kind)
    if kind == "error":
        return
    assert batch.n_series == len(arrays) and batch.kind == "dataframe"
    back = batch_to_df(batch.values.double().numpy(), batch, fill_observed=True)
    assert len(back) == len(df)
    merged = back.merge(df, on=["unique_id", "ds"], suffixes=("_out", "_in"))
    assert len(merged) == len(df)
    y_in = merged["y_in"].to_numpy(dtype=np.float64, na_value=np.nan)
    seen = ~np.isnan(y_in)
    np.testing.assert_array_equal(merged["y_out"].to_numpy(np.float64)[seen], y_in[seen])
    if all(len(t) >= 2 for t in batch.timestamps or []):
        future = batch_to_df_horizon(np.zeros((len(arrays), 1, 3)), batch)
        assert len(future) == 3 * len(arrays)


@cases(120)
@given(st.integers(0, 5), st.integers(-2, 6), st.sampled_from(["datetime", "int", "uneven"]))
def test_future_timestamps(tally: Tally, length: int, horizon: int, kind: str) -> None:
    index: pd.Index
    if kind == "datetime":
        index = pd.date_range("2024-01-31", periods=length, freq="D")
    elif kind == "int":
        index = pd.Index(np.arange(length) * 3)
    else:
        index = pd.Index(np.cumsum(np.arange(length) + 1))
    expected: type[Exception] | None = None
    if horizon < 1 or length < 2 or (kind == "uneven" and length > 2):
        expected = ValueError
    kind_, out = outcome(lambda: future_timestamps(index, horizon), expected)
    tally(kind_)
    if kind_ == "ok":
        assert len(out) == horizon and out[0] > index[-1]
