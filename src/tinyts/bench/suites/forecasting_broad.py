"""``forecasting_broad``: one zero-shot forecast per series on every Monash ``.tsf`` file and M4 pair.

Protocol (the M3/M4/Monash convention): each series is forecast once, from the end of its training
part, over the official horizon (``@horizon`` of the ``.tsf`` file, whose lines hold whole series so
the test part is the last ``horizon`` points; the M4 horizon per frequency for M4 pairs). Series with
fewer than 3 training points are dropped (counted in the notes). Missing values (NaN) inside a
training part are filled by linear interpolation (nearest value at the ends) for every method, since
the statsforecast models cannot take NaN; missing values inside a test part are skipped when scoring
and counted in the notes.

Seasonal period P: :func:`tinyts.data.io.forecast.seasonal_period` (Monash convention for ``.tsf``:
hourly 24, daily 7, weekly 52, monthly 12, quarterly 4, yearly and unknown 1; M4 convention for M4:
weekly and daily 1). Every method gets ``season_length = P``.

Metrics per dataset and method:

- ``mase``: mean over series of MAE / the in-sample seasonal naive MAE of the (unfilled) training
  part at lag P (lag 1 when the training part has no more than P points); a series whose scale is 0
  is left out of the mean and counted in the notes.
- ``wql``: weighted quantile loss over the levels 0.1 ... 0.9, as Chronos reports it: per level
  ``2 * sum(pinball) / sum(|y|)`` over all series and steps of the dataset, averaged over levels.
- ``smape``: the M3/M4 sMAPE ``200 |y - f| / (|y| + |f|)`` averaged over steps then series (only for
  the sanity check against published statsforecast M3 figures).
- ``rel_mase`` / ``rel_wql``: the score divided by seasonal naive's on the same dataset.
- ``dataset = "all"``: ``gmean_rel_mase`` / ``gmean_rel_wql``, the geometric mean of the relative
  scores over the datasets (extra key ``n_datasets``).

``seconds`` of a ``mase`` row is the method's fit + predict time on that dataset (an untimed warm-up
call on a synthetic series comes first, so JIT compilation and lazy loading are not counted).
``--quick``: a seeded subset of at most :data:`QUICK_SERIES` series per dataset.
"""

from __future__ import annotations

import math
import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinyts.bench.core import BenchContext, Row, SuiteResult, timer
from tinyts.bench.metrics import QUANTILES, crps_quantiles
from tinyts.bench.ours import cast_forecaster
from tinyts.bench.peers.forecasters import (
    FORECASTERS,
    STATSFORECAST_PEERS,
    ForecastFn,
    ForecastOutput,
    ForecastSetup,
)
from tinyts.bench.resample import add_bootstrap_rows
from tinyts.data.io.discover import ForecastArchive, find_forecast_archives
from tinyts.data.io.forecast import M4Data, TsfData, seasonal_period

NAME = "forecasting_broad"
DESCRIPTION = (
    "Zero-shot forecasting on short-series archives (Monash .tsf: M3, NN3, NN5; M4 csv pairs): one "
    "forecast per series over the official horizon; MASE and WQL relative to seasonal naive, geometric "
    "mean over datasets; statsforecast AutoETS/AutoARIMA/AutoTheta/CES, fracast and tinycast"
)
#: reads the data folder (--data-dir / $TINYTS_DATA)
NEEDS_DATA = True

#: method name -> factory; the suite runs them in this order (seasonal naive first: the reference).
METHODS: dict[str, Callable[[ForecastSetup], ForecastFn]] = {
    **STATSFORECAST_PEERS,
    "fracast": FORECASTERS["fracast"],
    "tinycast": cast_forecaster,
}
REFERENCE = "seasonal_naive"
#: ``--quick``: at most this many series per dataset (a seeded random subset).
QUICK_SERIES = 100
#: series with fewer training points are dropped
MIN_TRAIN = 3


@dataclass
class BroadData:
    """One dataset ready to forecast.

    Attributes
    ----------
    name : str
        ``m3_yearly``, ``m4_hourly``...
    train : list of np.ndarray
        Training parts as read (NaN kept: the MASE scale uses them).
    filled : list of np.ndarray
        Training parts with NaN filled (what every method sees).
    test : list of np.ndarray
        Test parts (length ``horizon``; NaN skipped in scoring).
    horizon, period : int
        Official horizon and seasonal period.
    frequency : str or None
        As read.
    n_total : int
        Series in the file (before ``--quick`` subsetting and dropping).
    dropped : int
        Series dropped for fewer than :data:`MIN_TRAIN` training points.
    filled_points : int
        NaN filled in the training parts.
    """

    name: str
    train: list[np.ndarray]
    filled: list[np.ndarray]
    test: list[np.ndarray]
    horizon: int
    period: int
    frequency: str | None
    n_total: int
    dropped: int = 0
    filled_points: int = 0
    names: list[str] = field(default_factory=list)

    @property
    def test_missing(self) -> int:
        """NaN inside the test parts (skipped in scoring)."""
        return int(sum(int(np.isnan(t).sum()) for t in self.test))

    def describe(self) -> str:
        lengths = [len(t) for t in self.train]
        miss_series = sum(1 for t in self.test if np.isnan(t).any())
        return (
            f"{self.name}: {len(self.train)} series scored (of {self.n_total} in the file"
            + (f"; {self.dropped} dropped for < {MIN_TRAIN} training points" if self.dropped else "")
            + f"), frequency {self.frequency}, horizon {self.horizon}, season length {self.period}, "
            f"training length {min(lengths)} / {int(np.median(lengths))} / {max(lengths)} "
            f"(min / median / max); {self.filled_points} missing training values filled; "
            f"{self.test_missing} missing test values in {miss_series} series skipped in scoring"
        )


def fill_missing(y: np.ndarray) -> np.ndarray:
    """Linear interpolation over NaN, the nearest observed value at the ends (all-NaN stays NaN)."""
    y = np.asarray(y, dtype=np.float64)
    nan = np.isnan(y)
    if not nan.any() or nan.all():
        return y.copy()
    idx = np.arange(len(y))
    out = y.copy()
    out[nan] = np.interp(idx[nan], idx[~nan], y[~nan])
    return out


def build_dataset(
    name: str,
    series: list[np.ndarray],
    horizon: int,
    period: int,
    frequency: str | None,
    test: list[np.ndarray] | None = None,
    subset: np.ndarray | None = None,
) -> BroadData:
    """Split (when ``test`` is None: the last ``horizon`` points), drop too-short series, fill NaN.

    Parameters
    ----------
    name : str
        Dataset name.
    series : list of np.ndarray
        Whole series (``test`` None) or training parts.
    horizon, period : int
        Official horizon and seasonal period.
    frequency : str or None
        Recorded for the notes.
    test : list of np.ndarray, optional
        Test parts (M4); their length must be ``horizon``.
    subset : np.ndarray, optional
        Indices of the series to keep (``--quick``).
    """
    n_total = len(series)
    keep = range(n_total) if subset is None else [int(i) for i in subset]
    trains, tests, kept = [], [], []
    dropped = 0
    for i in keep:
        s = np.asarray(series[i], dtype=np.float64)
        if test is None:
            tr, te = s[:-horizon], s[-horizon:]
        else:
            tr, te = s, np.asarray(test[i], dtype=np.float64)
            if len(te) != horizon:
                raise ValueError(f"{name}: series {i} has {len(te)} test values, expected {horizon}")
        if len(te) < horizon or int(np.sum(~np.isnan(tr))) < MIN_TRAIN:
            dropped += 1
            continue
        trains.append(tr)
        tests.append(te)
        kept.append(i)
    filled = [fill_missing(t) for t in trains]
    return BroadData(
        name=name,
        train=trains,
        filled=filled,
        test=tests,
        horizon=horizon,
        period=period,
        frequency=frequency,
        n_total=n_total,
        dropped=dropped,
        filled_points=int(sum(int(np.isnan(t).sum()) for t in trains)),
        names=[str(i) for i in kept],
    )


def _subset(n: int, quick: bool, seed: int) -> np.ndarray | None:
    if not quick or n <= QUICK_SERIES:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, size=QUICK_SERIES, replace=False))


def load_archive(archive: ForecastArchive, quick: bool, seed: int) -> BroadData:
    """Read a found archive and build its :class:`BroadData` (ValueError with the reason if unusable)."""
    data = archive.load()
    if isinstance(data, TsfData):
        if data.horizon is None:
            raise ValueError("the .tsf file has no @horizon line, so no official test part")
        period = seasonal_period(data.frequency, "monash")
        sub = _subset(len(data.series), quick, seed)
        out = build_dataset(archive.name, data.series, data.horizon, period, data.frequency, subset=sub)
    else:
        assert isinstance(data, M4Data)
        if data.test is None:
            raise ValueError("no M4 test file beside the training file")
        if data.horizon is None:
            raise ValueError("unknown M4 frequency, so no official horizon")
        sub = _subset(len(data.train), quick, seed)
        out = build_dataset(
            archive.name, data.train, data.horizon, data.seasonal_period, data.frequency, data.test, sub
        )
    if not out.train:
        raise ValueError(f"no series with at least {MIN_TRAIN} training points and a full test part")
    return out


# ------------------------------------------------------------------------------------------ metrics
def series_scale(train: np.ndarray, period: int) -> float:
    """In-sample seasonal naive MAE at lag ``period`` (lag 1 if <= period points); NaN pairs skipped."""
    y = np.asarray(train, dtype=np.float64)
    m = period if len(y) > period else 1
    if len(y) <= m:
        return float("nan")
    d = np.abs(y[m:] - y[:-m])
    d = d[np.isfinite(d)]
    return float(d.mean()) if d.size else float("nan")


def series_mase(data: BroadData, points: list[np.ndarray]) -> np.ndarray:
    """Each series' MASE (:func:`score`'s terms, in the order of ``data``): ``(n_series,)``.

    NaN for a series left out of MASE (no observed test point, or a zero or undefined scale).
    """
    out = np.full(len(data.test), np.nan)
    for i, (tr, te, p) in enumerate(zip(data.train, data.test, points, strict=True)):
        ok = ~np.isnan(te)
        scale = series_scale(tr, data.period)
        if ok.any() and np.isfinite(scale) and scale > 0:
            out[i] = float(np.abs(te[ok] - p[ok]).mean() / scale)
    return out


def score(
    data: BroadData, points: list[np.ndarray], quants: list[np.ndarray]
) -> tuple[dict[str, float], dict[str, int]]:
    """MASE, WQL and sMAPE of one method on one dataset, with counts of what was left out.

    Parameters
    ----------
    data : BroadData
        The dataset (training parts for the MASE scale, test parts).
    points : list of np.ndarray
        ``(horizon,)`` point forecast per series.
    quants : list of np.ndarray
        ``(horizon, 9)`` quantiles per series.

    Returns
    -------
    (dict, dict)
        ``{"mase", "wql", "smape"}`` and ``{"zero_scale": series left out of MASE,
        "missing_test": test points skipped}``.
    """
    per_series = series_mase(data, points)
    mase_terms = [float(v) for v in per_series if np.isfinite(v)]
    smape_terms: list[float] = []
    zero_scale = missing = 0
    ys: list[np.ndarray] = []  # observed test points of every series, and their quantiles
    qs: list[np.ndarray] = []
    for tr, te, p, q in zip(data.train, data.test, points, quants, strict=True):
        ok = ~np.isnan(te)
        missing += int((~ok).sum())
        if not ok.any():
            continue
        y, f, qq = te[ok], p[ok], q[ok]
        err = np.abs(y - f)
        scale = series_scale(tr, data.period)
        if not np.isfinite(scale) or scale <= 0:
            zero_scale += 1
        denom = np.abs(y) + np.abs(f)
        smape_terms.append(
            float(np.mean(np.where(denom > 0, 200.0 * err / np.where(denom > 0, denom, 1.0), 0.0)))
        )
        ys.append(y)
        qs.append(qq)
    y_all = np.concatenate(ys) if ys else np.zeros(0)
    # WQL sums over every point of the dataset: the series' observed points, concatenated
    wql = crps_quantiles(np.concatenate(qs), y_all) if np.abs(y_all).sum() > 0 else float("nan")
    return (
        {
            "mase": float(np.mean(mase_terms)) if mase_terms else float("nan"),
            "wql": wql,
            "smape": float(np.mean(smape_terms)) if smape_terms else float("nan"),
        },
        {"zero_scale": zero_scale, "missing_test": missing},
    )


def gmean(values: list[float]) -> float:
    """Geometric mean of positive finite values (NaN when there are none)."""
    v = np.asarray([x for x in values if np.isfinite(x) and x > 0], dtype=np.float64)
    return float(np.exp(np.log(v).mean())) if v.size else float("nan")


# ----------------------------------------------------------------------------------------- forecasting
def forecast_dataset(fn: ForecastFn, data: BroadData) -> tuple[list[np.ndarray], list[np.ndarray], float]:
    """Forecast every series (grouped by training length, one call per group); (points, quantiles, seconds).

    A method without quantiles gets its point forecast at every level.
    """
    h = data.horizon
    groups: dict[int, list[int]] = defaultdict(list)
    for i, t in enumerate(data.filled):
        groups[len(t)].append(i)
    points: list[np.ndarray] = [np.empty(0)] * len(data.filled)
    quants: list[np.ndarray] = [np.empty(0)] * len(data.filled)
    seconds = 0.0
    for length in sorted(groups):
        idx = groups[length]
        ctx = np.stack([data.filled[i] for i in idx])
        with timer() as clock:
            out: ForecastOutput = fn(ctx, h)
        seconds += clock[0]
        if out.point.shape != (len(idx), h) or not np.all(np.isfinite(out.point)):
            raise ValueError(
                f"returned point forecasts of shape {out.point.shape} (expected {(len(idx), h)}) "
                f"or non-finite values, for training length {length}"
            )
        q = out.quantiles
        if q is None:
            q = np.repeat(out.point[..., None], len(QUANTILES), axis=-1)
        if q.shape != (len(idx), h, len(QUANTILES)) or not np.all(np.isfinite(q)):
            raise ValueError(f"returned quantiles of shape {q.shape} or non-finite values")
        for k, i in enumerate(idx):
            points[i] = out.point[k].astype(np.float64)
            quants[i] = q[k].astype(np.float64)
    return points, quants, seconds


def _warm_up(fn: ForecastFn, period: int) -> None:
    """One untimed call on a small synthetic seasonal series (numba JIT, lazy weights)."""
    n = max(3 * period, 30)
    t = np.arange(n, dtype=np.float64)
    y = 10.0 + 0.05 * t + np.sin(2 * np.pi * t / max(period, 2)) + 0.1 * np.cos(t)
    fn(y[None, :], 3)


def evaluate(
    result: SuiteResult,
    data: BroadData,
    method: str,
    factory: Callable[[ForecastSetup], ForecastFn],
    ctx: BenchContext,
    warmed: set[str],
) -> dict[str, Any] | None:
    """Forecast and score one method on one dataset; add its rows; a failure is recorded as skipped."""
    setup = ForecastSetup(period=data.period, seed=ctx.seed, quick=ctx.quick)
    try:
        fn = factory(setup)
        if method not in warmed:
            _warm_up(fn, data.period)
            warmed.add(method)
            if "fallbacks" in setup.info:  # count only the dataset's series
                setup.info["fallbacks"] = 0
                setup.info.pop("first_fallback", None)
        points, quants, seconds = forecast_dataset(fn, data)
        scores, counts = score(data, points, quants)
    except Exception as exc:  # a failing method is recorded, never dropped silently
        result.skip(f"{data.name} / {method}", f"failed: {type(exc).__name__}: {exc}")
        return None
    if setup.info:
        desc = ", ".join(f"{k}={v}" for k, v in setup.info.items())
        result.notes.append(f"{data.name} / {method}: {desc}")
    if counts["zero_scale"]:
        result.notes.append(
            f"{data.name} / {method}: {counts['zero_scale']} series with a zero in-sample seasonal naive "
            "error left out of MASE"
        )
    print(  # progress of long runs, on stderr
        f"[{NAME}] {data.name} / {method}: {len(data.train)} series in {seconds:.1f} s, "
        f"mase {scores['mase']:.4f}, wql {scores['wql']:.4f}",
        file=sys.stderr,
        flush=True,
    )
    result.add(Row(data.name, method, "mase", scores["mase"], seconds=seconds))
    # the time goes on the mase row only, so that sums of ``seconds`` count each run once
    result.add(Row(data.name, method, "wql", scores["wql"]))
    result.add(Row(data.name, method, "smape", scores["smape"]))
    return {**scores, "seconds": seconds, "series_mase": series_mase(data, points)}


def relative_rows(
    scores: dict[str, dict[str, dict[str, Any]]], methods: list[str], result: SuiteResult, seed: int = 0
) -> None:
    """``rel_*`` rows per dataset and the ``all`` geometric-mean rows, from ``scores[dataset][method]``;
    with the methods' per-series MASE (``series_mase``), the paired bootstrap of ``gmean_rel_mase``
    (:func:`tinyts.bench.resample.add_bootstrap_rows`)."""
    rel: dict[str, dict[str, list[float]]] = {m: {"mase": [], "wql": []} for m in methods}
    secs: dict[str, float] = defaultdict(float)
    for name, per in scores.items():
        ref = per.get(REFERENCE)
        if ref is None:
            result.skip(f"{name} / rel_*", f"{REFERENCE} did not run, so no relative scores")
            continue
        for m in methods:
            if m not in per:
                continue
            secs[m] += per[m]["seconds"]
            for metric in ("mase", "wql"):
                base = ref[metric]
                value = per[m][metric] / base if base > 0 and math.isfinite(base) else float("nan")
                rel[m][metric].append(value)
                result.add(Row(name, m, f"rel_{metric}", value))
    for m in methods:
        for metric in ("mase", "wql"):
            vals = rel[m][metric]
            if not vals:
                continue
            result.add(
                Row(
                    "all",
                    m,
                    f"gmean_rel_{metric}",
                    gmean(vals),
                    extra={"n_datasets": len(vals), "total_seconds": round(secs[m], 1)},
                )
            )
    cases = {
        name: {m: v["series_mase"] for m, v in per.items() if "series_mase" in v}
        for name, per in scores.items()
        if REFERENCE in per and "series_mase" in per[REFERENCE]
    }
    if cases:
        add_bootstrap_rows(result, cases, REFERENCE, "gmean_rel_mase", seed, "series")


PROTOCOL_NOTES = [
    "Protocol: one forecast per series from the end of its training part over the official horizon "
    "(.tsf: @horizon, the test part = the last horizon points of each line; M4: Y 6, Q 8, M 18, W 13, "
    "D 14, H 48). Season length P per frequency: Monash convention for .tsf (hourly 24, daily 7, weekly "
    "52, monthly 12, quarterly 4, yearly/other 1), M4 convention for M4 (weekly and daily 1). Every "
    "method gets the same history; missing training values are linearly interpolated for all methods "
    "(statsforecast cannot take NaN); missing test values are skipped in scoring (counted per dataset).",
    "Metrics: mase = mean over series of MAE / in-sample seasonal naive MAE at lag P (lag 1 if the "
    "training part has <= P points); wql = mean over q = 0.1..0.9 of 2 sum pinball_q / sum |y| over the "
    "dataset (Chronos's WQL); smape = 200 |y - f| / (|y| + |f|) averaged over steps then series (for the "
    "sanity check against statsforecast's published M3 sMAPE); rel_* = score / seasonal naive's on the "
    "dataset; dataset 'all' = geometric mean of rel_* over datasets (n_datasets). seconds (on the mase rows "
    "only) = fit+predict time of the method on the dataset, after one untimed warm-up call; gmean rows carry "
    "the sum over datasets as total_seconds.",
    "Peers: statsforecast SeasonalNaive, AutoETS, AutoARIMA, AutoTheta, AutoCES (defaults, "
    "season_length=P, one model per series), 9 quantiles from their prediction intervals (levels 20/40/"
    "60/80 % -> 0.4/0.6, 0.3/0.7, 0.2/0.8, 0.1/0.9; the mean as 0.5 and point forecast); a series on which "
    "a model fails gets the seasonal naive forecast (counted as fallbacks). fracast: Fracast-0 zero-shot "
    "with its bundled weights, its own quantiles. tinycast: the bundled model, tinyts.tasks.forecast.api "
    "defaults (anchored strategy, SIFI, sign-flip symmetry), median as point forecast.",
]


def run(ctx: BenchContext) -> SuiteResult:
    result = SuiteResult()
    methods = ctx.select_methods(METHODS, result, NAME)
    result.notes += list(PROTOCOL_NOTES)
    if ctx.quick:
        result.notes.append(
            f"--quick: a seeded subset (seed {ctx.seed}) of at most {QUICK_SERIES} series per dataset."
        )
    archives = [a for a in find_forecast_archives(ctx.data_dir) if ctx.wants(a.name)]
    if not archives:
        result.skip(NAME, f"no .tsf file or M4 train/test pair found under {ctx.data_dir}")
        return result
    scores: dict[str, dict[str, dict[str, Any]]] = {}
    warmed: set[str] = set()
    for archive in archives:
        try:
            data = load_archive(archive, ctx.quick, ctx.seed)
        except (ValueError, OSError) as exc:
            result.skip(archive.name, f"not usable: {exc}")
            continue
        result.notes.append(data.describe())
        per: dict[str, dict[str, Any]] = {}
        for method in methods:
            out = evaluate(result, data, method, METHODS[method], ctx, warmed)
            if out is not None:
                per[method] = out
        scores[data.name] = per
    relative_rows(scores, methods, result, ctx.seed)
    return result
