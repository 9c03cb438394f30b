"""Reading and writing the wide csv files of the ``tinyts impute`` / ``tinyts detect`` commands, and plots.

A file is a table with one column per channel; an optional first date/time column is kept as the time
axis; empty cells and NaN are missing values. A label column (0/1) can be named for plots.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


@dataclass
class WideTable:
    """Channels of a wide csv as ``(channels, time)`` float64, with the time column and names."""

    values: np.ndarray
    columns: list[str]
    time: pd.Series | None
    time_name: str | None
    labels: np.ndarray | None


def read_wide_csv(path: str | Path, *, label_col: str | None = None) -> WideTable:
    """Read a wide csv; non-numeric columns other than a leading time column are an error."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p} does not exist")
    try:
        df = pd.read_csv(p)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise ValueError(f"{p} could not be read as csv: {exc}") from exc
    if df.empty:
        raise ValueError(f"{p} has no rows")
    time, time_name = None, None
    first = df.columns[0]
    if not pd.api.types.is_numeric_dtype(df[first]):
        parsed = pd.to_datetime(df[first], errors="coerce")
        if parsed.notna().mean() > 0.9:
            time, time_name = parsed, str(first)
            df = df.drop(columns=first)
    labels = None
    if label_col is not None:
        if label_col not in df.columns:
            raise ValueError(f"label column {label_col!r} not in {p}; columns: {list(df.columns)}")
        labels = df.pop(label_col).to_numpy(dtype=np.int8)
    bad = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    if bad:
        raise ValueError(f"{p}: columns {bad} are not numeric; expected one numeric column per channel")
    if df.shape[1] == 0:
        raise ValueError(f"{p} has no numeric columns")
    return WideTable(df.to_numpy(dtype=np.float64).T, [str(c) for c in df.columns], time, time_name, labels)


def write_wide_csv(
    path: str | Path, table: WideTable, values: np.ndarray, extra: dict[str, Any] | None = None
) -> Path:
    """Write ``values`` ``(channels, time)`` in the layout of ``table`` (plus extra columns)."""
    out = pd.DataFrame({c: values[i] for i, c in enumerate(table.columns)})
    if table.time is not None and table.time_name is not None:
        out.insert(0, table.time_name, table.time.to_numpy())
    for key, col in (extra or {}).items():
        out[key] = col
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(p, index=False)
    return p


def plot_imputation(path: str | Path, table: WideTable, filled: np.ndarray, max_channels: int = 6) -> Path:
    """Observed values as lines, filled values as dots, one panel per channel."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = min(len(table.columns), max_channels)
    fig, axes = plt.subplots(n, 1, figsize=(10, 1.8 * n + 0.6), sharex=True, squeeze=False)
    t = np.arange(table.values.shape[1])
    for i in range(n):
        ax = axes[i, 0]
        missing = np.isnan(table.values[i])
        ax.plot(t, table.values[i], lw=0.8, color="C0", label="observed")
        ax.plot(t[missing], filled[i][missing], ".", ms=2.5, color="C1", label="filled")
        ax.set_ylabel(table.columns[i], fontsize=8)
    axes[0, 0].legend(fontsize=7, loc="upper right")
    axes[0, 0].set_title(f"imputation: {int(np.isnan(table.values).sum())} missing values filled", fontsize=9)
    return _save(fig, path)


def plot_scores(path: str | Path, table: WideTable, scores: np.ndarray, max_channels: int = 4) -> Path:
    """Series (first channels), the anomaly score, and labels when known."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = min(len(table.columns), max_channels)
    fig, axes = plt.subplots(n + 1, 1, figsize=(10, 1.6 * (n + 1) + 0.6), sharex=True, squeeze=False)
    t = np.arange(table.values.shape[1])
    for i in range(n):
        ax = axes[i, 0]
        ax.plot(t, table.values[i], lw=0.7)
        ax.set_ylabel(table.columns[i], fontsize=8)
        if table.labels is not None:
            lo, hi = np.nanmin(table.values[i]), np.nanmax(table.values[i])
            ax.fill_between(t, lo, hi, where=table.labels > 0, color="red", alpha=0.25, lw=0)
    axes[n, 0].plot(t, scores, lw=0.7, color="C3")
    axes[n, 0].set_ylabel("score", fontsize=8)
    title = "anomaly score" + (" (labelled anomalies in red)" if table.labels is not None else "")
    axes[0, 0].set_title(title, fontsize=9)
    return _save(fig, path)


def _save(fig: Any, path: str | Path) -> Path:
    import matplotlib.pyplot as plt

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(p, dpi=90)
    plt.close(fig)
    return p
