"""``tinyts bench``: tinyts and real peers side by side, same data, same splits, same metrics.

Each suite is a module in :mod:`tinyts.bench.suites` declaring ``NAME``, ``DESCRIPTION``,
``NEEDS_DATA``, its ``OPTIONS`` and ``run(ctx: BenchContext) -> SuiteResult``; the suites are found by
scanning that package (:mod:`tinyts.bench.registry`), so adding a suite is adding a module.
:func:`run_suite` checks the suite's options, resolves the data folder where the suite needs one, runs
the suite and writes ``<out>/<suite>.json`` and ``<out>/<suite>.md`` and refreshes
``<out>/BENCHMARKS.md``.
"""

from __future__ import annotations

from tinyts.bench.core import BenchContext, Row, SuiteResult, resolve_data_dir
from tinyts.bench.registry import Option, Suite, discover, load_suite
from tinyts.bench.runner import SUITES, run_suite

__all__ = [
    "SUITES",
    "BenchContext",
    "Option",
    "Row",
    "Suite",
    "SuiteResult",
    "discover",
    "load_suite",
    "resolve_data_dir",
    "run_suite",
]
