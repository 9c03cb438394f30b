"""Boundary properties of the DataFrame twins: impute_df, detect_df, embed_df and forecast_df."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from hardening_checks import assert_finite, cases, forecast_verdict, frames, outcome, verdict
from hypothesis import given
from hypothesis import strategies as st

from tinyts.models.cast import TinyCast
from tinyts.models.pulse import TinyPulse
from tinyts.tasks.forecast.api import forecast_df
from tinyts.tasks.frames import detect_df, embed_df, impute_df
from tinyts.tasks.pulse.anomaly import DEFAULT_THRESHOLD

Tally = Callable[[str], None]
Drawn = tuple[Any, type[Exception] | None, list[np.ndarray]]


def _rows_kept(df: pd.DataFrame, out: pd.DataFrame, new: list[str]) -> None:
    """Same rows in the same order with the same index; input columns first, then ``new`` ones."""
    assert out.index.equals(df.index)
    assert list(out.columns) == [*df.columns, *new]
    for col in df.columns:
        if col != "y":
            pd.testing.assert_series_equal(out[col], df[col])


@cases(120)
@given(frames())
def test_impute_df(tally: Tally, tiny_pulse: TinyPulse, drawn: Drawn) -> None:
    df, forced, arrays = drawn
    kind, out = outcome(lambda: impute_df(tiny_pulse, df), forced or verdict(arrays), strict_type=False)
    tally(kind)
    if kind == "error":
        return
    _rows_kept(df, out, ["imputed"])
    y_in = df["y"].to_numpy(dtype=np.float64, na_value=np.nan)
    y_out = out["y"].to_numpy(dtype=np.float64, na_value=np.nan)
    assert_finite(y_out, "imputed targets")
    seen = ~np.isnan(y_in)
    np.testing.assert_array_equal(y_out[seen], y_in[seen])
    np.testing.assert_array_equal(out["imputed"].to_numpy(), ~seen)


@cases(90)
@given(frames(max_len=80), st.sampled_from(["ensemble", "time", "fft", "forecast"]))
def test_detect_df(tally: Tally, tiny_pulse: TinyPulse, drawn: Drawn, mode: str) -> None:
    df, forced, arrays = drawn
    call = lambda: detect_df(tiny_pulse, df, mode=mode, agg=16, smooth=8)  # noqa: E731
    kind, out = outcome(call, forced or verdict(arrays, min_length=2), strict_type=False)
    tally(kind)
    if kind == "error":
        return
    _rows_kept(df, out, ["anomaly_score", "anomaly_flag"])
    scores = out["anomaly_score"].to_numpy()
    assert_finite(scores, "anomaly scores")
    assert out["anomaly_flag"].dtype == bool
    np.testing.assert_array_equal(out["anomaly_flag"].to_numpy(), scores > DEFAULT_THRESHOLD)


@cases(90)
@given(frames(), st.sampled_from(["register", "detail", "pooled"]))
def test_embed_df(tally: Tally, tiny_pulse: TinyPulse, drawn: Drawn, emb_kind: str) -> None:
    df, forced, arrays = drawn
    shifts = 2 if emb_kind == "register" else 1
    call = lambda: embed_df(tiny_pulse, df, kind=emb_kind, shifts=shifts)  # noqa: E731
    kind, out = outcome(call, forced or verdict(arrays, min_length=2), strict_type=False)
    tally(kind)
    if kind == "error":
        return
    assert list(out["unique_id"]) == list(pd.unique(df["unique_id"]))
    emb = out.drop(columns=["unique_id"]).to_numpy()
    assert emb.shape[0] == len(arrays)
    assert_finite(emb, "embeddings")


@cases(90)
@given(frames(), st.sampled_from([1, 5, 60]))
def test_forecast_df(tally: Tally, tiny_cast: TinyCast, drawn: Drawn, horizon: int) -> None:
    df, forced, arrays = drawn
    kind, out = outcome(
        lambda: forecast_df(tiny_cast, df, horizon, quantiles=(0.1, 0.5, 0.9)),
        forced or forecast_verdict(arrays, tiny_cast.config.context_length),
        strict_type=False,
    )
    tally(kind)
    if kind == "error":
        return
    assert list(out.columns) == ["unique_id", "ds", "mean", "0.1", "0.5", "0.9"]
    assert len(out) == len(arrays) * horizon
    assert_finite(out[["mean", "0.1", "0.5", "0.9"]].to_numpy(), "forecasts")
    last = df.groupby("unique_id")["ds"].max()
    first_future = out.groupby("unique_id")["ds"].min()
    assert (first_future > last.loc[first_future.index]).all()


def test_impute_df_nullable_integer_target(tiny_pulse: TinyPulse) -> None:
    """Found by this suite: filling an Int64 column raised pandas' "cannot safely cast" TypeError."""
    df = pd.DataFrame(
        {
            "unique_id": "a",
            "ds": pd.date_range("2024-01-01", periods=6, freq="h"),
            "y": pd.array([1, None, 3, 4, None, 7], dtype="Int64"),
        }
    )
    out = impute_df(tiny_pulse, df)
    assert out["y"].dtype == np.float64 and np.isfinite(out["y"]).all()
    np.testing.assert_array_equal(out["y"].to_numpy()[[0, 2, 3, 5]], [1.0, 3.0, 4.0, 7.0])
    np.testing.assert_array_equal(out["imputed"].to_numpy(), [False, True, False, False, True, False])
