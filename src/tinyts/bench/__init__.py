"""``tinyts bench``: tinyts and real peers side by side, same data, same splits, same metrics.

Each suite is a module in :mod:`tinyts.bench.suites` exposing ``NAME``, ``DESCRIPTION`` and
``run(ctx: BenchContext) -> SuiteResult``. :func:`run_suite` resolves the data folder, runs the suite
and writes ``<out>/<suite>.json`` and ``<out>/<suite>.md`` and refreshes ``<out>/BENCHMARKS.md``.
"""

from __future__ import annotations

from tinyts.bench.core import BenchContext, Row, SuiteResult, resolve_data_dir
from tinyts.bench.runner import SUITES, run_suite

__all__ = ["SUITES", "BenchContext", "Row", "SuiteResult", "resolve_data_dir", "run_suite"]
