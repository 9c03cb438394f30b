"""The real-data sections of ``tinyts demo``: each tinyts model next to the peer baselines.

Every section takes the output folder, the seed and its data, writes one plot and returns
``{"plot": file name, "lines": markdown lines}``. Nothing is caught: a failing section fails the demo.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tinyts.models.cast import TinyCast
from tinyts.models.pulse import TinyPulse

#: optimisation steps of the demo's shortened classification fine-tune (the default run: 200-800)
CLASSIFY_STEPS = 120


def plt_module() -> Any:
    """``matplotlib.pyplot`` on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_fig(fig: Any, path: Path) -> str:
    """Save and close ``fig``; return the file name (the report links it relative to itself)."""
    from tinyts.fileio import atomic_file

    fig.tight_layout()
    with atomic_file(path) as tmp:
        fig.savefig(tmp, dpi=80)
    plt_module().close(fig)
    return path.name


def _best(rows: list[tuple[str, float]], higher: bool) -> str:
    pick = max if higher else min
    return pick(rows, key=lambda r: r[1])[0]


def _shade(ax: Any, mask: np.ndarray, lo: float, hi: float) -> None:
    ax.fill_between(np.arange(len(mask)), lo, hi, where=mask, color="red", alpha=0.4, lw=0)


def imputation(out: Path, seed: int, pulse: TinyPulse, kdd: Any) -> dict[str, Any]:
    """TinyPulse ``impute`` vs linear / seasonal-linear interpolation on KDD-TSAD 135 windows."""
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
    ratios = (0.125, 0.25, 0.5)
    methods = {
        "tinypulse": lambda m: pulse.impute(m[:, None, :])[:, 0],
        "linear_interp": linear_fill,
        "seasonal_linear": lambda m: seasonal_linear_fill(m, period),
    }
    mse: dict[str, list[float]] = {name: [] for name in methods}
    seconds = dict.fromkeys(methods, 0.0)
    shown: dict[str, np.ndarray] = {}
    for ratio in ratios:
        hidden = hybrid_mask(windows.shape, ratio, rng=seed)
        masked = np.where(hidden, np.nan, windows)
        for name, fill in methods.items():
            t0 = time.perf_counter()
            filled = np.asarray(fill(masked), dtype=np.float64)
            seconds[name] += time.perf_counter() - t0
            mse[name].append(float(np.mean((filled[hidden] - windows[hidden]) ** 2)))
            if ratio == 0.25:
                shown[name], shown["hidden"], shown["masked"] = filled[0], hidden[0], masked[0]
    plt = plt_module()
    fig, ax = plt.subplots(figsize=(10, 3))
    ax.plot(windows[0], color="0.7", lw=0.8, label="truth (hidden points included)")
    ax.plot(shown["masked"], color="C0", lw=0.9, label="observed")
    gaps = shown["hidden"]
    ax.plot(np.where(gaps, shown["tinypulse"], np.nan), ".", ms=3, color="C3", label="filled: TinyPulse")
    ax.plot(np.where(gaps, shown["linear_interp"], np.nan), ".", ms=2, color="C1", label="filled: linear")
    ax.legend(fontsize=7, ncol=4)
    ax.set_title(
        f"KDD-TSAD 135, first window, 25% hybrid mask (MSE on the {gaps.sum()} hidden points)", fontsize=9
    )
    lines = [
        f"{len(windows)} standardised windows of 512 points from KDD-TSAD 135; seeded hybrid masks "
        "(blocks + points) hide 12.5-50 % of each window; MSE on the hidden points only (lower is "
        "better). TinyPulse: `pulse.impute(x)`, zero-shot.",
        "",
        "| method | MSE 12.5% | MSE 25% | MSE 50% | s (all ratios) |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {m} | " + " | ".join(f"{v:.4f}" for v in mse[m]) + f" | {seconds[m]:.2f} |" for m in mse]
    best = [_best([(m, v[i]) for m, v in mse.items()], higher=False) for i in range(len(ratios))]
    lines += [
        "",
        "Lowest MSE per ratio: " + ", ".join(f"{r:.1%} {b}" for r, b in zip(ratios, best, strict=True)),
    ]
    return {"plot": save_fig(fig, out / "imputation.png"), "lines": lines}


def anomaly(out: Path, seed: int, pulse: TinyPulse, kdd: Any) -> dict[str, Any]:
    """TinyPulse ``anomaly_scores(mode="ensemble")`` vs z-score and difference detectors, AUC-PR."""
    from sklearn.metrics import average_precision_score

    from tinyts.bench.peers.detectors import diff_score, zscore_score

    detectors = {
        "tinypulse_ensemble": lambda: pulse.anomaly_scores(kdd.values[:, 0], mode="ensemble"),
        "zscore": lambda: zscore_score(kdd.values, kdd.train_end, seed),
        "diff": lambda: diff_score(kdd.values, kdd.train_end, seed),
    }
    rows, scores = [], {}
    for name, fn in detectors.items():
        t0 = time.perf_counter()
        scores[name] = np.asarray(fn(), dtype=np.float64)
        rows.append(
            (name, float(average_precision_score(kdd.labels, scores[name])), time.perf_counter() - t0)
        )
    lab = kdd.labels > 0
    plt = plt_module()
    fig, axes = plt.subplots(2, 1, figsize=(10, 4), sharex=True)
    axes[0].plot(kdd.values[:, 0], lw=0.6)
    _shade(axes[0], lab, kdd.values.min(), kdd.values.max())
    axes[0].set_title("KDD-TSAD 135 (labelled anomaly in red)", fontsize=9)
    for name, color in (("tinypulse_ensemble", "C3"), ("diff", "C2")):
        s = scores[name]
        axes[1].plot((s - s.min()) / (np.ptp(s) or 1.0), lw=0.6, color=color, label=name)
    _shade(axes[1], lab, 0.0, 1.0)
    axes[1].legend(fontsize=7)
    axes[1].set_title("anomaly scores, min-max scaled", fontsize=9)
    lines = [
        f"One series of {kdd.n_time} points with one labelled anomaly of {int(lab.sum())} points "
        f"(AUC-PR of a random score: about {lab.mean():.3f}); higher is better. TinyPulse: "
        '`pulse.anomaly_scores(x, mode="ensemble")`, zero-shot; the peers are baselines of '
        "`tinyts bench anomaly`.",
        "",
        "| method | AUC-PR | s |",
        "|---|---|---|",
    ]
    lines += [f"| {m} | {v:.3f} | {s:.2f} |" for m, v, s in rows]
    lines += ["", f"Highest AUC-PR here: {_best([(m, v) for m, v, _ in rows], higher=True)}"]
    return {"plot": save_fig(fig, out / "anomaly.png"), "lines": lines}


def _latency_ms(query: Any, cases: np.ndarray, n: int = 10) -> float:
    """Median wall time of ``query(case)`` over the first ``n`` cases, sent one at a time, in ms."""
    times = []
    for case in cases[:n]:
        t0 = time.perf_counter()
        query(case)
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def _gunpoint(data: Path) -> tuple[Any, Any]:
    from tinyts.data.io import read_ts

    return read_ts(data / "GunPoint" / "GunPoint_TRAIN.ts"), read_ts(data / "GunPoint" / "GunPoint_TEST.ts")


def classification(out: Path, seed: int, pulse: TinyPulse, data: Path) -> dict[str, Any]:
    """A short TinyPulse fine-tune (``PulseClassifier``) vs 1-NN Euclidean and MiniRocket on GunPoint."""
    from tinyts.bench.peers.classifiers import MiniRocketPeer, NearestNeighbourEuclidean
    from tinyts.tasks.classify import PulseClassifier

    train, test = _gunpoint(data)
    X_train, X_test = np.asarray(train.X), np.asarray(test.X)
    short = PulseClassifier(pulse, seed=seed, epochs=1, min_steps=CLASSIFY_STEPS, max_steps=CLASSIFY_STEPS)
    # aeon's MiniRocket sets numba's OpenMP thread count, which torch shares: without restoring it, every
    # later torch call runs on NUMBA_NUM_THREADS (all cores) threads (measured: embedding 3-10x slower)
    threads = torch.get_num_threads()
    rows = []
    for name, clf in (
        ("tinypulse_finetuned", short),
        ("nn1_euclidean", NearestNeighbourEuclidean()),
        ("minirocket", MiniRocketPeer(seed)),
    ):
        t0 = time.perf_counter()
        pred = clf.fit(X_train, train.y).predict(X_test)
        rows.append((name, float(np.mean(pred == test.y)), time.perf_counter() - t0))
        torch.set_num_threads(threads)
    plt = plt_module()
    fig, ax = plt.subplots(figsize=(8, 3))
    for label, color in zip(sorted(set(train.y)), ("C0", "C3"), strict=False):
        for i, case in enumerate(X_train[train.y == label][:5]):
            ax.plot(case[0], color=color, lw=0.7, alpha=0.7, label=f"class {label}" if i == 0 else None)
    ax.legend(fontsize=7)
    ax.set_title("GunPoint TRAIN, five cases per class", fontsize=9)
    folder = data / "GunPoint"
    lines = [
        f"GunPoint: {len(X_train)} train / {len(X_test)} test cases of {X_train.shape[-1]} points; "
        "accuracy on TEST. `tinypulse_finetuned` is a **shortened** fine-tune of `tinyts.PulseClassifier` "
        f"({CLASSIFY_STEPS} optimisation steps, early stopping on 20 % of TRAIN, then a refit on all of it) "
        "to keep the demo short. The full fine-tune (default run: 200-800 steps) is:",
        "",
        "```bash",
        f"tinyts classify fit {folder / 'GunPoint_TRAIN.ts'} --out gunpoint-clf",
        f"tinyts classify predict gunpoint-clf {folder / 'GunPoint_TEST.ts'}",
        "```",
        "",
        "| method | accuracy | fit+predict s |",
        "|---|---|---|",
    ]
    lines += [f"| {m} | {a:.3f} | {s:.2f} |" for m, a, s in rows]
    return {"plot": save_fig(fig, out / "classification.png"), "lines": lines}


def search(out: Path, seed: int, pulse: TinyPulse, data: Path) -> dict[str, Any]:
    """``SimilarityIndex`` over GunPoint TRAIN, queried with TEST: same-class share of the nearest hit."""
    from tinyts.tasks.retrieve import SimilarityIndex

    train, test = _gunpoint(data)
    X_train, X_test = np.asarray(train.X), np.asarray(test.X)
    y_train, y_test = np.asarray(train.y), np.asarray(test.y)
    ids = [f"train-{i}" for i in range(len(X_train))]
    t0 = time.perf_counter()
    index = SimilarityIndex(pulse, method="exact").add(X_train, ids)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    hits = index.search(X_test, k=3)
    batch_s = time.perf_counter() - t0
    raw = SimilarityIndex(None, method="exact").add_vectors(X_train.reshape(len(X_train), -1), ids)
    t0 = time.perf_counter()
    raw_hits = raw.search_vectors(X_test.reshape(len(X_test), -1), k=1)
    raw_s = time.perf_counter() - t0
    found = {"tinypulse_embedding": hits.positions[:, 0], "raw_euclidean": raw_hits.positions[:, 0]}
    latency = {
        "tinypulse_embedding": _latency_ms(lambda c: index.search(c, k=3), X_test),
        "raw_euclidean": _latency_ms(lambda c: raw.search_vectors(c.ravel(), k=1), X_test),
    }
    total = {"tinypulse_embedding": batch_s, "raw_euclidean": raw_s}
    rows = [(m, float(np.mean(y_train[pos] == y_test)), latency[m], total[m]) for m, pos in found.items()]
    q = seed % len(X_test)
    plt = plt_module()
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.plot(X_test[q, 0], color="k", lw=1.6, label=f"query: TEST #{q} (class {y_test[q]})")
    for r in range(3):
        p = int(hits.positions[q, r])
        label = f"hit {r + 1}: {hits.ids[q][r]} (class {y_train[p]}, d={hits.distances[q, r]:.2f})"
        ax.plot(X_train[p, 0], lw=0.9, alpha=0.8, label=label)
    ax.legend(fontsize=7)
    ax.set_title("GunPoint: one query and its 3 nearest TRAIN series (TinyPulse embeddings)", fontsize=9)
    lines = [
        f"`tinyts.SimilarityIndex(pulse).add(X, ids)` on the {len(X_train)} GunPoint TRAIN series "
        f"(embedded and indexed in {build_s:.2f} s, exact search), queried with the {len(X_test)} TEST "
        "series: the share of queries whose nearest neighbour has the query's class (1-NN accuracy on "
        "embeddings; higher is better). Latency: median of 10 queries sent one at a time, embedding "
        "included for TinyPulse (16 shifted forward passes). The peer searches the raw series with the "
        "same exact engine.",
        "",
        "| method | nearest neighbour same class | ms per query | all queries s |",
        "|---|---|---|---|",
    ]
    lines += [f"| {m} | {a:.3f} | {ms:.2f} | {s:.2f} |" for m, a, ms, s in rows]
    return {"plot": save_fig(fig, out / "search.png"), "lines": lines}


def forecast(out: Path, seed: int, cast: TinyCast, data: Path) -> dict[str, Any]:
    """TinyCast median and 80 % band vs seasonal-naive and naive on Airline, last 24 months held out."""
    import pandas as pd

    df = pd.read_csv(data / "Airline" / "Airline.csv")
    y = df.iloc[:, 1].to_numpy(dtype=np.float64)
    h, m = 24, 12
    history, future = y[:-h], y[-h:]
    t0 = time.perf_counter()
    fc = cast.forecast(history, horizon=h, quantiles=(0.1, 0.5, 0.9))
    cast_s = time.perf_counter() - t0
    lo, median, hi = (np.asarray(fc.quantile(q), dtype=np.float64) for q in (0.1, 0.5, 0.9))
    coverage = float(np.mean((future >= lo) & (future <= hi)))
    seasonal = np.tile(history[-m:], h // m + 1)[:h]
    naive = np.full(h, history[-1])
    preds = {"tinycast_median": median, "seasonal_naive": seasonal, "naive": naive}
    rows = [(name, float(np.mean(np.abs(p - future)))) for name, p in preds.items()]
    t_hist, t_fut = np.arange(len(history)), np.arange(len(history), len(y))
    plt = plt_module()
    fig, ax = plt.subplots(figsize=(9, 3))
    ax.plot(t_hist, history, color="C0", label="history")
    ax.plot(t_fut, future, color="0.5", label="actual")
    ax.fill_between(t_fut, lo, hi, color="C3", alpha=0.25, lw=0, label="TinyCast 10-90 % band")
    ax.plot(t_fut, median, color="C3", label="TinyCast median")
    ax.plot(t_fut, seasonal, color="C1", lw=0.8, ls="--", label="seasonal naive")
    ax.legend(fontsize=7)
    ax.set_title("Airline passengers, last 24 months held out", fontsize=9)
    lines = [
        f"Monthly Airline passengers: {len(history)} months of history, {h} held out; MAE in passengers "
        "(lower is better). TinyCast: `tinycast.forecast(history, horizon=24, quantiles=(0.1, 0.5, 0.9))`, "
        f"zero-shot, {cast_s:.2f} s; {coverage:.0%} of the held-out months fall inside its 10-90 % band "
        "(nominal 80 %).",
        "",
        "| method | MAE (passengers) |",
        "|---|---|",
    ]
    lines += [f"| {n} | {v:.1f} |" for n, v in rows]
    return {"plot": save_fig(fig, out / "forecast.png"), "lines": lines}
