"""Boundary properties of the csv files of the CLI and of future timestamps (issue 15 classes).

- every row of a file is a row of the table, observed numbers come back bit-identical through
  ``read_wide_csv`` -> ``write_wide_csv`` -> ``read_wide_csv``, rows out of time order are sorted,
  duplicate dates are a clear error;
- ``future_timestamps`` keeps the step at every datetime resolution (pandas 2 parses at ns, pandas 3
  at us or s) and refuses unordered or duplicate stamps.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from hardening_checks import cases, outcome
from hypothesis import given
from hypothesis import strategies as st

from tinyts.cli.files import read_wide_csv, write_wide_csv
from tinyts.data.convert.frames import future_timestamps

Tally = Callable[[str], None]

_FLOATS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.floats(min_value=-1e3, max_value=1e3, allow_nan=False),
    st.just(float("nan")),
)


@st.composite
def tables(draw: Any) -> tuple[pd.DataFrame, bool, str]:
    n = draw(st.integers(1, 40))
    k = draw(st.integers(1, 3))
    cols = {f"c{j}": draw(st.lists(_FLOATS, min_size=n, max_size=n)) for j in range(k)}
    df = pd.DataFrame(cols)
    dated = draw(st.booleans())
    if dated:
        freq = draw(st.sampled_from(["s", "min", "h", "D"]))
        stamps = pd.date_range("2021-06-01", periods=n, freq=freq)
        order = draw(st.permutations(range(n)))
        df.insert(0, "when", stamps[list(order)])
        if n > 1 and draw(st.integers(0, 4)) == 0:
            df.loc[n - 1, "when"] = df.loc[0, "when"]  # a duplicate date
    sep = draw(st.sampled_from([",", ";", "\t"]))
    return df, dated, sep


@cases(150)
@given(tables())
def test_wide_csv_round_trip(
    tally: Tally, tmp_path_factory: Any, drawn: tuple[pd.DataFrame, bool, str]
) -> None:
    df, dated, sep = drawn
    folder: Path = tmp_path_factory.mktemp("csv")
    src = folder / "in.csv"
    df.to_csv(src, index=False, sep=sep)
    values = df.drop(columns=["when"] if dated else []).to_numpy(dtype=np.float64)
    expected: type[Exception] | None = None
    if dated and df["when"].duplicated().any():
        expected = ValueError
    elif np.isnan(values).all(axis=0).any():
        expected = ValueError  # a column without any value
    kind, table = outcome(lambda: read_wide_csv(src), expected)
    tally(kind)
    if kind == "error":
        return
    assert table.n_rows == len(df)
    order = np.argsort(df["when"].to_numpy(), kind="stable") if dated else np.arange(len(df))
    np.testing.assert_array_equal(table.values, values[order].T)  # NaN == NaN, every bit otherwise
    if dated:
        assert table.time is not None and table.time.is_monotonic_increasing
        assert table.sorted_rows == bool((order != np.arange(len(df))).any())
    out = folder / "out.csv"
    write_wide_csv(out, table, table.values)
    again = read_wide_csv(out)
    np.testing.assert_array_equal(again.values, table.values)
    assert not again.sorted_rows


@cases(120)
@given(
    st.sampled_from(["s", "ms", "us", "ns"]),
    st.sampled_from(["s", "15min", "h", "D", "W-SUN", "MS", "QE"]),
    st.integers(2, 30),
    st.integers(1, 50),
    st.sampled_from(["sorted", "reversed", "duplicate"]),
)
def test_future_timestamps(tally: Tally, unit: str, freq: str, n: int, horizon: int, shape: str) -> None:
    grid = pd.date_range("2020-01-31", periods=n + horizon, freq=freq).as_unit(unit)
    index = grid[:n]
    expected: type[Exception] | None = None
    if shape == "reversed":
        index, expected = index[::-1], ValueError
    elif shape == "duplicate":
        index, expected = index.append(index[-1:]), ValueError
    kind, future = outcome(lambda: future_timestamps(index, horizon), expected)
    tally(kind)
    if kind == "ok":
        assert list(future) == list(grid[n:])
