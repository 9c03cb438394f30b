"""Run one suite (found by :mod:`tinyts.bench.registry`) and write its results."""

from __future__ import annotations

import datetime as _dt
import json
import shlex
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tinyts.bench.core import BenchContext, SuiteResult, resolve_data_dir
from tinyts.bench.registry import load_suite, suite_names
from tinyts.bench.report import write_suite
from tinyts.machine import machine_info

#: suite name -> module under tinyts.bench.suites, as found when this module was imported (the suites are
#: the package's public modules: :func:`tinyts.bench.registry.suite_names`; :func:`run_suite` scans again)
SUITES: dict[str, str] = {name: name for name in suite_names()}


def run_suite(
    suite: str,
    data_dir: str | Path | None = None,
    *,
    datasets: Sequence[str] | None = None,
    methods: Sequence[str] | None = None,
    quick: bool = False,
    out_dir: str | Path = "benchmarks",
    seed: int = 0,
    command: str | None = None,
    options: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Run one suite and write its JSON and markdown.

    Parameters
    ----------
    suite
        A suite's name (a module of :mod:`tinyts.bench.suites`).
    data_dir
        The data folder (else ``$TINYTS_DATA``); needed only by suites that declare ``NEEDS_DATA``.
    options
        The suite's settings as text, ``{"key": "value"}`` (``--option key=value``), checked against
        the suite's ``OPTIONS``; omitted keys take their defaults.

    Returns
    -------
    dict
        The JSON payload: ``{"suite", "machine", "command", "options", "rows": [...], ...}``.

    Raises
    ------
    ValueError
        For an unknown suite, an unknown option or one whose value does not parse, or a missing data
        folder.
    """
    spec = load_suite(suite)
    parsed = spec.parse_options(options)
    root = resolve_data_dir(data_dir) if spec.needs_data or data_dir else Path(".")
    ctx = BenchContext(
        data_dir=root,
        out_dir=Path(out_dir),
        datasets=list(datasets) if datasets else None,
        methods=list(methods) if methods else None,
        quick=quick,
        seed=seed,
        options=parsed,
    )
    start = time.perf_counter()
    result: SuiteResult = spec.run(ctx)
    wall = time.perf_counter() - start
    payload: dict[str, Any] = {
        "suite": suite,
        "quick": quick,
        "machine": machine_info(),
        "command": command or " ".join(shlex.quote(a) for a in ["tinyts", *sys.argv[1:]]),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "wall_seconds": wall,
        "data_dir": str(ctx.data_dir),
        # every option's value, given or default, so that a result says how it was produced
        "options": json.loads(json.dumps(parsed, default=str)),
        "rows": [r.to_json() for r in result.rows],
        "notes": result.notes,
        "skipped": result.skipped,
    }
    write_suite(ctx.out_dir, payload)
    return payload
