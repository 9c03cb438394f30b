"""The input boundary: arrays, lists and long DataFrames to a Batch and back."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinyts.data.convert.arrays import (
    Batch,
    batch_to_df,
    batch_to_df_horizon,
    df_to_batch,
    from_batch,
    from_batch_horizon,
    future_timestamps,
    to_batch,
)

# ----------------------------------------------------------------------------------- round trips


@pytest.mark.parametrize(("shape", "kind"), [((20,), "1d"), ((3, 20), "2d"), ((4, 3, 20), "3d")])
def test_array_round_trip(shape: tuple[int, ...], kind: str) -> None:
    x = np.random.default_rng(0).standard_normal(shape)
    b = to_batch(x)
    assert b.kind == kind
    assert b.values.dtype == torch.float32 and b.values.ndim == 3
    assert b.observed.dtype == torch.bool and bool(b.observed.all())
    assert b.lengths == [20] * b.n_series
    back = from_batch(b.values, b)
    assert isinstance(back, np.ndarray) and back.shape == shape and back.dtype == np.float64
    np.testing.assert_allclose(back, x, rtol=1e-6)
    exact = from_batch(b.values, b, fill_observed=True)
    np.testing.assert_array_equal(exact, x)  # observed points come back at full precision


def test_dtypes_int_float32_and_nested_lists() -> None:
    b = to_batch(np.arange(6, dtype=np.int32).reshape(2, 3))
    assert b.kind == "2d" and from_batch(b.values, b).dtype == np.float64
    b = to_batch(np.ones(5, dtype=np.float32))
    assert from_batch(b.values, b).dtype == np.float32
    b = to_batch([[1, 2, 3], [4, 5, 6]])
    assert b.kind == "2d" and b.values.shape == (1, 2, 3)
    np.testing.assert_array_equal(from_batch(b.values, b), [[1, 2, 3], [4, 5, 6]])


def test_torch_input_returns_torch() -> None:
    x = torch.randn(2, 3, 10, dtype=torch.float64)
    b = to_batch(x)
    assert b.backend == "torch" and b.kind == "3d"
    back = from_batch(b.values, b, fill_observed=True)
    assert isinstance(back, torch.Tensor) and back.dtype == torch.float64
    assert torch.equal(back, x)
    xi = torch.arange(10)
    bi = to_batch(xi)
    assert from_batch(bi.values, bi).dtype == torch.float32


@pytest.mark.parametrize("align", ["right", "left"])
def test_ragged_list_padding_and_observed(align: str) -> None:
    a = np.arange(1.0, 6.0)  # 5 points
    c = np.array([7.0, np.nan, 9.0])  # 3 points, one missing
    b = to_batch([a, c], align=align)
    assert b.kind == "list" and b.lengths == [5, 3] and b.values.shape == (2, 1, 5)
    vals, obs = b.values.numpy(), b.observed.numpy()
    if align == "right":
        np.testing.assert_array_equal(vals[1, 0], [0, 0, 7, 0, 9])
        np.testing.assert_array_equal(obs[1, 0], [False, False, True, False, True])
        assert b.time_slice(1) == slice(2, 5)
    else:
        np.testing.assert_array_equal(vals[1, 0], [7, 0, 9, 0, 0])
        np.testing.assert_array_equal(obs[1, 0], [True, False, True, False, False])
        assert b.time_slice(1) == slice(0, 3)
    assert obs[0].all()
    inside = [False, False, True, True, True] if align == "right" else [True, True, True, False, False]
    np.testing.assert_array_equal(b.valid_mask()[1], inside)
    back = from_batch(b.values, b, fill_observed=True)
    assert isinstance(back, list) and [x.shape for x in back] == [(5,), (3,)]
    np.testing.assert_array_equal(back[0], a)
    np.testing.assert_array_equal(back[1], [7.0, 0.0, 9.0])  # the missing point takes the output value


def test_list_of_2d_items_and_mixed_ndims() -> None:
    items = [np.ones((1, 4)), np.zeros(6), np.full((1, 2), 3.0)]
    b = to_batch(items)
    back = from_batch(b.values, b)
    assert [x.shape for x in back] == [(1, 4), (6,), (1, 2)]
    multi = [np.ones((2, 4)), np.zeros((2, 7))]
    bm = to_batch(multi, align="left")
    assert bm.values.shape == (2, 2, 7)
    assert [x.shape for x in from_batch(bm.values, bm)] == [(2, 4), (2, 7)]
    # one output channel per time point (e.g. anomaly scores) for a multivariate list
    scores = from_batch(torch.zeros(2, 1, 7), bm)
    assert [x.shape for x in scores] == [(1, 4), (1, 7)]


def test_torch_list_returns_list_of_tensors() -> None:
    b = to_batch([torch.ones(3), torch.zeros(5)])
    back = from_batch(b.values, b)
    assert all(isinstance(t, torch.Tensor) for t in back) and [t.shape[0] for t in back] == [3, 5]


def test_nan_means_missing() -> None:
    x = np.array([[1.0, np.nan, 3.0], [np.nan, 5.0, 6.0]])
    b = to_batch(x)
    np.testing.assert_array_equal(b.observed.numpy()[0], ~np.isnan(x))
    np.testing.assert_array_equal(b.values.numpy()[0], np.nan_to_num(x))
    with pytest.raises(ValueError, match=r"2 NaN value\(s\).*index \(0, 1\).*allow_nan=False"):
        to_batch(x, allow_nan=False)


def test_horizon_outputs() -> None:
    b1 = to_batch(np.zeros(30))
    assert from_batch_horizon(np.ones((1, 1, 7)), b1).shape == (7,)
    assert from_batch_horizon(np.ones((1, 1, 7, 3)), b1).shape == (7, 3)  # quantiles kept
    b2 = to_batch(np.zeros((2, 30)))
    assert from_batch_horizon(torch.ones(1, 2, 7), b2).shape == (2, 7)
    bl = to_batch([np.zeros(5), np.zeros(9)])
    assert [f.shape for f in from_batch_horizon(np.ones((2, 1, 4)), bl)] == [(4,), (4,)]
    with pytest.raises(ValueError, match="from_batch_horizon"):
        from_batch(np.ones((1, 1, 7)), b1)
    with pytest.raises(ValueError, match="n_series=2"):
        from_batch_horizon(np.ones((3, 1, 4)), bl)


# ------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("bad", "exc", "pattern"),
    [
        (np.array([1.0, np.inf, 2.0]), ValueError, r"infinite.*index \(1,\).*NaN means missing"),
        (np.array([[1.0, 2.0], [-np.inf, 0.0]]), ValueError, r"infinite.*index \(1, 0\)"),
        ([], ValueError, "empty"),
        (np.zeros((3, 0)), ValueError, "empty.*no time"),
        (np.zeros((0, 2, 5)), ValueError, "empty.*no batch"),
        (np.float64(3.0), ValueError, "ndim 0"),
        (np.zeros((1, 1, 1, 4)), ValueError, "ndim 4"),
        (np.array([True, False]), TypeError, "bool"),
        (torch.tensor([True, False]), TypeError, "bool"),
        (np.array([1 + 2j]), TypeError, "complex"),
        (np.array(["1.0", "2.0"]), TypeError, "not numeric"),
        (np.array([1.0, None], dtype=object), TypeError, "not numeric.*NaN"),
        (np.array(["2020-01-01"], dtype="datetime64[D]"), TypeError, "not numeric"),
        ([[1.0, 2.0], [3.0]], ValueError, "ragged nested list"),
        ([np.zeros((2, 5)), np.zeros((3, 5))], ValueError, "same number of channels.*item 1 has 3"),
        ([np.zeros(4), np.zeros(0)], ValueError, r"x\[1\] has no time points"),
        ([np.zeros((2, 2, 2))], ValueError, r"x\[0\] has ndim 3"),
        (np.array([np.nan, np.nan]), ValueError, "entirely NaN"),
        (np.array([[1.0, 2.0], [np.nan, np.nan]]), ValueError, "x channel 1 is entirely NaN"),
        (
            np.stack([np.ones((2, 3)), np.full((2, 3), np.nan)]),
            ValueError,
            r"x\[1\] channel 0 is entirely NaN",
        ),
        ([np.ones(3), np.array([np.nan])], ValueError, r"x\[1\] is entirely NaN"),
        (np.array([1e39, 1.0]), ValueError, "float32 range"),
        (pd.DataFrame({"y": [1.0]}), TypeError, "df_to_batch"),
    ],
)
def test_bad_input(bad: object, exc: type[Exception], pattern: str) -> None:
    with pytest.raises(exc, match=pattern):
        to_batch(bad)


def test_min_length_align_and_name() -> None:
    with pytest.raises(ValueError, match="X_train has 3 time points; at least 8"):
        to_batch(np.zeros(3), min_length=8, name="X_train")
    with pytest.raises(ValueError, match=r"x\[1\] has 2 time points; at least 3"):
        to_batch([np.zeros(5), np.zeros(2)], min_length=3)
    with pytest.raises(ValueError, match="align"):
        to_batch(np.zeros(3), align="center")
    with pytest.raises(ValueError, match="min_length"):
        to_batch(np.zeros(3), min_length=0)


def test_time_major_input_warns() -> None:
    with pytest.warns(UserWarning, match="transpose"):
        to_batch(np.zeros((4, 512, 7)))  # (batch, time, channels) by mistake
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        to_batch(np.zeros((2, 963, 144)))  # many channels, long enough series: no warning


def test_from_batch_shape_errors() -> None:
    b = to_batch(np.zeros((2, 3, 10)))
    with pytest.raises(ValueError, match="n_series=2"):
        from_batch(np.zeros((1, 3, 10)), b)
    with pytest.raises(ValueError, match="one output channel per input channel"):
        from_batch(np.zeros((2, 1, 10)), b, fill_observed=True)


# ------------------------------------------------------------------------------------ property tests

_shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6)
_finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=32)


@settings(max_examples=60, deadline=None, database=None)
@given(hnp.arrays(np.float32, _shapes, elements=_finite))
def test_property_round_trip(x: np.ndarray) -> None:
    b = to_batch(x)
    back = from_batch(b.values, b)
    assert back.shape == x.shape and back.dtype == np.float32
    np.testing.assert_array_equal(back, x)


@settings(max_examples=60, deadline=None, database=None)
@given(hnp.arrays(np.float64, _shapes, elements=st.one_of(_finite, st.just(np.nan))))
def test_property_nan_positions_are_unobserved(x: np.ndarray) -> None:
    x3 = x.reshape((1,) * (3 - x.ndim) + x.shape)
    if not (~np.isnan(x3)).any(axis=2).all():
        with pytest.raises(ValueError, match="entirely NaN"):
            to_batch(x)
        return
    b = to_batch(x)
    np.testing.assert_array_equal(b.observed.numpy(), ~np.isnan(x3))
    assert not b.values[~b.observed].any()
    np.testing.assert_array_equal(from_batch(b.values, b, fill_observed=True)[~np.isnan(x)], x[~np.isnan(x)])


@settings(max_examples=40, deadline=None, database=None)
@given(
    st.lists(st.integers(1, 12), min_size=1, max_size=5),
    st.integers(1, 3),
    st.sampled_from(["right", "left"]),
)
def test_property_ragged_round_trip(lengths: list[int], channels: int, align: str) -> None:
    rng = np.random.default_rng(sum(lengths))
    items = [rng.standard_normal((channels, n)) for n in lengths]
    b = to_batch(items, align=align)
    assert b.lengths == lengths and b.observed.numpy().sum() == channels * sum(lengths)
    back = from_batch(b.values, b, fill_observed=True)
    for got, want in zip(back, items, strict=True):
        np.testing.assert_array_equal(got, want)


# ------------------------------------------------------------------------------------- DataFrames


def _long_df() -> pd.DataFrame:
    rows = []
    for uid, n, start in (("b", 6, "2021-01-01"), ("a", 4, "2021-02-01")):
        for t, ds in enumerate(pd.date_range(start, periods=n, freq="h")):
            rows.append({"unique_id": uid, "ds": ds, "y": float(t) + (10 if uid == "a" else 0)})
    df = pd.DataFrame(rows).sample(frac=1.0, random_state=0)  # shuffled rows
    df.loc[df.index[0], "y"] = np.nan
    return df.reset_index(drop=True)


def test_df_round_trip() -> None:
    df = _long_df()
    b = df_to_batch(df)
    assert b.kind == "dataframe" and b.values.shape == (2, 1, 6)
    assert list(b.ids) == list(pd.unique(df["unique_id"])) and sorted(b.lengths) == [4, 6]
    for ts in b.timestamps or []:
        assert ts.is_monotonic_increasing
    out = from_batch(b.values, b, fill_observed=True)
    assert list(out.columns) == ["unique_id", "ds", "y"]
    expected = df.set_index(["unique_id", "ds"])["y"]
    got = out.set_index(["unique_id", "ds"])["y"]
    assert set(got.index) == set(expected.index) and len(got) == len(expected)
    missing = expected.isna()
    np.testing.assert_array_equal(got[expected.index][~missing.to_numpy()], expected[~missing])
    assert got[expected.index][missing.to_numpy()].iloc[0] == 0.0  # the model output (zeros here)


def test_df_alignment_and_observed() -> None:
    b = df_to_batch(_long_df(), align="left")
    short = int(np.argmin(b.lengths))
    assert not b.observed.numpy()[short, 0, 4:].any()


def test_df_multivariate_and_custom_names() -> None:
    df = pd.DataFrame(
        {
            "sensor": ["s1"] * 3 + ["s2"] * 3,
            "t": [3, 1, 2, 1, 2, 3],
            "temp": [3.0, 1.0, 2.0, 4.0, 5.0, 6.0],
            "hum": [30.0, 10.0, 20.0, 40.0, 50.0, 60.0],
        }
    )
    b = df_to_batch(df, id_col="sensor", time_col="t", target_col=["temp", "hum"])
    assert b.values.shape == (2, 2, 3)
    np.testing.assert_array_equal(b.values.numpy()[0], [[1, 2, 3], [10, 20, 30]])
    out = batch_to_df(b.values, b)
    assert list(out.columns) == ["sensor", "t", "temp", "hum"]
    assert out["t"].tolist() == [1, 2, 3, 1, 2, 3]
    fc = batch_to_df_horizon(np.zeros((2, 2, 2)), b, value_col=["temp_hat", "hum_hat"])
    assert fc["t"].tolist() == [4, 5, 4, 5] and list(fc.columns)[-2:] == ["temp_hat", "hum_hat"]


def test_df_forecast_timestamps() -> None:
    b = df_to_batch(_long_df())
    fc = from_batch_horizon(np.ones((2, 1, 3)), b)
    last = {uid: ts[-1] for uid, ts in zip(b.ids, b.timestamps or [], strict=True)}
    for uid, grp in fc.groupby("unique_id"):
        assert list(grp["ds"]) == list(pd.date_range(last[uid], periods=4, freq="h")[1:])
    months = pd.DatetimeIndex(pd.date_range("2020-01-31", periods=4, freq="ME"))
    assert future_timestamps(months, 2)[-1] == pd.Timestamp("2020-06-30")
    with pytest.raises(ValueError, match="one-row"):
        future_timestamps(pd.Index([5]), 2)


def test_df_freq_inserts_missing_steps() -> None:
    df = pd.DataFrame(
        {
            "unique_id": "a",
            "ds": pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-05"]),
            "y": [1.0, 2.0, 5.0],
        }
    )
    with pytest.warns(UserWarning, match="uneven time steps"):
        df_to_batch(df)
    b = df_to_batch(df, freq="D")
    assert b.lengths == [5]
    np.testing.assert_array_equal(b.observed.numpy()[0, 0], [True, True, False, False, True])
    out = batch_to_df(b.values, b)
    assert len(out) == 5 and out["ds"].iloc[2] == pd.Timestamp("2020-01-03")
    with pytest.raises(ValueError, match="not on a regular grid"):
        df_to_batch(df.assign(ds=df["ds"] + pd.to_timedelta([0, 0, 1], unit="h")), freq="D")


def test_df_without_id_column_and_tz() -> None:
    ds = pd.date_range("2024-03-30", periods=5, freq="h", tz="Europe/Paris")
    df = pd.DataFrame({"ds": ds[::-1], "y": np.arange(5.0)})
    b = df_to_batch(df, id_col=None)
    assert b.n_series == 1
    np.testing.assert_array_equal(b.values.numpy()[0, 0], [4, 3, 2, 1, 0])
    out = batch_to_df(b.values, b)
    assert list(out.columns) == ["ds", "y"] and out["ds"].dt.tz is not None


@pytest.mark.parametrize(
    ("make", "exc", "pattern"),
    [
        (lambda d: d.drop(columns="y"), ValueError, r"no column\(s\) \['y'\].*columns are"),
        (lambda d: d.rename(columns={"ds": "time"}), ValueError, r"\['ds'\]"),
        (lambda d: pd.concat([d, d.iloc[:1]]), ValueError, "duplicate"),
        (lambda d: d.assign(y=d["y"].astype(str)), TypeError, "target column 'y'"),
        (lambda d: d.assign(y=d["y"] > 3), TypeError, "target column 'y'"),
        (lambda d: d.assign(ds=d["ds"].astype(str)), TypeError, "pd.to_datetime"),
        (lambda d: d.assign(unique_id=[None, *d["unique_id"].iloc[1:]]), ValueError, "id column"),
        (lambda d: d.iloc[:0], ValueError, "no rows"),
        (lambda d: d.assign(y=np.where(d["unique_id"] == "a", np.nan, d["y"])), ValueError, "series 'a'"),
        (lambda d: d.assign(y=np.where(d.index == 1, np.inf, d["y"])), ValueError, "infinite"),
    ],
)
def test_df_bad_input(make, exc: type[Exception], pattern: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(exc, match=pattern):
        df_to_batch(make(_long_df()))


def test_df_type_errors() -> None:
    with pytest.raises(TypeError, match="pandas DataFrame"):
        df_to_batch(np.zeros((3, 3)))  # type: ignore[arg-type]


def test_batch_to_df_for_array_input() -> None:
    b = to_batch([np.arange(3.0), np.arange(2.0)])
    out = batch_to_df(b.values, b)
    assert out["unique_id"].tolist() == [0, 0, 0, 1, 1] and out["ds"].tolist() == [0, 1, 2, 0, 1]
    with pytest.raises(ValueError, match="value_col"):
        batch_to_df(b.values, b, value_col=["a", "b"])
    assert isinstance(b, Batch)


def test_df_calendar_frequency_does_not_warn() -> None:
    ds = pd.date_range("2020-01-31", periods=6, freq="ME")  # uneven day counts, regular months
    df = pd.DataFrame({"unique_id": "m", "ds": ds, "y": np.arange(6.0)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        b = df_to_batch(df)
    fc = batch_to_df_horizon(np.zeros((1, 1, 2)), b)
    assert list(fc["ds"]) == [pd.Timestamp("2020-07-31"), pd.Timestamp("2020-08-31")]
    gaps = pd.DataFrame({"unique_id": "i", "ds": [1, 2, 4, 5], "y": np.arange(4.0)})
    with pytest.warns(UserWarning, match="uneven"):
        df_to_batch(gaps)
    b = df_to_batch(gaps, freq=1)
    assert b.lengths == [5] and not bool(b.observed[0, 0, 2])


def test_series_and_tuple_inputs() -> None:
    b = to_batch(pd.Series([1.0, 2.0, np.nan]))
    assert b.kind == "1d" and b.observed.numpy().tolist() == [[[True, True, False]]]
    t = to_batch((np.zeros(3), np.ones(5)))
    assert t.kind == "list" and t.lengths == [3, 5]
