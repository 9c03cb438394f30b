"""Shared types of the benchmark harness: rows, results, the run context and timing."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENV_DATA = "TINYTS_DATA"

METRICS = frozenset(
    {
        "mse",
        "mae",
        "accuracy",
        "vus_pr",
        "auc_pr",
        "vus_roc",
        "auc_roc",
        "mase",
        "wql",
        "smape",
        "rel_mase",
        "rel_wql",
        "gmean_rel_mase",
        "gmean_rel_wql",
        "crps",
        "p_at_3",
        "ap_at_3",
        "ndcg_at_3",
        "mrr_at_3",
        "recall_at_10",
        "latency_ms",
        "throughput",
        "samples_per_s",
        "params",
        "speedup",
        "overhead",
        "param_ratio",
        "peak_mem_mb",
        "fit_seconds",
        "predict_seconds",
        "val_mse",
        "val_loss",
        "val_time",
        "val_fine",
        "val_mase",
        "val_rel_mase",
        "val_wql",
        "gmean_val_rel_mase",
        "gmean_rel_mase_p05",
        "gmean_rel_mase_p95",
        "gmean_val_rel_mase_p05",
        "gmean_val_rel_mase_p95",
        "p_lower_gmean",
        "gmean_val_rel_mase_pooled",
        "gmean_val_rel_mase_pooled_p05",
        "gmean_val_rel_mase_pooled_p95",
        "p_lower_gmean_pooled",
    }
)


@dataclass
class Row:
    """One measured figure.

    ``extra`` holds further keys of the row (horizon, mask ratio, mode, family, ...); they are written
    as top-level JSON fields next to the five fixed ones.
    """

    dataset: str
    method: str
    metric: str
    value: float
    seconds: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"unknown metric {self.metric!r}; expected one of {sorted(METRICS)}")
        if self.method != self.method.lower():
            raise ValueError(f"method names are lower case, got {self.method!r}")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "dataset": self.dataset,
            "method": self.method,
            "metric": self.metric,
            "value": float(self.value),
            "seconds": None if self.seconds is None else round(float(self.seconds), 4),
        }
        for key, val in self.extra.items():
            if key in out:
                raise ValueError(f"extra key {key!r} clashes with a fixed row field")
            out[key] = val
        return out


@dataclass
class SuiteResult:
    """What a suite returns: its rows, free-text notes, and every case it could not run, with why."""

    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def add(self, *rows: Row) -> None:
        self.rows.extend(rows)

    def skip(self, case: str, reason: str) -> None:
        """Record a case that was not run; it is printed in the report, never dropped silently."""
        self.skipped.append((case, reason))


@dataclass
class BenchContext:
    """Everything a suite needs to know about the run.

    ``options`` holds the suite's settings (its ``OPTIONS``), parsed and checked by
    :meth:`tinyts.bench.registry.Suite.parse_options`: every declared key is present, given or default.
    """

    data_dir: Path
    out_dir: Path
    datasets: Sequence[str] | None = None
    quick: bool = False
    seed: int = 0
    methods: Sequence[str] | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def wants(self, dataset: str) -> bool:
        """Whether ``dataset`` was selected by ``--datasets`` (case-insensitive; no selection = all)."""
        if not self.datasets:
            return True
        return dataset.lower() in {d.lower() for d in self.datasets}

    def wants_method(self, method: str) -> bool:
        if not self.methods:
            return True
        return method.lower() in {m.lower() for m in self.methods}

    def select_methods(self, known: Iterable[str], result: SuiteResult, suite: str) -> list[str]:
        """The known methods selected by ``--methods``; each unknown requested name is recorded as skipped."""
        names = list(known)
        for m in self.methods or ():
            if m.lower() not in names:
                result.skip(m, f"unknown {suite} method; known: {', '.join(names)}")
        return [m for m in names if self.wants_method(m)]


def resolve_data_dir(data_dir: str | os.PathLike[str] | None) -> Path:
    """The benchmark data folder: the argument, else ``$TINYTS_DATA``; it must exist."""
    raw = data_dir if data_dir is not None else os.environ.get(ENV_DATA)
    if not raw:
        raise ValueError(
            f"no data folder given: pass --data-dir DIR or set {ENV_DATA} "
            "(a folder laid out like shared/data: ETT/, UCR/, UEA/, anomaly/, ...)"
        )
    path = Path(raw).expanduser()
    if not path.is_dir():
        raise ValueError(f"data folder {str(path)!r} does not exist or is not a directory")
    return path


@contextmanager
def timer() -> Iterator[list[float]]:
    """Measure wall time: ``with timer() as t: ...; seconds = t[0]``."""
    box = [0.0]
    start = time.perf_counter()
    try:
        yield box
    finally:
        box[0] = time.perf_counter() - start
