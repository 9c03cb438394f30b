"""Find suites, run one, write its results."""

from __future__ import annotations

import datetime as _dt
import importlib
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tinyts.bench.core import BenchContext, SuiteResult, resolve_data_dir
from tinyts.bench.report import write_suite
from tinyts.machine import machine_info

#: suite name -> module under tinyts.bench.suites
SUITES: dict[str, str] = {
    "imputation": "imputation",
    "anomaly": "anomaly",
    "classification": "classification",
    "retrieval": "retrieval",
    "forecasting": "forecasting",
    "forecasting_ablation": "forecasting_ablation",
    "forecasting_broad": "forecasting_broad",
    "speed": "speed",
    "compression": "compression",
    "search": "search",
    "service": "service",
    "pretrain": "pretrain",
    "pretrain_ablation": "pretrain_ablation",
    "distributed": "distributed",
}


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
) -> dict[str, Any]:
    """Run one suite and write its JSON and markdown.

    Returns
    -------
    dict
        The JSON payload: ``{"suite", "machine", "command", "rows": [...], ...}``.
    """
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; choose one of: {', '.join(SUITES)}")
    # these suites measure models on generated inputs and need no data folder
    generated = suite in ("speed", "search", "service", "pretrain", "distributed")
    root = resolve_data_dir(data_dir) if not generated or data_dir else Path(".")
    module = importlib.import_module(f"tinyts.bench.suites.{SUITES[suite]}")
    ctx = BenchContext(
        data_dir=root,
        out_dir=Path(out_dir),
        datasets=list(datasets) if datasets else None,
        methods=list(methods) if methods else None,
        quick=quick,
        seed=seed,
    )
    start = time.perf_counter()
    result: SuiteResult = module.run(ctx)
    wall = time.perf_counter() - start
    payload: dict[str, Any] = {
        "suite": suite,
        "quick": quick,
        "machine": machine_info(),
        "command": command or " ".join(shlex.quote(a) for a in ["tinyts", *sys.argv[1:]]),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "wall_seconds": wall,
        "data_dir": str(ctx.data_dir),
        "rows": [r.to_json() for r in result.rows],
        "notes": result.notes,
        "skipped": result.skipped,
    }
    write_suite(ctx.out_dir, payload)
    return payload
