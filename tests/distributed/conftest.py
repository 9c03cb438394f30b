"""Fixtures of the distributed tests: a small long frame, a saved classifier, local engines.

The engines are real: a local Dask cluster of 2 worker processes (1 thread each) and a local Ray
runtime with 2 CPUs. Every comparison is against the in-memory call with 1 torch thread, the
threads every worker uses.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch


def long_frame(n_series: int = 10, seed: int = 0) -> pd.DataFrame:
    """Series of different lengths (40 to 1,300 points: shorter and longer than the context), hourly,
    with missing values; ids are strings."""
    rng = np.random.default_rng(seed)
    parts = []
    for i in range(n_series):
        n = int(rng.integers(40, 1300)) if i % 4 else 300
        t = np.arange(n)
        y = (1 + i % 3) * np.sin(2 * np.pi * t / (12 + i)) + 0.01 * i * t + rng.normal(0, 0.3, n) + i
        y[rng.random(n) < 0.05] = np.nan
        y[:2] = y[:2] if i % 5 else np.nan  # some series start with gaps
        y[-1] = 1.0 + i  # the last point observed (forecasting needs recent observations)
        ds = pd.date_range("2024-01-01", periods=n, freq="h")
        parts.append(pd.DataFrame({"unique_id": f"s{i:02d}", "ds": ds, "y": y, "cls": str(i % 2)}))
    return pd.concat(parts, ignore_index=True)


def same_frames(expected: pd.DataFrame, got: pd.DataFrame, keys: list[str]) -> None:
    """Equal after sorting by ``keys``: the same columns, numeric values bit for bit (NaN where NaN),
    ids and other columns equal as values (engines may store strings as another dtype)."""
    a = expected.sort_values(keys).reset_index(drop=True)
    b = got.sort_values(keys).reset_index(drop=True)
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    for col in a.columns:
        x, y = a[col], b[col]
        if pd.api.types.is_float_dtype(x.dtype):
            assert x.dtype == y.dtype, (col, x.dtype, y.dtype)
            xv, yv = x.to_numpy(), y.to_numpy()
            assert np.array_equal(np.isnan(xv), np.isnan(yv)), col
            # bit for bit: the raw bytes of the floats
            assert xv.tobytes() == yv.tobytes(), (col, float(np.nanmax(np.abs(xv - yv))))
        else:
            assert [str(v) for v in x] == [str(v) for v in y], col


@pytest.fixture(scope="session")
def same() -> Any:
    """The :func:`same_frames` check."""
    return same_frames


@pytest.fixture(autouse=True, scope="session")
def _one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def frame() -> pd.DataFrame:
    return long_frame()


@pytest.fixture(scope="session")
def classifier_dir(tmp_path_factory: pytest.TempPathFactory, frame: pd.DataFrame) -> Path:
    """A PulseClassifier (the default: frozen features + MiniRocket) fitted on the frame, saved."""
    from tinyts.tasks.classify.api import PulseClassifier
    from tinyts.tasks.frames import fit_classifier_df

    clf = fit_classifier_df(
        PulseClassifier("tinypulse"), frame.drop(columns="cls"), frame.groupby("unique_id")["cls"].first()
    )
    folder = tmp_path_factory.mktemp("clf") / "clf"
    clf.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Any]:
    from tinyts.tasks.distributed import local_client

    with local_client(2) as client:  # the cluster `tinyts ... --engine dask --workers 2` starts
        yield client


@pytest.fixture(scope="module")
def ray_runtime() -> Iterator[Any]:
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    try:
        yield ray
    finally:
        ray.shutdown()
