"""``forecasting``: rolling-origin forecasts over the LTSF test split of every LTSF csv.

Protocol: the standard LTSF splits (ETTh/ETTm 12/4/4 months, others 70/10/20) scaled with train
statistics; every channel is its own univariate series; a forecast origin every ``stride`` rows of
the test split (its start shifted back by the context, as the LTSF loaders do). Two settings:

- long: context 512, horizons 96/192/336/720 (datasets whose test split holds >= 720 rows);
- short (the LTSF literature's ILI setting): context 104, horizons 24/36/48/60 (others with a test
  split of >= 60 rows); smaller datasets are skipped with the reason.

Each origin is forecast once, at the longest of the horizons it has ground truth for, and the
shorter horizons are scored on the prefix (all peers are deterministic and their forecasts do not
depend on the requested length beyond it), so every horizon uses every origin that fits it.

Metrics per (dataset, method, horizon): MSE and MAE pooled in the standardised space; MASE (mean
over series of MAE / the in-sample seasonal-naive MAE of the context); CRPS as the mean weighted
quantile loss over the 0.1 ... 0.9 quantiles (GIFT-Eval), on the original scale of the data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from tinyts.bench.core import BenchContext, Row, SuiteResult, timer
from tinyts.bench.metrics import QUANTILES, crps_quantiles, mae, mase, mse, seasonal_period
from tinyts.bench.ours import cast_forecaster
from tinyts.bench.peers.forecasters import FORECASTERS, ForecastFn, ForecastOutput, ForecastSetup
from tinyts.data.io.discover import find_ltsf
from tinyts.data.io.ltsf import read_ltsf_csv
from tinyts.data.types import TableSeries
from tinyts.data.windows import fit_scaler, ltsf_borders

NAME = "forecasting"
DESCRIPTION = (
    "Rolling-origin LTSF forecasting (context 512, horizons 96-720; ILI-style short setting for small "
    "sets): MSE/MAE standardised, MASE, CRPS, against seasonal naive, statsforecast AutoETS and "
    "fracast zero-shot"
)
#: reads the data folder (--data-dir / $TINYTS_DATA)
NEEDS_DATA = True

#: method name -> factory; the suite runs them in this order.
METHODS: dict[str, Callable[[ForecastSetup], ForecastFn]] = {**FORECASTERS, "tinycast": cast_forecaster}

#: (context, horizons) of the two settings.
LONG: tuple[int, tuple[int, ...]] = (512, (96, 192, 336, 720))
SHORT: tuple[int, tuple[int, ...]] = (104, (24, 36, 48, 60))
#: Full run: about this many origins per dataset at the shortest horizon (bounds the cost of fracast
#: and AutoETS on 2 cores); the stride is then made coprime with the season length.
TARGET_ORIGINS = 80
#: ``--quick``: the first dataset, its shortest horizon, this many origins.
QUICK_ORIGINS = 4


def choose_setting(n_train: int, n_test: int) -> tuple[int, tuple[int, ...]] | None:
    """The (context, horizons) setting of a dataset, from its train and test split lengths."""
    for context, horizons in (LONG, SHORT):
        if n_test >= max(horizons) and n_train >= context:
            return context, horizons
    return None


def choose_stride(n_origins: int, period: int, quick: bool, target: int = TARGET_ORIGINS) -> int:
    """Origin stride: about ``target`` (QUICK_ORIGINS) origins, coprime with the season length."""
    target = QUICK_ORIGINS if quick else target
    stride = max(1, math.ceil(n_origins / target))
    while period > 1 and stride > 1 and math.gcd(stride, period) != 1:
        stride += 1
    return stride


def _load(path: Path, result: SuiteResult) -> TableSeries | None:
    try:
        return read_ltsf_csv(path)
    except (ValueError, OSError) as exc:
        result.skip(str(path), f"could not be read: {exc}")
        return None


class _Data:
    """Scaled test (or ``split="val"``) segment of one dataset, its origins and per-origin longest horizon."""

    def __init__(
        self,
        table: TableSeries,
        context: int,
        horizons: tuple[int, ...],
        quick: bool,
        origins: int = TARGET_ORIGINS,
        split: str = "test",
    ) -> None:
        self.n_channels, n_rows = table.values.shape
        borders = ltsf_borders(table.name, n_rows, context=context)
        tr0, tr1 = borders["train"]
        te0, te1 = borders[split]  # "val": the validation rows (pre-training ablations)
        self.scaler = fit_scaler(table.values[:, tr0:tr1])
        scaled = self.scaler.transform(table.values)
        self.period = seasonal_period(table.timestamps, scaled[:, tr0:tr1])
        self.segment = scaled[:, te0:te1]  # (C, n_seg)
        self.context, self.horizons = context, horizons
        n_origins = self.segment.shape[1] - context - min(horizons) + 1
        self.stride = choose_stride(n_origins, self.period, quick, origins)
        self.starts = np.arange(0, n_origins, self.stride)
        if quick:
            self.starts = self.starts[:QUICK_ORIGINS]
        room = self.segment.shape[1] - context - self.starts  # steps of future after each origin
        self.h_max = np.array([max(h for h in horizons if h <= r) for r in room])
        self.borders = borders

    def series(self, starts: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Contexts ``(n, context)``, targets ``(n, horizon)``, channel index ``(n,)``; n = starts x C."""
        seg = self.segment  # (C, n_seg)
        idx_c = starts[:, None] + np.arange(self.context)[None, :]
        idx_t = starts[:, None] + self.context + np.arange(horizon)[None, :]
        ctx = seg[:, idx_c].transpose(1, 0, 2).reshape(-1, self.context)
        tgt = seg[:, idx_t].transpose(1, 0, 2).reshape(-1, horizon)
        chan = np.tile(np.arange(self.n_channels), len(starts))
        return ctx, tgt, chan


Stacked = dict[int, tuple[np.ndarray, np.ndarray | None]]


def _forecast_all(fn: ForecastFn, data: _Data) -> tuple[Stacked, float]:
    """Forecast every origin at its longest horizon; per horizon the stacked (point, quantiles)."""
    pieces: dict[int, list[tuple[int, ForecastOutput]]] = {h: [] for h in data.horizons}
    seconds = 0.0
    for h in sorted(set(data.h_max.tolist())):
        group = np.flatnonzero(data.h_max == h)
        ctx, _, _ = data.series(data.starts[group], h)
        with timer() as t:
            out = fn(ctx, int(h))
        seconds += t[0]
        if out.point.shape != (ctx.shape[0], h) or not np.all(np.isfinite(out.point)):
            raise ValueError(f"returned point forecasts of shape {out.point.shape} or non-finite values")
        if out.quantiles is not None and out.quantiles.shape != (ctx.shape[0], h, len(QUANTILES)):
            raise ValueError(f"returned quantiles of shape {out.quantiles.shape}")
        for hh in data.horizons:
            if hh <= h:
                pieces[hh].append((int(group[0]), out))
    merged: Stacked = {}
    for hh, outs in pieces.items():
        outs.sort(key=lambda p: p[0])  # origin order (groups are contiguous runs of origins)
        point = np.concatenate([o.point[:, :hh] for _, o in outs], axis=0)
        quants = [o.quantiles for _, o in outs]
        q = (
            None
            if any(v is None for v in quants)
            else np.concatenate([v[:, :hh] for v in quants if v is not None], axis=0)
        )
        merged[hh] = (point, q)
    return merged, seconds


def _score(data: _Data, h: int, point: np.ndarray, quant: np.ndarray | None) -> dict[str, float]:
    starts = data.starts[data.h_max >= h]
    ctx, tgt, chan = data.series(starts, h)
    std, mean = data.scaler.std[chan][:, None], data.scaler.mean[chan][:, None]
    q = point[..., None].repeat(len(QUANTILES), axis=-1) if quant is None else quant
    return {
        "mse": mse(point, tgt),
        "mae": mae(point, tgt),
        "mase": mase(point, tgt, ctx, data.period),
        "crps": crps_quantiles(q * std[..., None] + mean[..., None], tgt * std + mean),
    }


def dataset_paths(ctx: BenchContext, result: SuiteResult) -> list[Path]:
    """The LTSF csv files of the data folder selected by ``--datasets`` (``--quick``: the first)."""
    paths = sorted(find_ltsf(ctx.data_dir), key=lambda p: (p.stem.lower(), str(p)))
    paths = [p for p in paths if ctx.wants(p.stem)]
    if ctx.quick:
        for p in paths[1:]:
            result.skip(p.stem, "not in the --quick subset (first dataset by name only)")
        paths = paths[:1]
    return paths


def settings(
    ctx: BenchContext, paths: list[Path], result: SuiteResult
) -> Iterator[tuple[TableSeries, int, tuple[int, ...]]]:
    """Each readable dataset with its (context, horizons) setting; the others are recorded as skipped."""
    for path in paths:
        table = _load(path, result)
        if table is None:
            continue
        n_rows = table.values.shape[1]
        try:
            plain = ltsf_borders(table.name, n_rows, context=0)
        except ValueError as exc:
            result.skip(table.name, f"no LTSF split: {exc}")
            continue
        n_train = plain["train"][1]
        n_test = plain["test"][1] - plain["test"][0]
        setting = choose_setting(n_train, n_test)
        if setting is None:
            result.skip(
                table.name,
                f"test split of {n_test} rows / train of {n_train}: too short for "
                f"the long or the short setting",
            )
            continue
        context, horizons = setting
        yield table, context, horizons[:1] if ctx.quick else horizons


def describe(name: str, data: _Data) -> str:
    """The suite note of one dataset: context, horizons, season, stride and origin counts."""
    return (
        f"{name}: context {data.context}, horizons {list(data.horizons)}, season length {data.period}, "
        f"origin stride {data.stride}: {len(data.starts)} origins x {data.n_channels} channels "
        f"({', '.join(f'h{h}: {int(np.sum(data.h_max >= h))}' for h in data.horizons)} origins)"
    )


def evaluate(
    result: SuiteResult,
    name: str,
    method: str,
    factory: Callable[[ForecastSetup], ForecastFn],
    data: _Data,
    ctx: BenchContext,
) -> None:
    """Forecast every origin of ``data`` with one method and add its rows (a failure is recorded)."""
    setup = ForecastSetup(period=data.period, seed=ctx.seed, quick=ctx.quick)
    try:
        fn = factory(setup)
        outputs, seconds = _forecast_all(fn, data)
        scores = {h: _score(data, h, *outputs[h]) for h in data.horizons}
    except Exception as exc:  # a failing method is recorded, never dropped silently
        result.skip(f"{name} / {method}", f"failed: {type(exc).__name__}: {exc}")
        return
    if setup.info:
        desc = ", ".join(f"{k}={v}" for k, v in setup.info.items())
        result.notes.append(f"{name} / {method}: {desc}")
    extra = {"context": data.context}
    result.add(Row(name, method, "predict_seconds", seconds, seconds=seconds, extra=extra))
    for h, vals in scores.items():
        for metric, value in vals.items():
            result.add(Row(name, method, metric, value, extra={"horizon": h, **extra}))


def run(ctx: BenchContext) -> SuiteResult:
    result = SuiteResult()
    methods = ctx.select_methods(METHODS, result, "forecasting")
    paths = dataset_paths(ctx, result)
    result.notes += [
        "Protocol: LTSF splits scaled with train statistics; each channel its own series; rolling "
        "origins over the test split (start shifted back by the context). Long setting: context "
        f"{LONG[0]}, horizons {LONG[1]} when the test split has >= {max(LONG[1])} rows; short (ILI) "
        f"setting: context {SHORT[0]}, horizons {SHORT[1]} when it has >= {max(SHORT[1])}; else skipped.",
        f"Origin stride per dataset: ceil(origins at the shortest horizon / {TARGET_ORIGINS}), raised "
        f"to be coprime with the season length (origins then fall on every phase of the season); "
        f"--quick: the first dataset, its shortest horizon, {QUICK_ORIGINS} origins. Each origin is "
        "forecast once at its longest horizon; shorter horizons score the prefix.",
        "Metrics: mse/mae pooled over series and steps in the standardised space; mase = mean over "
        "series of MAE / mean |y_t - y_(t-P)| over the context (P = season length); crps = mean weighted "
        "quantile loss over q = 0.1..0.9 (GIFT-Eval) on the original scale. Point forecasters "
        "(seasonal_naive) enter crps with their point forecast at every level, which makes their crps "
        "sum|error| / sum|y| (MAE-like; a forecast with a useful spread scores lower). "
        "`seconds` of a predict_seconds row = the method's total forecasting time on that dataset.",
        "Peers: seasonal_naive (numpy; equals statsforecast SeasonalNaive), statsforecast AutoETS "
        "(season_length=P) with its default model search (autoets) and with additive season forced "
        "(autoets_zza), quantiles from its Gaussian intervals; fracast zero-shot with the weights "
        "bundled in its wheel (no download), its own quantiles used as returned (they may cross; not "
        "sorted), median as point forecast.",
    ]
    for table, context, horizons in settings(ctx, paths, result):
        data = _Data(table, context, horizons, ctx.quick)
        if np.isnan(data.segment).any():
            result.skip(table.name, "the test split has missing values")
            continue
        result.notes.append(describe(table.name, data))
        for method in methods:
            evaluate(result, table.name, method, METHODS[method], data, ctx)
    if not paths:
        result.skip("forecasting", f"no LTSF csv (first header cell 'date') found under {ctx.data_dir}")
    return result
