"""``tinyts demo``: the main job on bundled data, with a short markdown report and one plot per task.

Data: real series that installed packages ship (aeon: GunPoint, KDD-TSAD 135 from the UCR anomaly
archive, Airline) read through :mod:`tinyts.data`, plus series from the synthetic generators. Until the
tinyts models land, each task runs the peer baselines that ``tinyts bench`` compares against.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tinyts._errors import require


def _aeon_data() -> Path:
    aeon = require("aeon", "pip install aeon", "the demo's bundled datasets")
    return Path(str(aeon.__file__)).parent / "datasets" / "data"


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    _plt().close(fig)
    return path.name


def _synthetic(out: Path, seed: int) -> dict[str, Any]:
    from tinyts.data.anomalies import inject_anomalies
    from tinyts.data.synth import synth_ts

    x = synth_ts(6, 512, seed=seed)
    xa, labels = inject_anomalies(x[:2], seed=seed, region=(0.3, 1.0))
    plt = _plt()
    fig, axes = plt.subplots(4, 2, figsize=(10, 7), sharex=True)
    for i, ax in enumerate(axes.flat[:6]):
        ax.plot(x[i], lw=0.8)
        ax.set_title(f"synth_ts #{i}", fontsize=8)
    for j, ax in enumerate(axes.flat[6:]):
        ax.plot(xa[j], lw=0.8)
        ax.fill_between(np.arange(512), xa[j].min(), xa[j].max(), where=labels[j] > 0, color="red", alpha=0.3)
        ax.set_title("with an injected anomaly (red)", fontsize=8)
    return {
        "plot": _save(fig, out / "synthetic.png"),
        "lines": [f"{len(x)} SynthTS-style series of 512 points; 2 with injected anomalies."],
    }


def _imputation(out: Path, seed: int, kdd: Any) -> dict[str, Any]:
    from tinyts.bench.metrics import acf_period
    from tinyts.bench.peers.imputers import linear_fill, seasonal_linear_fill
    from tinyts.data.masks import hybrid_mask
    from tinyts.data.windows import sliding_windows

    series = kdd.values[:, 0]
    train = series[: kdd.train_end]
    z = (series - train.mean()) / train.std()
    windows, _ = sliding_windows(z, 512, 251)
    windows = np.array(windows, dtype=np.float64)
    period = acf_period(train)
    rows = []
    for ratio in (0.125, 0.25, 0.5):
        hidden = hybrid_mask(windows.shape, ratio, rng=seed)
        masked = np.where(hidden, np.nan, windows)
        for name, fn in (("linear_interp", linear_fill), ("seasonal_linear", None)):
            filled = linear_fill(masked) if fn is not None else seasonal_linear_fill(masked, period)
            rows.append((name, ratio, float(np.mean((filled[hidden] - windows[hidden]) ** 2))))
    hidden = hybrid_mask(windows.shape, 0.25, rng=seed)
    masked = np.where(hidden, np.nan, windows)
    filled = seasonal_linear_fill(masked, period)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, 3))
    ax.plot(windows[0], color="0.6", lw=0.8, label="truth")
    ax.plot(np.where(hidden[0], filled[0], np.nan), ".", ms=3, color="C1", label="filled (seasonal_linear)")
    ax.plot(masked[0], color="C0", lw=0.8, label="observed")
    ax.legend(fontsize=7)
    ax.set_title(f"KDD-TSAD 135, 25% hybrid mask, period {period}", fontsize=9)
    lines = ["| method | mask ratio | MSE (standardised) |", "|---|---|---|"]
    lines += [f"| {m} | {r:.1%} | {v:.4f} |" for m, r, v in rows]
    return {"plot": _save(fig, out / "imputation.png"), "lines": lines}


def _anomaly(out: Path, seed: int, kdd: Any) -> dict[str, Any]:
    from sklearn.metrics import average_precision_score

    from tinyts.bench.peers.detectors import diff_score, zscore_score

    rows = []
    scores = {}
    for name, fn in (("zscore", zscore_score), ("diff", diff_score)):
        s = fn(kdd.values, kdd.train_end, seed)
        scores[name] = s
        rows.append((name, float(average_precision_score(kdd.labels, s))))
    plt = _plt()
    fig, axes = plt.subplots(2, 1, figsize=(10, 4), sharex=True)
    axes[0].plot(kdd.values[:, 0], lw=0.6)
    lab = kdd.labels > 0
    axes[0].fill_between(
        np.arange(kdd.n_time), kdd.values.min(), kdd.values.max(), where=lab, color="red", alpha=0.4
    )
    axes[0].set_title("KDD-TSAD 135 (labelled anomaly in red)", fontsize=9)
    axes[1].plot(scores["diff"], lw=0.6, color="C2")
    axes[1].set_title("diff detector score", fontsize=9)
    lines = ["| method | AUC-PR |", "|---|---|"] + [f"| {m} | {v:.3f} |" for m, v in rows]
    return {"plot": _save(fig, out / "anomaly.png"), "lines": lines}


def _classification(out: Path, seed: int, data: Path) -> dict[str, Any]:
    from tinyts.bench.peers.classifiers import MiniRocketPeer, NearestNeighbourEuclidean
    from tinyts.data.io import read_ts

    train = read_ts(data / "GunPoint" / "GunPoint_TRAIN.ts")
    test = read_ts(data / "GunPoint" / "GunPoint_TEST.ts")
    X_train, X_test = np.asarray(train.X), np.asarray(test.X)
    rows = []
    for name, clf in (("nn1_euclidean", NearestNeighbourEuclidean()), ("minirocket", MiniRocketPeer(seed))):
        t0 = time.perf_counter()
        pred = clf.fit(X_train, train.y).predict(X_test)
        rows.append((name, float(np.mean(pred == test.y)), time.perf_counter() - t0))
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 3))
    for label, color in zip(sorted(set(train.y)), ("C0", "C3"), strict=False):
        for case in X_train[train.y == label][:5]:
            ax.plot(case[0], color=color, lw=0.7, alpha=0.7)
    ax.set_title("GunPoint TRAIN, five cases per class", fontsize=9)
    lines = [f"GunPoint: {len(X_train)} train / {len(X_test)} test cases of {X_train.shape[-1]} points.", ""]
    lines += ["| method | accuracy | fit+predict s |", "|---|---|---|"]
    lines += [f"| {m} | {a:.3f} | {s:.2f} |" for m, a, s in rows]
    return {"plot": _save(fig, out / "classification.png"), "lines": lines}


def _forecast(out: Path, seed: int, data: Path) -> dict[str, Any]:
    import pandas as pd

    df = pd.read_csv(data / "Airline" / "Airline.csv")
    y = df.iloc[:, 1].to_numpy(dtype=np.float64)
    h, m = 24, 12
    history, future = y[:-h], y[-h:]
    pred = np.tile(history[-m:], h // m + 1)[:h]
    naive = np.full(h, history[-1])
    rows = [
        ("seasonal_naive", float(np.mean(np.abs(pred - future)))),
        ("naive", float(np.mean(np.abs(naive - future)))),
    ]
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 3))
    ax.plot(np.arange(len(history)), history, color="C0", label="history")
    ax.plot(np.arange(len(history), len(y)), future, color="0.5", label="actual")
    ax.plot(np.arange(len(history), len(y)), pred, color="C1", label="seasonal naive")
    ax.legend(fontsize=7)
    ax.set_title("Airline passengers, last 24 months held out", fontsize=9)
    lines = ["| method | MAE (passengers) |", "|---|---|"] + [f"| {n} | {v:.1f} |" for n, v in rows]
    return {"plot": _save(fig, out / "forecast.png"), "lines": lines}


def run_demo(out: str | Path = "tinyts-demo", *, seed: int = 0) -> Path:
    """Run every task on bundled data; write ``REPORT.md`` and plots into ``out``; return the report path."""
    from tinyts.data.io import read_value_label

    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = _aeon_data()
    kdd = read_value_label(data / "KDD-TSAD_135" / "135_UCR_Anomaly_InternalBleeding16_TEST.csv")
    kdd.train_end = 1200  # the UCR archive name: 135_UCR_Anomaly_InternalBleeding16_1200_4187_4199
    sections: list[tuple[str, Callable[[], dict[str, Any]]]] = [
        ("Synthetic data", lambda: _synthetic(out_dir, seed)),
        ("Imputation (peers)", lambda: _imputation(out_dir, seed, kdd)),
        ("Anomaly detection (peers)", lambda: _anomaly(out_dir, seed, kdd)),
        ("Classification (peers)", lambda: _classification(out_dir, seed, data)),
        ("Forecasting (peers)", lambda: _forecast(out_dir, seed, data)),
    ]
    report = [
        "# tinyts demo",
        "",
        "Bundled real data (shipped by aeon) read through `tinyts.data`, and synthetic series from",
        "`tinyts.data.synth`. The tinyts models are not bundled yet, so each task shows the peer",
        "baselines that `tinyts bench` measures them against.",
    ]
    start = time.perf_counter()
    for title, fn in sections:
        t0 = time.perf_counter()
        result = fn()
        report += ["", f"## {title}", "", *result["lines"], "", f"![{title}]({result['plot']})"]
        report.append(f"\n_{time.perf_counter() - t0:.1f} s_")
        print(f"  {title}: done in {time.perf_counter() - t0:.1f} s", flush=True)
    report += ["", f"Total: {time.perf_counter() - start:.1f} s."]
    path = out_dir / "REPORT.md"
    path.write_text("\n".join(report) + "\n", encoding="utf-8")
    return path
