"""The classification suite's TinyPulse methods (hybrid default, frozen, TSLens, pooling) on tiny data."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tinyts.bench import run_suite
from tinyts.bench.suites import classification
from tinyts.bench.suites.classification import PULSE_METHODS, PulseMethod


def test_pulse_methods_are_in_the_suite() -> None:
    names = {"tinypulse", "tinypulse_frozen", "tinypulse_tslens", "tinypulse_avgpool", "tinypulse_maxpool"}
    assert names == set(PULSE_METHODS) and names <= set(classification.METHODS)
    assert {"multirocket", "hydra_multirocket", "minirocket"} <= set(classification.METHODS)
    assert PULSE_METHODS["tinypulse"](0).method == "hybrid"  # the default method's rows are `tinypulse`
    assert PULSE_METHODS["tinypulse_maxpool"](0).kwargs == {"pooling": "max"}


def test_pulse_methods_rows(mini_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    short = {"min_steps": 40, "max_steps": 40, "epochs": 1, "n_views": 2, "encoder_layers": 1}
    monkeypatch.setattr(PulseMethod, "options", short)
    methods = ["tinypulse", "tinypulse_frozen", "tinypulse_tslens", "tinypulse_avgpool"]
    payload = run_suite(
        "classification", data_dir=mini_data_dir, quick=True, out_dir=tmp_path, methods=methods
    )
    rows = payload["rows"]
    for metric in ("accuracy", "fit_seconds", "predict_seconds"):
        got = {(r["dataset"], r["method"]) for r in rows if r["metric"] == metric}
        assert got == {(d, m) for d in ("ToyUni", "ToyMulti") for m in methods}, metric
    acc = {(r["dataset"], r["method"]): r["value"] for r in rows if r["metric"] == "accuracy"}
    assert all(math.isfinite(v) and 0 <= v <= 1 for v in acc.values())
    assert acc[("ToyUni", "tinypulse")] >= 0.7  # 3 vs 6 cycles, 20 training cases: chance is about 0.5
    assert all(r["value"] > 0 for r in rows if r["metric"] == "fit_seconds")
    assert not [s for s in payload["skipped"] if "/" in s[0]]  # no method failed on a problem


def test_methods_run_with_blas_bounded_to_torch_threads(
    mini_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """numpy's BLAS gets torch's thread count while a method fits and predicts (fair timings)."""
    import numpy as np
    import torch
    from threadpoolctl import threadpool_info

    seen: list[int] = []

    class Probe:
        def fit(self, X: object, y: object) -> Probe:
            seen.extend(int(p["num_threads"]) for p in threadpool_info() if p["user_api"] == "blas")
            return self

        def predict(self, X: np.ndarray) -> np.ndarray:
            return np.zeros(len(X), dtype=str)

    monkeypatch.setitem(classification.METHODS, "probe", lambda seed: Probe())
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # numpy's BLAS defaults to every core
    try:
        payload = run_suite(
            "classification", data_dir=mini_data_dir, quick=True, out_dir=tmp_path, methods=["probe"]
        )
    finally:
        torch.set_num_threads(threads)
    assert seen and set(seen) == {1}
    assert "blas_threads" in payload["machine"]
