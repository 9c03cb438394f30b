"""The csv files of ``tinyts impute`` / ``detect`` / ``forecast``: reading and writing (plots: :mod:`.plots`).

A wide file (one column per channel, an optional first date column, empty cells = missing) is read
by the library's one wide-csv reader, :func:`tinyts.data.io.wide.read_wide_csv` (re-exported here),
which documents what it guarantees; a long file (one row per series and time step) by
:func:`read_long_csv`. Outputs are written whole (a temporary file, then a rename), and the writer
checks that the output has exactly the table's rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tinyts.data.io.wide import parse_dates, read_csv_frame, read_wide_csv
from tinyts.data.types import TableSeries
from tinyts.fileio import atomic_file

__all__ = ["label_column", "read_long_csv", "read_wide_csv", "write_frame", "write_wide_csv"]


def write_wide_csv(
    path: str | Path, table: TableSeries, values: np.ndarray, extra: dict[str, Any] | None = None
) -> Path:
    """Write ``values`` ``(channels, time)`` in the layout of ``table`` (plus extra columns), atomically.

    Floats are written with the shortest representation that reads back to the same double, so
    observed values survive a read/write round trip bit for bit. The file appears only when complete.
    """
    if values.shape != table.values.shape:
        raise ValueError(f"values have shape {values.shape}, the table {table.values.shape}")
    out = pd.DataFrame({c: values[i] for i, c in enumerate(table.columns)})
    if table.time is not None and table.time_name is not None:
        out.insert(0, table.time_name, table.time_column())
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
    p, df = read_csv_frame(path)
    named = {"--id-col": id_col, "--time-col": time_col, "--target-col": target_col}
    missing = [f"{opt} {col!r}" for opt, col in named.items() if col is not None and col not in df.columns]
    if missing:
        raise ValueError(
            f"{p}: no column named {', '.join(missing)}; its columns are {list(map(str, df.columns))}"
        )
    if not pd.api.types.is_numeric_dtype(df[time_col]):
        try:
            parsed = parse_dates(df[time_col])
        except ValueError as exc:
            raise ValueError(f"{p}: {exc}") from None
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
