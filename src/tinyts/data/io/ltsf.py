"""File readers, one per file family under a benchmark data folder laid out like ``shared/data``.

- Forecasting tables: :func:`read_ltsf_csv` (ETT, exchange_rate, illness, weather).
- Classification (:mod:`tinyts.data.io.classification`): :func:`read_ts`, :func:`read_arff`,
  :func:`read_ucr_tsv`, :func:`read_ucr_txt`, :func:`read_ucr_csv`, :func:`read_classification`.
- Short-series forecasting archives (:mod:`tinyts.data.io.forecast`): :func:`read_tsf` (Monash
  ``.tsf``), :func:`read_m4` (M4 competition csv pairs).
- Anomaly detection (:mod:`tinyts.data.io.anomaly`): :func:`read_tsbad_csv`, :func:`read_nab`,
  :func:`read_smap_msl`, :func:`read_ucr_anomaly`, :func:`read_value_label`.

Malformed files raise :class:`tinyts.errors.DataFormatError` (a ``ValueError``) naming the file and,
where possible, the line.
"""

from __future__ import annotations

from pathlib import Path

from tinyts.data.io.anomaly import (
    UCR_ANOMALY_NAME,
    read_nab,
    read_smap_msl,
    read_tsbad_csv,
    read_ucr_anomaly,
    read_value_label,
)
from tinyts.data.io.classification import (
    read_arff,
    read_classification,
    read_ts,
    read_ucr_csv,
    read_ucr_tsv,
    read_ucr_txt,
)
from tinyts.data.io.forecast import M4Data, TsfData, read_m4, read_tsf
from tinyts.data.io.wide import read_wide_csv
from tinyts.data.types import TableSeries
from tinyts.errors import DataFormatError

__all__ = [
    "UCR_ANOMALY_NAME",
    "DataFormatError",
    "M4Data",
    "TsfData",
    "read_arff",
    "read_classification",
    "read_ltsf_csv",
    "read_m4",
    "read_nab",
    "read_smap_msl",
    "read_ts",
    "read_tsbad_csv",
    "read_tsf",
    "read_ucr_anomaly",
    "read_ucr_csv",
    "read_ucr_tsv",
    "read_ucr_txt",
    "read_value_label",
]


def read_ltsf_csv(path: str | Path) -> TableSeries:
    """Read a wide LTSF csv: first column a date, every other column a numeric channel.

    Parameters
    ----------
    path : str or Path
        An ETT / exchange_rate / illness / weather style csv with a header row.

    Returns
    -------
    TableSeries
        ``values`` ``(n_channels, n_time)`` float64 (empty cells are NaN), ``columns`` the channel
        names, ``timestamps`` ``datetime64[ns]`` parsed from the first column, ``name`` the stem.

    Raises
    ------
    DataFormatError
        A row with a different number of fields, fewer than two columns, a non-numeric value, a date
        that does not parse, duplicate dates, an infinite value or a column without values. The file
        is read by :func:`tinyts.data.io.wide.read_wide_csv` (``dates=True``), the one wide-csv reader;
        rows out of time order are sorted.
    """
    return read_wide_csv(path, dates=True)
