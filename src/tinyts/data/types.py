"""Plain containers returned by the readers in :mod:`tinyts.data.io.ltsf`.

Arrays are numpy; nothing here depends on torch. Every container is ``(channels, time)``, time on
the last axis, as the internal ``(batch, channels, time)`` layout and aeon's classification cases
(``(n_cases, n_channels, n_timepoints)``): a table's columns are its channels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class TableSeries:
    """A wide table: one column per channel, an optional date column (an LTSF csv such as ETT, or a
    user's csv read by :func:`tinyts.data.io.wide.read_wide_csv`).

    Attributes
    ----------
    name : str
        Dataset name, the file stem (``"ETTh1"``).
    values : np.ndarray
        ``(n_channels, n_time)`` float64, NaN where missing (the file's columns are the rows).
    columns : list of str
        Channel names, in order.
    timestamps : np.ndarray or None
        ``(n_time,)`` ``datetime64[ns]`` when the file has a date column (UTC when the dates carry a
        time zone).
    path : Path or None
        Where it was read from.
    time : pd.Series or None
        The date column as parsed (time zone kept), in time order: what is written back to files.
    time_name : str or None
        The date column's name.
    labels : np.ndarray or None
        ``(n_time,)`` float64 anomaly labels of a named label column: 0, 1 or NaN (unlabelled).
    sorted_rows : bool
        True when the file's rows were not in time order and were sorted by the date column.
    inserted : np.ndarray or None
        ``(n_time,)`` bool, True for rows that are not in the file: missing time steps inserted as
        NaN by :func:`tinyts.data.io.wide.fill_missing_steps`; None when nothing was inserted.
    index_column : str or None
        ``"Unnamed: 0"`` when the file began with a pandas index (a column without a header holding
        distinct whole numbers, as ``DataFrame.to_csv()`` writes unless ``index=False``), left out of
        the table; None otherwise.
    time_format : str or None
        How the time column is written back (a ``strftime`` format): ``"%Y"`` for a column of years
        read as dates (1 January of each year); None: the parsed dates as they are.
    """

    name: str
    values: np.ndarray
    columns: list[str]
    timestamps: np.ndarray | None = None
    path: Path | None = None
    time: pd.Series | None = None
    time_name: str | None = None
    labels: np.ndarray | None = None
    sorted_rows: bool = False
    inserted: np.ndarray | None = None
    time_format: str | None = None
    index_column: str | None = None

    @property
    def n_time(self) -> int:
        """Number of time points (rows of the file, plus inserted missing steps)."""
        return int(self.values.shape[1])

    @property
    def n_rows(self) -> int:
        """Number of rows of the table (= :attr:`n_time`)."""
        return self.n_time

    def time_column(self, stamps: pd.Series | pd.Index | None = None) -> np.ndarray:
        """``stamps`` (default: the table's own time column) as written to files (:attr:`time_format`)."""
        import pandas as pd

        got = self.time if stamps is None else stamps
        if got is None:
            raise ValueError("the table has no time column")
        if self.time_format is None:
            return np.asarray(got.to_numpy() if isinstance(got, pd.Series) else got)
        return np.asarray(pd.DatetimeIndex(got).strftime(self.time_format))

    @property
    def file_rows(self) -> np.ndarray:
        """``(n_time,)`` bool, True for the rows that come from the file (not inserted)."""
        if self.inserted is None:
            return np.ones(self.n_time, dtype=bool)
        return ~self.inserted

    @property
    def n_channels(self) -> int:
        return int(self.values.shape[0])


@dataclass
class ClassificationSplit:
    """One split (TRAIN or TEST) of a UEA/UCR classification problem.

    Attributes
    ----------
    name : str
        Problem name (``"GunPoint"``).
    X : np.ndarray or list of np.ndarray
        ``(n_cases, n_channels, n_timepoints)`` float64 when all cases have one length, else a list of
        ``(n_channels, n_timepoints_i)`` arrays. NaN where missing.
    y : np.ndarray
        ``(n_cases,)`` class labels as strings, exactly as written in the file.
    path : Path or None
        Where it was read from.
    meta : dict
        Header fields where the format has them (``equallength``, ``univariate``, ``missing``, ...).
    """

    name: str
    X: np.ndarray | list[np.ndarray]
    y: np.ndarray
    path: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def equal_length(self) -> bool:
        return isinstance(self.X, np.ndarray)

    @property
    def n_cases(self) -> int:
        return len(self.X)

    @property
    def n_channels(self) -> int:
        return int(self.X[0].shape[0])


@dataclass
class AnomalySeries:
    """A labelled series for anomaly detection.

    Attributes
    ----------
    name : str
        Unique, readable name (the file stem, or ``"SMAP/A-1"``).
    family : str
        Source family: ``"TSB-AD-U"``, ``"TSB-AD-M"``, ``"NAB"``, ``"SMAP_MSL"``, ``"UCR_Anomaly"``,
        ``"TSB-UAD"`` or ``"MITDB"``, or another folder name for unknown layouts.
    values : np.ndarray
        ``(n_channels, n_time)`` float64.
    labels : np.ndarray
        ``(n_time,)`` int8, 1 = anomalous point.
    train_end : int or None
        Length of the anomaly-free train prefix when the source defines one (TSB-AD ``_tr_<n>_``, UCR
        anomaly archive file names, SMAP/MSL train files concatenated in front), else None.
    path : Path or None
        Main file it was read from.
    meta : dict
        Anything else the source states (NAB windows, SMAP channel, anomaly ranges, ...).
    """

    name: str
    family: str
    values: np.ndarray
    labels: np.ndarray
    train_end: int | None = None
    path: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_time(self) -> int:
        return int(self.values.shape[1])

    @property
    def n_channels(self) -> int:
        return int(self.values.shape[0])
