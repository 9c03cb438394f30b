"""One reader per file family under a benchmark data folder: LTSF tables, ``.tsf`` and M4
forecasting files, classification archives, anomaly benchmarks, and discovery by layout."""

from __future__ import annotations

from tinyts.data.io.ltsf import (
    read_ltsf_csv,
)

__all__ = [
    "read_ltsf_csv",
]
