"""The csv files of ``tinyts impute`` / ``detect`` / ``forecast``: reading and writing (plots: :mod:`.plots`).

A file is a table with one column per channel; an optional first date/time column is kept as the time
axis; empty cells and NaN are missing values. A label column (0/1, empty = unlabelled) can be named
for plots.

What the reader guarantees (each is an error that says what to do, never a silent change):

- every row of the file is a row of the table: blank lines of a one-column file are missing values,
  not skipped lines, and the writer checks that the output has exactly the table's rows;
- observed numbers are read with round-trip precision, so they are written back bit-identical;
- a date column is parsed completely (a value that is not a date is an error), rows that are not in
  time order are sorted by it (``WideTable.sorted_rows`` says so), and duplicate dates are refused;
- the delimiter is sniffed among ``,`` ``;`` tab and ``|``;
- a long-format file (``unique_id,ds,y``) is recognised and the message says which options read it.
"""

from __future__ import annotations

import csv
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tinyts.fileio import atomic_file


@dataclass
class WideTable:
    """Channels of a wide csv as ``(channels, time)`` float64, with the time column and names.

    Attributes
    ----------
    values : np.ndarray
        ``(channels, time)`` float64, NaN = missing, rows in time order.
    columns : list of str
        Channel (column) names.
    time : pd.Series or None
        Parsed date column (time order), if the file has one.
    time_name : str or None
        Its name.
    labels : np.ndarray or None
        ``(time,)`` float64 labels: 0, 1 or NaN (unlabelled).
    sorted_rows : bool
        True when the file's rows were not in time order and were sorted by the date column.
    """

    values: np.ndarray
    columns: list[str]
    time: pd.Series | None
    time_name: str | None
    labels: np.ndarray | None
    sorted_rows: bool = False

    @property
    def n_rows(self) -> int:
        """Number of time points (rows of the file)."""
        return int(self.values.shape[1])


_DELIMITERS = ",;\t|"


def _sniff_delimiter(p: Path) -> str:
    with open(p, encoding="utf-8", errors="replace", newline="") as fh:
        head = fh.read(64 * 1024)
    first = head.splitlines()[0] if head else ""
    if "," in first or not first:
        return ","
    try:
        return csv.Sniffer().sniff(head, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        return next((d for d in _DELIMITERS if d in first), ",")


def _read_csv(p: Path) -> pd.DataFrame:
    """Every row of a csv (blank lines too), delimiter sniffed, floats read round-trip."""
    if not p.is_file():
        raise FileNotFoundError(f"{p} does not exist")
    try:
        df = pd.read_csv(p, sep=_sniff_delimiter(p), skip_blank_lines=False, float_precision="round_trip")
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise ValueError(f"{p} could not be read as csv: {exc}") from exc
    if df.empty:
        raise ValueError(f"{p} has no rows")
    return df


def _parse_dates(col: pd.Series) -> pd.Series | None:
    """The column parsed as dates if at least 90 % of its cells are dates, else None."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Could not infer format" is not the user's concern here
        parsed = pd.to_datetime(col, errors="coerce")
        if parsed.notna().mean() <= 0.9:
            try:
                parsed = pd.to_datetime(col, errors="coerce", format="mixed")
            except (ValueError, TypeError):
                return None
    if parsed.notna().mean() <= 0.9:
        return None
    return parsed


LONG_HINT = (
    "it looks like a long-format file (one row per series and time step): pass "
    "--id-col {id} --time-col {time} --target-col {target}"
)


def _long_hint(columns: list[str]) -> str:
    low = {c.lower(): c for c in columns}
    ids = next((low[c] for c in ("unique_id", "id", "series", "item_id", "series_id") if c in low), None)
    times = next((low[c] for c in ("ds", "date", "timestamp", "time", "datetime") if c in low), None)
    targets = next((low[c] for c in ("y", "value", "target") if c in low), None)
    if ids and times and targets:
        return "; " + LONG_HINT.format(id=ids, time=times, target=targets)
    return ""


def read_wide_csv(path: str | Path, *, label_col: str | None = None) -> WideTable:
    """Read a wide csv (one numeric column per channel, optional first date column).

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Unreadable csv, no rows, non-numeric channel columns (with a hint for long-format files),
        a date column with values that are not dates or with duplicate dates, infinite values, a
        channel without any value, labels other than 0, 1 or empty.
    """
    p = Path(path)
    df = _read_csv(p)
    columns = [str(c) for c in df.columns]
    time, time_name = None, None
    first = df.columns[0]
    if not pd.api.types.is_numeric_dtype(df[first]) and label_col != first:
        parsed = _parse_dates(df[first])
        if parsed is not None:
            bad = parsed.isna().to_numpy()
            if bad.any():
                r = int(np.argmax(bad))
                raise ValueError(
                    f"{p}: {int(bad.sum())} value(s) of the date column {first!r} are not dates, e.g. "
                    f"row {r + 2} ({df[first].iloc[r]!r}); fix or remove those rows"
                )
            time, time_name = parsed.reset_index(drop=True), str(first)
            df = df.drop(columns=first)
    labels = None
    if label_col is not None:
        if label_col not in df.columns:
            raise ValueError(f"label column {label_col!r} not in {p}; columns: {columns}")
        labels = _read_labels(df.pop(label_col), label_col, p)
    bad_cols = [str(c) for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    if bad_cols:
        raise ValueError(
            f"{p}: columns {bad_cols} are not numeric; expected one numeric column per channel "
            f"(and an optional first date column){_long_hint(columns)}"
        )
    if df.shape[1] == 0:
        raise ValueError(f"{p} has no numeric columns")
    values = df.to_numpy(dtype=np.float64, na_value=np.nan).T
    names = [str(c) for c in df.columns]
    for i, name in enumerate(names):
        inf = np.isinf(values[i])
        if inf.any():
            raise ValueError(
                f"{p}: column {name!r} has {int(inf.sum())} infinite value(s), e.g. row "
                f"{int(np.argmax(inf)) + 2}; use an empty cell for a missing value"
            )
        if np.isnan(values[i]).all():
            raise ValueError(f"{p}: column {name!r} has no values; remove it or fill at least one cell")
    sorted_rows = False
    if time is not None:
        order = np.argsort(time.to_numpy(), kind="stable")
        stamps = time.to_numpy()[order]
        dup = stamps[1:] == stamps[:-1]
        if dup.any():
            when = stamps[1:][dup][0]
            rows = [int(r) + 2 for r in np.flatnonzero(time.to_numpy() == when)[:3]]
            raise ValueError(
                f"{p}: the date {pd.Timestamp(when)} appears {int((time == when).sum())} times (rows "
                f"{', '.join(map(str, rows))}); each time step may have one row: remove or merge duplicates"
            )
        if (order != np.arange(len(order))).any():
            sorted_rows = True
            time = time.iloc[order].reset_index(drop=True)
            values = values[:, order]
            if labels is not None:
                labels = labels[order]
    return WideTable(values, names, time, time_name, labels, sorted_rows)


def _read_labels(col: pd.Series, name: str, p: Path) -> np.ndarray:
    vals = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    text_bad = col.notna().to_numpy() & np.isnan(vals)
    bad = text_bad | (~np.isnan(vals) & (vals != 0) & (vals != 1))
    if bad.any():
        r = int(np.argmax(bad))
        raise ValueError(
            f"{p}: label column {name!r} must hold 0 (normal), 1 (anomaly) or an empty cell "
            f"(unlabelled); row {r + 2} holds {col.iloc[r]!r} ({int(bad.sum())} such row(s))"
        )
    return vals


def write_wide_csv(
    path: str | Path, table: WideTable, values: np.ndarray, extra: dict[str, Any] | None = None
) -> Path:
    """Write ``values`` ``(channels, time)`` in the layout of ``table`` (plus extra columns), atomically.

    Floats are written with the shortest representation that reads back to the same double, so
    observed values survive a read/write round trip bit for bit. The file appears only when complete.
    """
    if values.shape != table.values.shape:
        raise ValueError(f"values have shape {values.shape}, the table {table.values.shape}")
    out = pd.DataFrame({c: values[i] for i, c in enumerate(table.columns)})
    if table.time is not None and table.time_name is not None:
        out.insert(0, table.time_name, table.time.to_numpy())
    for key, col in (extra or {}).items():
        out[key] = col
    if len(out) != table.n_rows:  # row alignment is never lost
        raise RuntimeError(f"internal error: {len(out)} output rows for {table.n_rows} input rows")
    return write_frame(path, out)


def label_column(labels: np.ndarray) -> pd.Series:
    """Labels (0, 1, NaN) as a nullable integer column: written as ``0``, ``1`` or an empty cell."""
    return pd.Series(labels).astype("Int8")


def read_long_csv(path: str | Path, *, id_col: str | None, time_col: str, target_col: str) -> pd.DataFrame:
    """Read a long-format csv (one row per series and time step) for the DataFrame functions.

    The time column is parsed as dates when it holds dates (kept numeric otherwise); values are read
    with round-trip precision; blank lines are rows. Sorting, duplicate checks and grids are done by
    :func:`tinyts.data.convert.frames.df_to_batch`.

    Raises
    ------
    FileNotFoundError, ValueError
        No such file, unreadable csv, no rows, a named column that is not in the file, a time column
        that is neither numeric nor dates.
    """
    p = Path(path)
    df = _read_csv(p)
    named = {"--id-col": id_col, "--time-col": time_col, "--target-col": target_col}
    missing = [f"{opt} {col!r}" for opt, col in named.items() if col is not None and col not in df.columns]
    if missing:
        raise ValueError(
            f"{p}: no column named {', '.join(missing)}; its columns are {list(map(str, df.columns))}"
        )
    if not pd.api.types.is_numeric_dtype(df[time_col]):
        parsed = _parse_dates(df[time_col])
        if parsed is None or parsed.isna().any():
            raise ValueError(
                f"{p}: the time column {time_col!r} holds values that are neither dates nor numbers"
            )
        df[time_col] = parsed
    if not pd.api.types.is_numeric_dtype(df[target_col]):
        raise ValueError(f"{p}: the target column {target_col!r} is not numeric")
    return df


def write_frame(path: str | Path, frame: pd.DataFrame) -> Path:
    """Write a DataFrame as csv atomically (the file appears only when complete)."""
    p = Path(path)
    with atomic_file(p) as tmp:
        frame.to_csv(tmp, index=False)
    return p
