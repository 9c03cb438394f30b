"""``anomaly``: the TSB-AD protocol (VUS-PR, AUC-PR) over every labelled series of the data folder.

Protocol (TSB-AD 1.5, ``TSB_AD/main.py`` and ``benchmark_exp/Run_Detector_U.py`` / ``_M.py``):

1. the series' values, rows with a NaN dropped (TSB-AD reads its csv with ``dropna()``);
2. metric window = ``find_length_rank(first channel, rank=1)`` (ACF period in 3..300, else 125);
3. numpy, ``random`` and torch seeded with 2024 before each detector;
4. the detector's score min-max scaled to [0, 1];
5. ``TSB_AD.evaluation.metrics.get_metrics(score, labels, slidingWindow=window,
   pred=score > mean + 3 std)``; VUS-PR and AUC-PR are reported (both threshold-free).

Detectors are :data:`tinyts.bench.peers.detectors.DETECTORS` (method name -> function with one
signature); later tinyts models join by adding an entry there or to :data:`METHODS` here.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinyts.bench.core import BenchContext, Row, SuiteResult, timer
from tinyts.bench.ours import OTHER_HEAD_SCALE, PULSE_DETECTORS, PULSE_MODES, pulse_finetuned, triangulate
from tinyts.bench.peers.detectors import (
    BASELINES,
    DETECTORS,
    TSB_AD_SEED,
    Detector,
    NotApplicable,
    seed_everything,
    tsb_ad_window,
)
from tinyts.bench.pulse_reference import REF_MAX_POINTS, reference_detector

NAME = "anomaly"
DESCRIPTION = (
    "TSB-AD protocol: VUS-PR and AUC-PR (TSB-AD's own metric code) of TSB-AD's Sub-PCA, IForest and "
    "Sub-IForest with their recommended settings and of z-score / diff / random baselines, over every "
    "labelled anomaly series found in the data folder"
)
#: reads the data folder (--data-dir / $TINYTS_DATA)
NEEDS_DATA = True

#: method name -> detector; the suite runs them in this order.
METHODS: dict[str, Detector] = {
    **DETECTORS,
    **PULSE_DETECTORS,
    "tinypulse_ft": pulse_finetuned,
    "tinypulse_ref": reference_detector,
}
#: methods that run only when named with ``-m`` (too slow for the default run)
OPT_IN = ("tinypulse_ref",)

#: ``--quick``: these TSB-AD detectors (plus every baseline) on a few short series.
QUICK_DETECTORS = ("sub_pca", "iforest", *PULSE_DETECTORS)
QUICK_MAX_SERIES = 3
QUICK_MAX_LEN = 20_000

METRIC_KEYS = {"vus_pr": "VUS-PR", "auc_pr": "AUC-PR"}


@dataclass
class _Loaded:
    name: str
    family: str
    values: np.ndarray
    labels: np.ndarray
    train_end: int | None
    n_dropped: int


def _load_all(ctx: BenchContext, result: SuiteResult) -> list[_Loaded]:
    from tinyts.data.io.discover import find_anomaly

    out: list[_Loaded] = []
    for source in find_anomaly(ctx.data_dir):
        if not (ctx.wants(source.name) or ctx.wants(source.family)):
            continue
        try:
            series = source.load()
        except (ValueError, OSError) as exc:
            result.skip(source.name, f"could not be read: {exc}")
            continue
        values = np.asarray(series.values, dtype=np.float64)
        labels = np.asarray(series.labels).astype(np.int64)
        keep: np.ndarray = np.asarray(np.isfinite(values).all(axis=0))
        n_dropped = int((~keep).sum())
        values, labels = values[:, keep], labels[keep]
        if labels.sum() == 0:
            result.skip(series.name, f"no labelled anomalies ({series.family}, {len(labels)} points)")
            continue
        if labels.sum() == len(labels):
            result.skip(series.name, "every point is labelled anomalous: PR metrics are undefined")
            continue
        train_end = series.train_end
        if train_end is not None and n_dropped:
            train_end = int(keep[:train_end].sum())
        out.append(_Loaded(series.name, series.family, values, labels, train_end, n_dropped))
    return out


def _quick_subset(series: list[_Loaded], result: SuiteResult) -> list[_Loaded]:
    """The shortest series of each family (at most QUICK_MAX_LEN points), shortest first."""
    shortest: dict[str, _Loaded] = {}
    for s in sorted(series, key=lambda s: (len(s.labels), s.name)):
        if len(s.labels) <= QUICK_MAX_LEN and s.family not in shortest:
            shortest[s.family] = s
    chosen = sorted(shortest.values(), key=lambda s: (len(s.labels), s.name))[:QUICK_MAX_SERIES]
    names = {s.name for s in chosen}
    left = [s.name for s in series if s.name not in names]
    if left:
        result.skip(f"{len(left)} series", "not in the --quick subset: " + ", ".join(left))
    return chosen


def _methods(ctx: BenchContext, result: SuiteResult) -> list[str]:
    names = [m for m in METHODS if ctx.wants_method(m)]
    if not ctx.methods:
        names = [m for m in names if m not in OPT_IN]
        result.skip(
            "tinypulse_ref",
            "opt-in: TSPulse's stride-1 scoring procedure with TinyPulse weights runs only with "
            "`-m tinypulse_ref` (about 14 ms per point and channel on one core)",
        )
    if ctx.quick:
        names = [m for m in names if m in QUICK_DETECTORS or m in BASELINES]
    return names


def _minmax(score: np.ndarray) -> np.ndarray:
    lo, hi = float(score.min()), float(score.max())
    if hi <= lo:
        return np.zeros_like(score)
    return (score - lo) / (hi - lo)


def evaluate_score(score: np.ndarray, labels: np.ndarray, window: int) -> dict[str, float]:
    """TSB-AD's metrics of one score: min-max scaled, then ``get_metrics`` with TSB-AD's threshold."""
    from TSB_AD.evaluation.metrics import get_metrics

    scaled = _minmax(np.asarray(score, dtype=np.float64))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns about ill-defined F1 when nothing is predicted
        metrics = get_metrics(
            scaled, labels.astype(int), slidingWindow=window, pred=scaled > scaled.mean() + 3 * scaled.std()
        )
    return {key: float(metrics[name]) for key, name in METRIC_KEYS.items()}


def _score_series(s: _Loaded, methods: Iterable[str], result: SuiteResult) -> dict[str, float]:
    """Run every method on one series, add its rows; returns method -> VUS-PR."""
    window = tsb_ad_window(s.values)
    vus: dict[str, float] = {}
    for method in methods:
        case = f"{s.name} / {method}"
        seed_everything(TSB_AD_SEED)
        try:
            with timer() as t:
                score = METHODS[method](s.values, s.train_end, TSB_AD_SEED)
        except NotApplicable as exc:
            result.skip(case, str(exc))
            continue
        except Exception as exc:  # a peer failing on one series must not stop the run; it is recorded
            result.skip(case, f"detector failed: {type(exc).__name__}: {exc}")
            continue
        score = np.asarray(score, dtype=np.float64).ravel()
        if score.shape != s.labels.shape or not np.isfinite(score).all():
            result.skip(case, f"detector returned {score.shape[0]} scores, not {len(s.labels)} finite ones")
            continue
        metrics = evaluate_score(score, s.labels, window)
        extra: dict[str, Any] = {"family": s.family}
        result.add(
            Row(s.name, method, "vus_pr", metrics["vus_pr"], t[0], dict(extra)),
            Row(s.name, method, "auc_pr", metrics["auc_pr"], None, dict(extra)),
        )
        vus[method] = metrics["vus_pr"]
    return vus


def _mean_notes(result: SuiteResult, channels: dict[str, int]) -> list[str]:
    """Per-family, univariate, multivariate and overall means of each metric and method."""
    notes: list[str] = []
    for metric, label in METRIC_KEYS.items():
        groups: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        for row in result.rows:
            if row.metric != metric:
                continue
            fam = str(row.extra["family"])
            kind = "univariate" if channels[row.dataset] == 1 else "multivariate"
            for group in (f"family {fam}", f"all {kind}", "all series"):
                groups[group][row.method].append(row.value)
        order = sorted(g for g in groups if g.startswith("family ")) + [
            g for g in ("all univariate", "all multivariate", "all series") if g in groups
        ]
        for group in order:
            parts = [f"{m} {np.mean(v):.3f} (n={len(v)})" for m, v in groups[group].items()]
            notes.append(f"Mean {label}, {group}: " + ", ".join(parts))
    return notes


def _add_triangulation(
    result: SuiteResult, vus: dict[str, dict[str, float]], families: dict[str, str]
) -> None:
    """``tinypulse_tri``: per series, the TinyPulse mode that scored best on the rest of its family."""
    # the five documented modes; the opt-in boost and views are rows of their own, never a choice here
    modes = tuple(
        m
        for m in PULSE_DETECTORS
        if m not in ("tinypulse_boost", "tinypulse_tta", f"tinypulse_{OTHER_HEAD_SCALE}")
        and any(m in v for v in vus.values())
    )
    if len(modes) < 2:
        return
    ensemble_first = ("tinypulse", *[m for m in modes if m != "tinypulse"]) if "tinypulse" in modes else modes
    chosen = triangulate(vus, families, ensemble_first)
    by_key = {(r.dataset, r.method, r.metric): r for r in result.rows}
    for name, mode in chosen.items():
        for metric in ("vus_pr", "auc_pr"):
            row = by_key.get((name, mode, metric))
            if row is not None:
                extra = {**row.extra, "mode": PULSE_MODES[mode]}
                result.add(Row(name, "tinypulse_tri", metric, row.value, row.seconds, extra))
    result.notes.append(
        "`tinypulse_tri` (triangulation): for each series, the TinyPulse mode (time, fft, forecast, "
        "ensemble by max or ensemble by mean) with the best mean VUS-PR on the other labelled series "
        "of the same family (leave-one-out, so a series' own labels never choose its mode); a family "
        "of one series uses the ensemble. The chosen mode is the row's `mode` field."
    )


def _reference_note(result: SuiteResult, sizes: dict[str, int]) -> list[str]:
    """One-pass TinyPulse scoring against the reference procedure on the series where both ran."""
    vus: dict[str, dict[str, float]] = defaultdict(dict)
    secs: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in result.rows:
        if row.metric == "vus_pr":
            vus[row.dataset][row.method] = row.value
            if row.seconds is not None and row.method.startswith("tinypulse"):
                # the zero-shot modes share one computation, timed on whichever mode ran first
                key = (
                    "tinypulse_ref"
                    if row.method == "tinypulse_ref"
                    else ("one_pass" if row.method in PULSE_DETECTORS else row.method)
                )
                secs[row.dataset][key] += row.seconds
    both = [d for d in vus if "tinypulse_ref" in vus[d] and "tinypulse" in vus[d]]
    if not both:
        return []
    points = sum(sizes[d] for d in both)
    t_ref = sum(secs[d]["tinypulse_ref"] for d in both)
    t_one = sum(secs[d]["one_pass"] for d in both)
    v_ref = float(np.mean([vus[d]["tinypulse_ref"] for d in both]))
    v_one = float(np.mean([vus[d]["tinypulse"] for d in both]))
    return [
        f"Reference procedure vs one-pass scoring, same weights, {len(both)} series ({points} points x "
        f"channels): mean VUS-PR tinypulse_ref {v_ref:.3f}, tinypulse (ensemble) {v_one:.3f}; time "
        f"{t_ref:.1f} s ({points / t_ref:.0f} points/s) vs {t_one:.1f} s for every zero-shot mode together "
        f"({points / max(t_one, 1e-9):.0f} points/s), {t_ref / max(t_one, 1e-9):.1f}x faster."
    ]


def run(ctx: BenchContext) -> SuiteResult:
    """Run the anomaly suite on ``ctx.data_dir``."""
    result = SuiteResult()
    series = _load_all(ctx, result)
    if ctx.quick:
        series = _quick_subset(series, result)
    methods = _methods(ctx, result)
    described = []
    vus: dict[str, dict[str, float]] = {}
    for s in series:
        vus[s.name] = _score_series(s, methods, result)
        described.append(
            f"{s.name} [{s.family}] {len(s.labels)}x{s.values.shape[0]}, "
            f"{100 * s.labels.mean():.2f}% anomalous, window {tsb_ad_window(s.values)}"
            + (f", {s.n_dropped} NaN rows dropped" if s.n_dropped else "")
        )
    channels = {s.name: int(s.values.shape[0]) for s in series}
    _add_triangulation(result, vus, {s.name: s.family for s in series})
    result.notes += [
        "Protocol: TSB-AD 1.5 (`TSB_AD/main.py`, `benchmark_exp/Run_Detector_U.py`/`_M.py`): rows with NaN "
        "dropped; metric window = `find_length_rank(first channel, rank=1)`; numpy/random/torch seeded with "
        f"{TSB_AD_SEED} before each detector; score min-max scaled; `get_metrics(score, label, window, "
        "pred=score > mean+3std)`; VUS-PR and AUC-PR reported. The full length of every series is scored "
        "(no cropping or subsampling), the same for every method. `--seed` does not apply: the protocol "
        f"fixes every seed to {TSB_AD_SEED}.",
        "Detectors: univariate series use `Optimal_Uni_algo_HP_dict` (Sub_PCA periodicity 1 = ACF-period "
        "window, n_components None; IForest window 100, 200 trees; Sub_IForest ACF-period window, 150 "
        "trees); multivariate series use `Optimal_Multi_algo_HP_dict` (PCA window 100, n_components 0.25, "
        "reported as `sub_pca`; IForest window 100, 25 trees, max_features 0.8); Sub_IForest has no "
        "multivariate setting and is recorded as skipped there. TSB-AD's `run_<name>` functions are called "
        "directly (not through `run_Unsupervise_AD`, which hides errors).",
        "Baselines: `zscore` = |x-mean|/std per channel, max over channels; `diff` = |x_t - x_(t-1)| / "
        "std of the channel's differences, max over channels; `random` = uniform noise (seed "
        f"{TSB_AD_SEED}), whose scores sit near the anomaly ratio.",
        "Rows: one `vus_pr` and one `auc_pr` row per (series, method), extra key `family`; the `seconds` "
        "field (detector wall time, metric excluded) is on the `vus_pr` row only. Family, univariate, "
        "multivariate and overall means are the notes below (mean over the series each method ran on, "
        "n shown); the tables' mean lines are per family over series where every method has a value.",
        "`tinypulse*` modes: `tinyts.tasks.pulse.anomaly` with its defaults (one pass: blocks of 64, 2 mask "
        "groups, 96-point window scores; multichannel: each channel standardised, max over channels, "
        "channels with at most two distinct values left out when another channel has more, "
        "`binary='skip'`).",
        "`tinypulse_boost`: the default ensemble plus the opt-in extreme-point boost "
        "(`anomaly_scores(..., boost=1)`: points whose squared error is far above the series' own 99th "
        "percentile, every head agreeing, lifted over busy windows; not a triangulation candidate).",
        f"`tinypulse_{OTHER_HEAD_SCALE}`: the default ensemble with the other head scaling "
        f"(`anomaly_scores(..., head_scale='{OTHER_HEAD_SCALE}')`: heads put on one scale by "
        + (
            "their robust z (median and MAD over the points each scores)"
            if OTHER_HEAD_SCALE == "robust"
            else "min-max"
        )
        + " before the max; not a triangulation candidate).",
        "`tinypulse_tta`: the default ensemble from errors with the test-time views (`anomaly_scores(..., "
        "tta=True)`: each head's output averaged over the window, its negation, its time reversal and "
        "both, the forecast head over the first two; about 4x the model calls; not a triangulation "
        "candidate).",
        "`tinypulse_ref` (opt-in): TSPulse's own scoring procedure (stride-1 windows, each copied once per "
        "patch of its last 96 points with that patch hidden; window MSE; 1-step forecast error; per-mode "
        "min-max, moving average of 8 on time/fft, max ensemble) run with the same TinyPulse weights, on "
        f"series of at most {REF_MAX_POINTS} points x channels: the accuracy and cost reference for "
        "`tinypulse`'s one-pass scoring.",
    ]
    if ctx.quick:
        result.notes.append(
            f"--quick: the shortest series of each family (at most {QUICK_MAX_LEN} points), at most "
            f"{QUICK_MAX_SERIES} series; TSB-AD detectors {', '.join(QUICK_DETECTORS)} plus the baselines."
        )
    result.notes += _mean_notes(result, channels)
    result.notes += _reference_note(result, {s.name: s.values.size for s in series})
    if described:
        result.notes.append("Series scored: " + "; ".join(described))
    return result
