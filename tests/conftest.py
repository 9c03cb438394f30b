"""Shared fixtures: a tiny data folder laid out like shared/data, made of synthetic series.

Tests never read the real benchmark data; the suites must work on any folder with this layout,
so this fixture also proves that they discover datasets by layout and not by name.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _write_ts(path: Path, X: np.ndarray, y: np.ndarray, name: str) -> None:
    _, c, t = X.shape
    lines = [
        f"@problemName {name}",
        "@timeStamps false",
        "@missing false",
        f"@univariate {'true' if c == 1 else 'false'}",
        *([] if c == 1 else [f"@dimensions {c}"]),
        "@equalLength true",
        f"@seriesLength {t}",
        "@classLabel true " + " ".join(sorted(set(y))),
        "@data",
    ]
    for case, label in zip(X, y, strict=True):
        dims = [",".join(f"{v:.6f}" for v in ch) for ch in case]
        lines.append(":".join(dims) + ":" + label)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _classification(rng: np.random.Generator, n: int, c: int, t: int) -> tuple[np.ndarray, np.ndarray]:
    y = rng.integers(0, 2, size=n)
    tt = np.linspace(0, 1, t)
    freq = np.where(y == 0, 3.0, 6.0)[:, None, None]
    X = np.sin(2 * np.pi * freq * tt[None, None, :] + rng.uniform(0, 6, size=(n, c, 1)))
    X = X + 0.2 * rng.standard_normal((n, c, t))
    return X, np.array([str(v) for v in y])


@pytest.fixture(scope="session")
def mini_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small folder shaped like shared/data: LTSF csv, UCR/UEA .ts, TSB-AD csv, UCR anomaly txt."""
    root = tmp_path_factory.mktemp("mini_data")
    rng = np.random.default_rng(0)

    # LTSF-style wide csv (a generic name: 70/10/20 split), hourly, 3 channels.
    n = 2400
    t = np.arange(n)
    cols = {
        "a": np.sin(2 * np.pi * t / 24) + 0.1 * rng.standard_normal(n),
        "b": np.cos(2 * np.pi * t / 24) + 0.01 * t / 24 + 0.1 * rng.standard_normal(n),
        "OT": np.sin(2 * np.pi * t / 168) + 0.2 * rng.standard_normal(n),
    }
    df = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=n, freq="h"), **cols})
    (root / "toy_ltsf").mkdir()
    df.to_csv(root / "toy_ltsf" / "toy_hourly.csv", index=False)

    # Classification: a univariate UCR problem and a multivariate UEA one.
    for archive, name, c in (("UCR", "ToyUni", 1), ("UEA", "ToyMulti", 3)):
        d = root / archive / name
        d.mkdir(parents=True)
        for split, count in (("TRAIN", 20), ("TEST", 20)):
            X, y = _classification(rng, count, c, 64)
            _write_ts(d / f"{name}_{split}.ts", X, y, name)

    # TSB-AD-U style csv with a train prefix in its name and one labelled anomaly.
    m = 3000
    x = np.sin(2 * np.pi * np.arange(m) / 50) + 0.05 * rng.standard_normal(m)
    lab = np.zeros(m, dtype=int)
    x[2000:2020] += 3.0
    lab[2000:2020] = 1
    (root / "TSB-AD-U").mkdir()
    pd.DataFrame({"Data": x, "Label": lab}).to_csv(
        root / "TSB-AD-U" / "001_Toy_id_1_Synthetic_tr_1000_1st_2000.csv", index=False
    )

    # UCR anomaly archive txt: the name carries the train end and the anomaly range [begin, end), 0-based,
    # as aeon labels KDD-TSAD 135.
    y2 = np.sin(2 * np.pi * np.arange(m) / 40) + 0.05 * rng.standard_normal(m)
    y2[1800:1830] = 0.0
    (root / "anomaly" / "UCR_Anomaly").mkdir(parents=True)
    np.savetxt(root / "anomaly" / "UCR_Anomaly" / "001_UCR_Anomaly_Toy_1000_1800_1830.txt", y2, fmt="%.6f")
    return root


@pytest.fixture
def disk_full(monkeypatch: pytest.MonkeyPatch) -> Callable[[Any, str], None]:
    """``disk_full(module, "name")`` replaces the writer ``module.name`` (it takes the file name second) by
    one that writes half a file there, then raises ``OSError("disk full")``."""

    def patch(module: Any, name: str) -> None:
        def crash(obj: Any, filename: str, *args: Any, **kwargs: Any) -> None:
            Path(filename).write_bytes(b"half a file")
            raise OSError("disk full")

        monkeypatch.setattr(module, name, crash)

    return patch
