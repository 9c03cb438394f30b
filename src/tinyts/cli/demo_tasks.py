"""The sections of ``tinyts demo``: each tinyts model next to the peer baselines.

Every section takes the output folder, the seed and its data, writes its plots and returns
``{"plots": [file names], "lines": markdown lines}``. Nothing is caught: a failing section fails the
demo. Each section runs the model on a bundled real dataset first (rows where a peer wins stay as they
come out) and then on the kind of data where the model is meant to earn its place, saying which is
which; every sentence that compares methods is computed from the numbers of this run.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from tinyts.cli import plots
from tinyts.models.cast import TinyCast
from tinyts.models.pulse import TinyPulse

#: the imputation ratios of the demo's tables
RATIOS = (0.125, 0.25, 0.5)
#: queries of the shifted-search check are moved by up to this share of their length
MAX_SHIFT = 0.1


def plt_module() -> Any:
    """``matplotlib.pyplot`` on the non-interactive Agg backend (:func:`tinyts.cli.plots.pyplot`)."""
    return plots.pyplot()


def save_fig(fig: Any, path: Path) -> str:
    """Save (atomically) and close ``fig``; return the file name (the report links it relative to itself)."""
    return plots.save_figure(fig, path).name


def _best(rows: list[tuple[str, float]], higher: bool) -> str:
    pick = max if higher else min
    return pick(rows, key=lambda r: r[1])[0]


def _versus(ours: float, peer: float, higher: bool) -> str:
    """``ours`` against ``peer`` in words: better or worse, by what factor (errors, AUC-PR)."""
    if ours == peer:
        return "equal"
    better = ours > peer if higher else ours < peer
    if min(ours, peer) <= 0:
        return "better" if better else "worse"
    factor = max(ours, peer) / min(ours, peer)
    return (
        f"{factor:.2f}x {'better' if better else 'worse'}"
        if factor < 2
        else (f"{factor:.1f}x {'better' if better else 'worse'}")
    )


def _points(ours: float, peer: float) -> str:
    """An accuracy against another, in words: ``"0.007 higher (1.000 vs 0.993)"``."""
    if ours == peer:
        return f"equal ({ours:.3f})"
    return f"{abs(ours - peer):.3f} {'higher' if ours > peer else 'lower'} ({ours:.3f} vs {peer:.3f})"


def noisy_hourly(n_series: int, n_time: int, seed: int) -> tuple[np.ndarray, pd.DatetimeIndex]:
    """Hourly series with a daily and a weekly cycle and noise, ``(n_series, n_time)``, and their dates.

    Each series: ``sin(2 pi t / 24)`` with a random phase and amplitude in ``[0.7, 1.3]``, ``0.4
    sin(2 pi t / 168)`` and Gaussian noise of standard deviation 0.35 (about a third of the daily
    cycle's): the shape of a load or traffic series. Seeded.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(n_time)
    amp = rng.uniform(0.7, 1.3, (n_series, 1))
    phase = rng.uniform(0, 2 * np.pi, (n_series, 1))
    x = amp * np.sin(2 * np.pi * t / 24 + phase) + 0.4 * np.sin(2 * np.pi * t / 168 + phase / 3)
    x = x + 0.35 * rng.standard_normal((n_series, n_time))
    return x, pd.date_range("2024-01-01", periods=n_time, freq="h")


# ------------------------------------------------------------------------------------- imputation
def _impute_scores(
    windows: np.ndarray, methods: dict[str, Any], seed: int
) -> tuple[dict[str, list[float]], dict[str, float], dict[str, np.ndarray]]:
    """MSE on the hidden points per method and ratio, seconds per method, and window 0 at 25 %."""
    from tinyts.data.masks import hybrid_mask

    mse: dict[str, list[float]] = {name: [] for name in methods}
    seconds = dict.fromkeys(methods, 0.0)
    shown: dict[str, np.ndarray] = {}
    for ratio in RATIOS:
        hidden = hybrid_mask(windows.shape, ratio, rng=seed)
        masked = np.where(hidden, np.nan, windows)
        for name, fill in methods.items():
            t0 = time.perf_counter()
            filled = np.asarray(fill(masked), dtype=np.float64)
            seconds[name] += time.perf_counter() - t0
            mse[name].append(float(np.mean((filled[hidden] - windows[hidden]) ** 2)))
            if ratio == 0.25:
                shown[name], shown["hidden"], shown["masked"] = filled[0], hidden[0], masked[0]
    return mse, seconds, shown


def _impute_table(title: str, mse: dict[str, list[float]], seconds: dict[str, float]) -> list[str]:
    lines = [
        f"| {title} | MSE 12.5% | MSE 25% | MSE 50% | s (all ratios) |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {m} | " + " | ".join(f"{v:.4f}" for v in mse[m]) + f" | {seconds[m]:.2f} |" for m in mse]
    return lines


def _impute_verdict(mse: dict[str, list[float]]) -> str:
    per_ratio = [
        f"{r:.1%} {_versus(mse['tinypulse'][i], mse['linear_interp'][i], higher=False)}"
        for i, r in enumerate(RATIOS)
    ]
    best = [_best([(m, v[i]) for m, v in mse.items()], higher=False) for i in range(len(RATIOS))]
    return (
        "TinyPulse against linear interpolation (MSE): "
        + ", ".join(per_ratio)
        + ". Lowest MSE per ratio: "
        + ", ".join(f"{r:.1%} {b}" for r, b in zip(RATIOS, best, strict=True))
        + "."
    )


def _draw_imputation(ax: Any, t: Any, shown: dict[str, np.ndarray], names: dict[str, str]) -> None:
    gaps = shown["hidden"]
    plots.shade_runs(ax, t, gaps, color=plots.TRUTH, alpha=0.15, min_fraction=0.0)
    ax.plot(t, np.where(gaps, np.nan, shown["masked"]), color=plots.OBSERVED, lw=0.9, label="observed")
    truth = np.where(gaps | np.roll(gaps, 1) | np.roll(gaps, -1), shown["truth"], np.nan)
    ax.plot(t, truth, color=plots.TRUTH, lw=1.0, ls="--", label="truth (hidden)")
    style = {  # the peer first, as open diamonds, so that the model's dots stay visible on top
        "linear_interp": {"marker": "D", "ms": 4.5, "mfc": "none", "mew": 1.1, "color": plots.PEERS[0]},
        "tinypulse": {"marker": "o", "ms": 3.2, "color": plots.MODEL},
    }
    for key in ("linear_interp", "tinypulse"):
        ax.plot(t[gaps], shown[key][gaps], ls="none", label=f"filled: {names[key]}", **style[key])
    ax.set_ylabel("value (standardised)")
    plots.legend_right(ax)


def imputation(out: Path, seed: int, pulse: TinyPulse, kdd: Any) -> dict[str, Any]:
    """TinyPulse ``impute`` vs linear / seasonal-linear interpolation: KDD-TSAD 135, then noisy data."""
    from tinyts.bench.metrics import acf_period
    from tinyts.bench.peers.imputers import linear_fill, seasonal_linear_fill
    from tinyts.data.windows import sliding_windows

    series = kdd.values[0]
    train = series[: kdd.train_end]
    z = (series - train.mean()) / train.std()
    windows, _ = sliding_windows(z, 512, 251)
    windows = np.array(windows, dtype=np.float64)
    period = acf_period(train)

    def methods(season: int) -> dict[str, Any]:
        return {
            "tinypulse": lambda m: pulse.impute(m[:, None, :])[:, 0],
            "linear_interp": linear_fill,
            "seasonal_linear": lambda m: seasonal_linear_fill(m, season),
        }

    kdd_mse, kdd_s, kdd_shown = _impute_scores(windows, methods(period), seed)
    kdd_shown["truth"] = windows[0]
    noisy, dates = noisy_hourly(24, 512, seed)
    noisy = (noisy - noisy.mean(axis=1, keepdims=True)) / noisy.std(axis=1, keepdims=True)
    noisy_mse, noisy_s, noisy_shown = _impute_scores(noisy, methods(24), seed)
    noisy_shown["truth"] = noisy[0]

    plt = plt_module()
    fig, axes = plt.subplots(2, 1, figsize=(11, 6.2))
    names = {"tinypulse": "TinyPulse", "linear_interp": "linear interpolation"}
    lo, hi = 80, 272  # a stretch of the first window: the markers of the two fills stay apart
    part = {k: v[lo:hi] for k, v in kdd_shown.items()}
    _draw_imputation(axes[0], np.arange(lo, hi), part, names)
    axes[0].set_title(
        f"KDD-TSAD 135 (smooth): points {lo}-{hi} of the first window, 25 % hidden -- "
        f"MSE TinyPulse {kdd_mse['tinypulse'][1]:.4f}, linear {kdd_mse['linear_interp'][1]:.4f}",
        loc="left",
    )
    plots.time_axis(axes[0], np.arange(lo, hi), "time step")
    span = slice(0, 192)
    part = {k: v[span] for k, v in noisy_shown.items()}
    _draw_imputation(axes[1], dates[span].to_numpy(), part, names)
    axes[1].set_title(
        f"Noisy hourly series (synthetic): first 8 days, 25 % hidden -- MSE TinyPulse "
        f"{noisy_mse['tinypulse'][1]:.4f}, linear {noisy_mse['linear_interp'][1]:.4f}",
        loc="left",
    )
    plots.time_axis(axes[1], dates[span].to_numpy())
    fig.suptitle("Imputation: values filled into the hidden points, TinyPulse (blue dots) vs linear (orange)")
    lines = [
        "Seeded hybrid masks (blocks + single points, as in TSPulse's protocol) hide 12.5-50 % of each "
        "window of 512 points; MSE on the hidden points only, standardised values (lower is better). "
        "TinyPulse: `pulse.impute(x)`, zero-shot; the peers are baselines of `tinyts bench imputation`.",
        "",
        f"**Real data: KDD-TSAD 135** ({len(windows)} windows, a smooth and nearly noise-free "
        "physiological signal). Between two close, clean neighbours a straight line is hard to beat:",
        "",
        *_impute_table("KDD-TSAD 135", kdd_mse, kdd_s),
        "",
        _impute_verdict(kdd_mse),
    ]
    if kdd_mse["tinypulse"][0] > kdd_mse["linear_interp"][0]:
        lines += [
            "",
            "Known weakness: where linear interpolation is this good, TinyPulse's fill is worse "
            f"({kdd_mse['tinypulse'][0] / kdd_mse['linear_interp'][0]:.1f}x its MSE at 12.5 %); it does "
            "not fall back to interpolation on easy gaps.",
        ]
    lines += [
        "",
        f"**Where TinyPulse earns its place: noisy data.** {len(noisy)} synthetic hourly series "
        "(daily and weekly cycle, noise of about a third of the daily swing: the shape of load or "
        "traffic data). Interpolation joins two noisy neighbours; TinyPulse fills in the expected shape:",
        "",
        *_impute_table("noisy hourly", noisy_mse, noisy_s),
        "",
        _impute_verdict(noisy_mse),
        "",
        "The same holds on real noisy data in `tinyts bench imputation` (ETTh1, ETTm1: "
        "`benchmarks/imputation.md`). Your own csv: `tinyts impute FILE.csv --plot filled.png`.",
    ]
    return {"plots": [save_fig(fig, out / "imputation.png")], "lines": lines}


# ------------------------------------------------------------------------------------- anomalies
def _pattern_anomalies(seed: int) -> tuple[np.ndarray, np.ndarray, pd.DatetimeIndex]:
    """90 days of a noisy hourly series with three pattern anomalies (frequency, amplitude, flatline)."""
    from tinyts.data.anomalies import inject_anomalies

    x, dates = noisy_hourly(1, 24 * 90, seed + 1)
    series = 10.0 + 3.0 * x[0]
    labels = np.zeros(len(series))
    kinds = ("frequency_change", "amplitude_change", "flatline")
    edges = np.linspace(0.2, 1.0, len(kinds) + 1)
    for k, kind in enumerate(kinds):  # one anomaly of each kind, each in its own stretch
        region = (float(edges[k]), float(edges[k + 1]) - 0.02)
        series, lab = inject_anomalies(
            series, kinds=kind, seed=seed + k, region=region, min_length=24, max_length=48
        )
        labels = np.maximum(labels, lab)
    return series, labels, dates


def _auc_rows(
    values: np.ndarray, labels: np.ndarray, train_end: int, seed: int, pulse: TinyPulse
) -> tuple[list[tuple[str, float, float]], dict[str, np.ndarray]]:
    from sklearn.metrics import average_precision_score

    from tinyts.bench.peers.detectors import diff_score, zscore_score

    detectors = {
        "tinypulse_ensemble": lambda: pulse.anomaly_scores(values[0], mode="ensemble"),
        "zscore": lambda: zscore_score(values, train_end, seed),
        "diff": lambda: diff_score(values, train_end, seed),
    }
    rows, scores = [], {}
    for name, fn in detectors.items():
        t0 = time.perf_counter()
        scores[name] = np.asarray(fn(), dtype=np.float64)
        rows.append((name, float(average_precision_score(labels, scores[name])), time.perf_counter() - t0))
    return rows, scores


def _auc_verdict(rows: list[tuple[str, float, float]]) -> str:
    auc = {m: v for m, v, _ in rows}
    peers = {m: v for m, v in auc.items() if m != "tinypulse_ensemble"}
    best_peer = max(peers, key=lambda m: peers[m])
    return (
        f"Highest AUC-PR here: {_best([(m, v) for m, v, _ in rows], higher=True)}; TinyPulse against the "
        f"best peer ({best_peer}): {_versus(auc['tinypulse_ensemble'], peers[best_peer], higher=True)}."
    )


def anomaly(out: Path, seed: int, pulse: TinyPulse, kdd: Any) -> dict[str, Any]:
    """TinyPulse ``anomaly_scores(mode="ensemble")`` vs z-score and difference detectors, AUC-PR."""
    from tinyts.cli.plots import plot_scores
    from tinyts.data.types import TableSeries

    kdd_rows, kdd_scores = _auc_rows(kdd.values, kdd.labels, kdd.train_end, seed, pulse)
    lab = kdd.labels > 0
    plt = plt_module()
    fig, axes = plt.subplots(3, 1, figsize=(11, 6.0), sharex=True)
    t = np.arange(kdd.n_time)
    for ax in axes:
        plots.shade_runs(ax, t, lab, label="labelled anomaly")
    axes[0].plot(t, kdd.values[0], lw=0.6, color=plots.OBSERVED, label="series")
    axes[0].set_title(f"KDD-TSAD 135: one labelled anomaly of {int(lab.sum())} points (shaded)", loc="left")
    axes[0].set_ylabel("value")
    for ax, (name, color, label) in zip(
        axes[1:],
        (
            ("tinypulse_ensemble", plots.MODEL, "TinyPulse ensemble score"),
            ("diff", plots.PEERS[0], "diff score (peer)"),
        ),
        strict=True,
    ):
        ax.plot(t, kdd_scores[name], lw=0.6, color=color, label=label)
        auc = next(v for m, v, _ in kdd_rows if m == name)
        ax.set_title(f"{label}: AUC-PR {auc:.3f}", loc="left")
        ax.set_ylabel("score")
    for ax in axes:
        plots.legend_right(ax)
    plots.time_axis(axes[2], t)
    fig.suptitle("Anomaly detection on KDD-TSAD 135: the series and two detectors' scores")
    kdd_png = save_fig(fig, out / "anomaly.png")

    series, labels, dates = _pattern_anomalies(seed)
    train_end = int(0.2 * len(series))
    syn_rows, syn_scores = _auc_rows(series[None, :], labels, train_end, seed, pulse)
    table = TableSeries(
        name="sensor",
        values=series[None, :],
        columns=["sensor (synthetic, hourly)"],
        timestamps=np.asarray(dates, dtype="datetime64[ns]"),
        time=pd.Series(dates),
        time_name="date",
        labels=labels,
    )
    auc = next(v for m, v, _ in syn_rows if m == "tinypulse_ensemble")
    from tinyts.tasks.pulse.anomaly import DEFAULT_THRESHOLD, anomaly_flags

    pattern_png = plot_scores(
        out / "anomaly_patterns.png",
        table,
        syn_scores["tinypulse_ensemble"],
        labels=labels,
        threshold=DEFAULT_THRESHOLD,
        flags=anomaly_flags(syn_scores["tinypulse_ensemble"]),
        title=f"Pattern anomalies (faster cycle, changed amplitude, flat-line): TinyPulse's score, "
        f"AUC-PR {auc:.2f}",
    ).name

    header = ["| method | AUC-PR | s |", "|---|---|---|"]
    lines = [
        "AUC-PR of the score against the labels (higher is better; a random score gets about the share "
        'of anomalous points). TinyPulse: `pulse.anomaly_scores(x, mode="ensemble")`, zero-shot; the '
        "peers are baselines of `tinyts bench anomaly`.",
        "",
        f"**Real data: KDD-TSAD 135**: one series of {kdd.n_time} points with one labelled anomaly of "
        f"{int(lab.sum())} points (random score: about {lab.mean():.3f}). The anomaly is a short, sharp "
        "distortion, exactly what the first-difference baseline `diff` looks for:",
        "",
        *header,
        *[f"| {m} | {v:.3f} | {s:.2f} |" for m, v, s in kdd_rows],
        "",
        _auc_verdict(kdd_rows),
        "",
        f"![KDD-TSAD 135]({kdd_png})",
        "",
        "**Where TinyPulse earns its place: anomalies of pattern, not of size.** 90 days of a noisy "
        "hourly series (synthetic, daily and weekly cycle) with three labelled anomalies of 1-2 days "
        "that stay within the normal range of values: the cycle runs faster or slower, its amplitude "
        "changes, the sensor flat-lines. A global z-score and first differences barely see them; a "
        f"model of the normal shape does (random score: about {labels.mean():.3f}):",
        "",
        *header,
        *[f"| {m} | {v:.3f} | {s:.2f} |" for m, v, s in syn_rows],
        "",
        _auc_verdict(syn_rows),
        "",
        "The plot below is the one `tinyts detect FILE.csv --label-col label --plot scores.png` draws.",
    ]
    return {"plots": [kdd_png, pattern_png], "lines": lines}


# ------------------------------------------------------------------------------------- classification
def _gunpoint(data: Path) -> tuple[Any, Any]:
    from tinyts.data.io.ltsf import read_ts

    return read_ts(data / "GunPoint" / "GunPoint_TRAIN.ts"), read_ts(data / "GunPoint" / "GunPoint_TEST.ts")


def classification(out: Path, seed: int, pulse: TinyPulse, data: Path) -> dict[str, Any]:
    """``PulseClassifier`` (hybrid, the default, and frozen) vs 1-NN Euclidean and MiniRocket on GunPoint."""
    from tinyts.bench.peers.classifiers import (
        MiniRocketPeer,
        NearestNeighbourEuclidean,
        warm_up_minirocket,
    )
    from tinyts.cli.plots import confusion, draw_confusion
    from tinyts.tasks.classify.api import PulseClassifier

    train, test = _gunpoint(data)
    X_train, X_test = np.asarray(train.X), np.asarray(test.X)
    # aeon's MiniRocket sets numba's OpenMP thread count, which torch shares: without restoring it, every
    # later torch call runs on NUMBA_NUM_THREADS (all cores) threads (measured: embedding 3-10x slower)
    threads = torch.get_num_threads()
    # aeon compiles MiniRocket's numba functions on their first call after installation (and caches them on
    # disk): compile them before the timings, or the first method timed (the hybrid) carries that cost
    t0 = time.perf_counter()
    warm_up_minirocket()
    torch.set_num_threads(threads)
    warm_up = time.perf_counter() - t0
    rows, preds = [], {}
    for name, clf in (
        ("tinypulse_hybrid", PulseClassifier(pulse, seed=seed)),
        ("tinypulse_frozen", PulseClassifier(pulse, method="frozen", seed=seed)),
        ("nn1_euclidean", NearestNeighbourEuclidean()),
        ("minirocket", MiniRocketPeer(seed)),
    ):
        t0 = time.perf_counter()
        preds[name] = clf.fit(X_train, train.y).predict(X_test)
        rows.append((name, float(np.mean(preds[name] == test.y)), time.perf_counter() - t0))
        torch.set_num_threads(threads)
    classes = sorted(set(train.y))
    plt = plt_module()
    fig, (ax, mat) = plt.subplots(1, 2, figsize=(11, 3.6), gridspec_kw={"width_ratios": [2.2, 1.0]})
    colours = (plots.MODEL, plots.PEERS[0])
    for label, color in zip(classes, colours, strict=False):
        for i, case in enumerate(X_train[train.y == label][:5]):
            ax.plot(case[0], color=color, lw=0.9, alpha=0.8, label=f"class {label}" if i == 0 else None)
    ax.set_title("GunPoint TRAIN: five cases per class", loc="left")
    ax.set_xlabel("time step")
    ax.set_ylabel("value (standardised)")
    ax.legend(loc="upper left", frameon=True, framealpha=0.9)
    acc = rows[0][1]
    counts = confusion(test.y, preds["tinypulse_hybrid"], classes)
    draw_confusion(mat, counts, [f"class {c}" for c in classes], f"TinyPulse hybrid on TEST: {acc:.3f}")
    fig.suptitle("Classification: what the classes look like, and the result on the 150 TEST cases")
    folder = data / "GunPoint"
    acc_of = {m: a for m, a, _ in rows}
    lines = [
        f"GunPoint: {len(X_train)} train / {len(X_test)} test cases of {X_train.shape[-1]} points; "
        "accuracy on TEST (higher is better). `tinypulse_hybrid` is `tinyts.PulseClassifier()` as it "
        "comes (method `hybrid`: frozen TinyPulse features and MiniRocket, each with a ridge "
        "classifier, probabilities averaged; no fine-tuning, seconds); `tinypulse_frozen` is the "
        "TinyPulse features alone. The same from the command line:",
        "",
        "```bash",
        f"tinyts classify fit {folder / 'GunPoint_TRAIN.ts'} --out gunpoint-clf",
        f"tinyts classify predict gunpoint-clf {folder / 'GunPoint_TEST.ts'} --plot confusion.png",
        "```",
        "",
        "| method | accuracy | fit+predict s |",
        "|---|---|---|",
    ]
    lines += [f"| {m} | {a:.3f} | {s:.2f} |" for m, a, s in rows]
    lines += [
        "",
        f"Timed after one untimed MiniRocket fit on tiny data per channel count ({warm_up:.1f} s): numba "
        "compiles MiniRocket's code on its "
        "first use after installation and caches it on disk, a one-time cost that would otherwise fall on "
        "whichever classifier (the hybrid or MiniRocket) ran first.",
        "",
        "Where TinyPulse earns its place: added to MiniRocket, its features move the accuracy "
        f"{_points(acc_of['tinypulse_hybrid'], acc_of['minirocket'])}; alone, against 1-NN Euclidean, "
        f"{_points(acc_of['tinypulse_frozen'], acc_of['nn1_euclidean'])}. Over 20 UCR/UEA problems: "
        "`benchmarks/classification.md`.",
    ]
    return {"plots": [save_fig(fig, out / "classification.png")], "lines": lines}


# ------------------------------------------------------------------------------------- search
def _latency_ms(query: Any, cases: np.ndarray, n: int = 10) -> float:
    """Median wall time of ``query(case)`` over the first ``n`` cases, sent one at a time, in ms."""
    times = []
    for case in cases[:n]:
        t0 = time.perf_counter()
        query(case)
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def shifted(cases: np.ndarray, max_share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Every case moved in time by a random whole number of points within ``+-max_share`` of its length.

    The vacated end repeats the edge value (no wrap-around). Returns the moved cases and the shifts.
    """
    rng = np.random.default_rng(seed)
    n_t = cases.shape[-1]
    k = max(1, int(max_share * n_t))
    shifts = rng.integers(-k, k + 1, len(cases))
    out = np.empty_like(cases)
    for i, s in enumerate(shifts):
        padded = np.pad(cases[i], [(0, 0)] * (cases.ndim - 2) + [(k, k)], mode="edge")
        out[i] = padded[..., k - s : k - s + n_t]
    return out, shifts


def search(out: Path, seed: int, pulse: TinyPulse, data: Path) -> dict[str, Any]:
    """``SimilarityIndex`` over GunPoint TRAIN, queried with TEST as is and moved in time."""
    from tinyts.tasks.search.retrieve import SimilarityIndex

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
    moved, shifts = shifted(X_test, MAX_SHIFT, seed)
    moved_hits = index.search(moved, k=1)
    raw_moved = raw.search_vectors(moved.reshape(len(moved), -1), k=1)
    found = {"tinypulse_embedding": hits.positions[:, 0], "raw_euclidean": raw_hits.positions[:, 0]}
    found_moved = {
        "tinypulse_embedding": moved_hits.positions[:, 0],
        "raw_euclidean": raw_moved.positions[:, 0],
    }
    latency = {
        "tinypulse_embedding": _latency_ms(lambda c: index.search(c, k=3), X_test),
        "raw_euclidean": _latency_ms(lambda c: raw.search_vectors(c.ravel(), k=1), X_test),
    }
    total = {"tinypulse_embedding": batch_s, "raw_euclidean": raw_s}
    same = {m: float(np.mean(y_train[pos] == y_test)) for m, pos in found.items()}
    same_moved = {m: float(np.mean(y_train[pos] == y_test)) for m, pos in found_moved.items()}
    rows = [(m, same[m], same_moved[m], latency[m], total[m]) for m in found]

    # the query whose raw nearest neighbour flips class when moved (if any) shows the difference
    flips = np.flatnonzero(
        (y_train[found_moved["raw_euclidean"]] != y_test)
        & (y_train[found_moved["tinypulse_embedding"]] == y_test)
    )
    q = int(flips[0]) if len(flips) else seed % len(X_test)
    plt = plt_module()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    left.plot(X_test[q, 0], color=plots.OBSERVED, lw=2.0, label=f"query: TEST #{q} (class {y_test[q]})")
    for r in range(3):
        p = int(hits.positions[q, r])
        left.plot(
            X_train[p, 0],
            lw=1.0,
            color=(plots.MODEL, plots.PEERS[1], plots.PEERS[2])[r],
            label=f"hit {r + 1}: class {y_train[p]}, d={hits.distances[q, r]:.2f}",
        )
    left.set_title("A query and its 3 nearest TRAIN series (TinyPulse)", loc="left")
    left.legend(loc="upper left", framealpha=0.9, fontsize=7)
    p_tp, p_raw = int(found_moved["tinypulse_embedding"][q]), int(found_moved["raw_euclidean"][q])
    right.plot(moved[q, 0], color=plots.OBSERVED, lw=2.0, label=f"query moved by {int(shifts[q])} points")
    right.plot(X_train[p_tp, 0], color=plots.MODEL, lw=1.0, label=f"TinyPulse's hit: class {y_train[p_tp]}")
    right.plot(
        X_train[p_raw, 0],
        color=plots.PEERS[0],
        lw=1.0,
        ls="--",
        label=f"raw Euclidean's hit: class {y_train[p_raw]}",
    )
    right.set_title(f"The same query moved in time (true class {y_test[q]})", loc="left")
    right.legend(loc="upper left", framealpha=0.9, fontsize=7)
    for ax in (left, right):
        ax.set_xlabel("time step")
    left.set_ylabel("value (standardised)")
    fig.suptitle("Similarity search on GunPoint: nearest neighbours by TinyPulse embedding")
    lines = [
        f"`tinyts.SimilarityIndex(pulse).add(X, ids)` on the {len(X_train)} GunPoint TRAIN series "
        f"(embedded and indexed in {build_s:.2f} s, exact search), queried with the {len(X_test)} TEST "
        "series: the share of queries whose nearest neighbour has the query's class (higher is better). "
        "The peer searches the raw series with the same exact engine. Latency: median of 10 queries "
        "sent one at a time, embedding included for TinyPulse (16 shifted forward passes).",
        "",
        f"**Where TinyPulse earns its place: series that are not aligned.** GunPoint's cases are cut "
        "to line up, which suits a point-by-point distance; in the second column every query is moved "
        f"in time by up to {MAX_SHIFT:.0%} of its length ({int(MAX_SHIFT * X_test.shape[-1])} points, edge "
        "values repeated), as when events are cut from a stream:",
        "",
        "| method | same class | same class, queries moved | ms per query | all queries s |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {m} | {a:.3f} | {b:.3f} | {ms:.2f} | {s:.2f} |" for m, a, b, ms, s in rows]
    ours, peer = "tinypulse_embedding", "raw_euclidean"
    lines += [
        "",
        "Same-class share, TinyPulse against raw Euclidean: aligned queries "
        f"{_points(same[ours], same[peer])}; moved queries {_points(same_moved[ours], same_moved[peer])}. "
        f"Raw Euclidean is about {latency[ours] / max(latency[peer], 1e-9):.0f}x faster per query, since "
        "it embeds nothing.",
    ]
    return {"plots": [save_fig(fig, out / "search.png")], "lines": lines}


# ------------------------------------------------------------------------------------- forecasting
def forecast(out: Path, seed: int, cast: TinyCast, data: Path) -> dict[str, Any]:
    """TinyCast median and 80 % band vs seasonal-naive and naive on Airline, last 24 months held out."""
    from tinyts.cli.plots import plot_forecast

    df = pd.read_csv(data / "Airline" / "Airline.csv")
    dates = pd.to_datetime(df.iloc[:, 0], format="%Y-%m").to_numpy()
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
    png = plot_forecast(
        out / "forecast.png",
        history[None],
        median[None],
        lo[None],
        hi[None],
        history_time=dates[:-h],
        future_time=dates[-h:],
        truth=future[None],
        others={"seasonal naive (peer)": seasonal[None]},
        max_history=72,
        title="Airline passengers: the last 6 years, TinyCast's forecast of the last 2 (held out), zero-shot",
        value_label="passengers (thousands)",
    )
    mae = dict(rows)
    lines = [
        f"Monthly Airline passengers (thousands), 1949-1960: {len(history)} months of history, {h} "
        "held out; MAE in thousands of passengers (lower is better). TinyCast: "
        "`tinycast.forecast(history, horizon=24, quantiles=(0.1, 0.5, 0.9))`, zero-shot, "
        f"{cast_s:.2f} s; from the command line: `tinyts forecast FILE.csv --horizon 24 --plot fc.png`.",
        "",
        "| method | MAE (thousands) |",
        "|---|---|",
    ]
    lines += [f"| {n} | {v:.1f} |" for n, v in rows]
    lines += [
        "",
        "Where TinyCast earns its place: a trend on top of a season, which seasonal naive (last year "
        "repeated) cannot follow: TinyCast's median is "
        f"{_versus(mae['tinycast_median'], mae['seasonal_naive'], higher=False)} in MAE. Its band is "
        f"{_band_verdict(coverage)} here: {coverage:.0%} of the held-out months fall inside the 10-90 % "
        "band (nominal 80 %). Over 3,225 M3/NN3/NN5 series: `benchmarks/forecasting_broad`.",
    ]
    return {"plots": [png.name], "lines": lines}


def _band_verdict(coverage: float) -> str:
    """How a 10-90 % band's coverage compares with its nominal 80 % (24 months: a few months either way)."""
    if coverage < 0.7:
        return "too narrow"
    if coverage > 0.9:
        return "too wide"
    return "about right"
