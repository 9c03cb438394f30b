"""TinyCast training runs on validation data only: the forecasting half of ``pretrain_ablation``.

Not a suite of its own; :mod:`tinyts.bench.suites.pretrain_ablation` calls :func:`score_cast_runs`
for the run folders whose model is ``tinycast`` (their held-out pre-training loss is scored there,
as for TinyPulse runs, with ``val_fine`` = the fine head's pinball part). Two measurements, none on
a test part:

- **LTSF validation windows**: the forecasting suite's protocol (context 512, standardised with train
  statistics, each channel its own series) over the *validation* rows of ETTh1 and ETTm1 at
  horizon :data:`HORIZON`, :data:`ORIGINS` origins; MASE and MASE relative to seasonal naive.
- **held-back corpus series** (the series :data:`tinyts.data.real_corpus.HOLDOUT` keeps out of
  pre-training), grouped by frequency: forecasts over the last ``horizon`` points (the M4 horizon of
  its frequency, M3's 8 for ``other``, :data:`OTHER_HORIZON` for sub-hourly ones) and from
  :data:`HELDOUT_ORIGINS` - 1 earlier origins, a horizon apart (each cut series scored as a case of
  its own, while its training part keeps at least ``forecasting_broad.MIN_TRAIN`` points), MASE and
  WQL relative to seasonal naive, as ``forecasting_broad`` scores them; ``dataset: "all"`` rows give
  the geometric mean over every LTSF and corpus dataset (``gmean_val_rel_mase``). Several origins
  because most frequencies hold only 1-5 held-back series (quarterly 5, daily / hourly / weekly 3,
  other 2), whose single forecasts made the 9-set mean swing between checkpoints.
- A second statistic, ``gmean_val_rel_mase_pooled``, pools the held-back sets of fewer than
  :data:`POOL_BELOW` cases into one (:data:`POOLED`), so that a set of a few cases no longer weighs as
  much as one of hundreds; it has its own bootstrap rows (``..._pooled_p05`` / ``_p95``,
  ``p_lower_gmean_pooled``). The gates decide on it since 2026-12-07 and report both.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from tinyts.bench.core import BenchContext, Row, SuiteResult
from tinyts.bench.metrics import mase_terms
from tinyts.bench.ours import cast_forecaster
from tinyts.bench.peers.forecasters import FORECASTERS, ForecastFn, ForecastSetup
from tinyts.bench.resample import add_bootstrap_rows, gmean_ratio, pool_small_sets
from tinyts.bench.suites.forecasting import _Data, _forecast_all, _score
from tinyts.bench.suites.forecasting_broad import (
    MIN_TRAIN,
    BroadData,
    build_dataset,
    forecast_dataset,
    gmean,
    score,
    series_mase,
)
from tinyts.data.io.discover import find_ltsf
from tinyts.data.io.forecast import M4_HORIZON, seasonal_period
from tinyts.data.io.ltsf import read_ltsf_csv

#: horizon of the LTSF validation windows, and origins per dataset (x channels)
HORIZON, ORIGINS, QUICK_ORIGINS = 96, 24, 4
#: the context of the LTSF windows (the forecasting suite's long setting)
CONTEXT = 512
#: horizon of held-back corpus series whose frequency has no M4 horizon (sub-hourly)
OTHER_HORIZON = 48
#: horizon of held-back series of frequency ``other`` (M3's "other" horizon; 48 until 2026-12-07, which left
#: the 2 held-back "other" series, 56 and 100 points long, one 48-point forecast each)
M3_OTHER_HORIZON = 8
#: held-back sets of fewer cases than this are pooled into one set (:data:`POOLED`) for the gate's second
#: statistic, ``gmean_val_rel_mase_pooled`` (2026-12-07): the 9-set mean gives held-back "other" (2 series)
#: the weight of held-back monthly (362 cases)
POOL_BELOW = 20
POOLED = "heldout_pooled"
#: held-back series keep at most this many training points (the MASE scale uses the same points)
MAX_HISTORY = 2048
#: forecast origins per held-back series: its end and this many - 1 earlier ones, a horizon apart (1 until
#: 2026-12-06: one forecast per series)
HELDOUT_ORIGINS = 4
REFERENCE = "seasonal_naive"


def ltsf_val_data(
    ctx: BenchContext, datasets: tuple[str, ...], result: SuiteResult
) -> list[tuple[str, _Data]]:
    """The validation segments of the LTSF sets named in ``datasets`` found under the data folder."""
    wanted = [d.lower() for d in datasets]
    paths = [p for p in sorted(find_ltsf(ctx.data_dir)) if p.stem.lower() in wanted]
    for missing in sorted(set(wanted) - {p.stem.lower() for p in paths}):
        result.skip(f"{missing} (forecasting)", f"no LTSF csv named {missing} under {ctx.data_dir}")
    out = []
    for path in paths:
        table = read_ltsf_csv(path)
        data = _Data(table, CONTEXT, (HORIZON,), False, QUICK_ORIGINS if ctx.quick else ORIGINS, split="val")
        if ctx.quick:
            data.starts, data.h_max = data.starts[:QUICK_ORIGINS], data.h_max[:QUICK_ORIGINS]
        out.append((table.name, data))
    return out


def origin_cuts(series: list[np.ndarray], horizon: int, origins: int = HELDOUT_ORIGINS) -> list[np.ndarray]:
    """Each series cut after ``origins`` forecast origins (its end and earlier ones ``horizon`` apart, while
    at least ``MIN_TRAIN`` training points remain), each cut ending ``horizon`` points after its origin and
    keeping at most :data:`MAX_HISTORY` points before it; series by series, latest origin first."""
    return [
        s[: len(s) - k * horizon][-(MAX_HISTORY + horizon) :]
        for s in series
        for k in range(origins)
        if len(s) - k * horizon >= horizon + MIN_TRAIN
    ]


def heldout_data(corpus: Path, quick: bool, origins: int = HELDOUT_ORIGINS) -> list[BroadData]:
    """The held-back corpus series grouped by frequency, each cut at ``origins`` forecast origins (its
    end and earlier ones a horizon apart), split into training part and the horizon after the origin."""
    from tinyts.data.real_corpus import HOLDOUT, RealCorpus

    held = RealCorpus(corpus, holdout=HOLDOUT, split="heldout")
    groups: dict[str, list[np.ndarray]] = defaultdict(list)
    for s, f in zip(held.series, held.file_of, strict=True):
        groups[held.frequencies[int(f)] or "other"].append(s)
    out = []
    for freq in sorted(groups):
        horizon = M3_OTHER_HORIZON if freq == "other" else M4_HORIZON.get(freq, OTHER_HORIZON)
        series = origin_cuts(groups[freq][:8] if quick else groups[freq], horizon, origins)
        data = build_dataset(f"heldout_{freq}", series, horizon, seasonal_period(freq, "monash"), freq)
        if data.train:
            out.append(data)
    return out


def score_cast_runs(
    ctx: BenchContext,
    result: SuiteResult,
    models: dict[str, Any],
    datasets: tuple[str, ...],
    corpus: Path,
) -> None:
    """Add the forecasting validation rows of every TinyCast run in ``models`` (name -> model)."""
    if not models:
        return
    methods: dict[str, Any] = {REFERENCE: FORECASTERS[REFERENCE]}
    for name, model in models.items():
        methods[name] = lambda setup, m=model: cast_forecaster(setup, m)
    rel: dict[str, list[float]] = defaultdict(list)
    cases: dict[str, dict[str, np.ndarray]] = defaultdict(dict)  # per-case MASE, for the bootstrap
    for dname, data in ltsf_val_data(ctx, datasets, result):
        scores = {}
        for method, factory in methods.items():
            fn: ForecastFn = factory(ForecastSetup(period=data.period, seed=ctx.seed, quick=ctx.quick))
            outputs, seconds = _forecast_all(fn, data)
            scores[method] = _score(data, HORIZON, *outputs[HORIZON])["mase"]
            cases[dname][method] = _ltsf_terms(data, outputs[HORIZON][0])
            result.add(
                Row(dname, method, "val_mase", scores[method], seconds=seconds, extra={"horizon": HORIZON})
            )
        _relative(result, dname, scores, rel)
    try:
        corpus_sets = heldout_data(corpus, ctx.quick)
    except (OSError, ValueError) as exc:
        result.skip("heldout (forecasting)", f"no held-back corpus series: {exc}")
        corpus_sets = []
    if corpus_sets:
        result.notes.append(
            f"held-back corpus series: forecast from {HELDOUT_ORIGINS} origins each (the end and earlier "
            "ones a horizon apart, while at least "
            f"{MIN_TRAIN} training points remain); below, a 'series' is one such case"
        )
    for bd in corpus_sets:
        result.notes.append(bd.describe())
        scores = {}
        for method, factory in methods.items():
            fn = factory(ForecastSetup(period=bd.period, seed=ctx.seed, quick=ctx.quick))
            points, quants, seconds = forecast_dataset(fn, bd)
            vals, _ = score(bd, points, quants)
            scores[method] = vals["mase"]
            cases[bd.name][method] = series_mase(bd, points)
            result.add(
                Row(
                    bd.name,
                    method,
                    "val_mase",
                    vals["mase"],
                    seconds=seconds,
                    extra={"horizon": bd.horizon},
                )
            )
            result.add(Row(bd.name, method, "val_wql", vals["wql"], extra={"horizon": bd.horizon}))
        _relative(result, bd.name, scores, rel)
    for method, values in rel.items():
        result.add(Row("all", method, "gmean_val_rel_mase", gmean(values), extra={"n_datasets": len(values)}))
    add_bootstrap_rows(
        result,
        cases,
        REFERENCE,
        "gmean_val_rel_mase",
        ctx.seed,
        "cases (LTSF windows overlap in time, so their spread is, if anything, understated)",
    )
    pooled = pool_small_sets(cases, POOL_BELOW, POOLED, poolable=lambda name: name.startswith("heldout_"))
    merged = sorted(set(cases) - set(pooled))
    if merged:
        result.notes.append(
            f"gmean_val_rel_mase_pooled: the held-back sets of fewer than {POOL_BELOW} cases ("
            + ", ".join(f"{k} {len(cases[k][REFERENCE])}" for k in merged)
            + f") pooled into one set '{POOLED}' (relative MASE = mean MASE over its cases / seasonal "
            "naive's); "
            f"geometric mean over {len(pooled)} sets instead of {len(cases)}"
        )
    for method, value in gmean_ratio(pooled, REFERENCE).items():
        result.add(Row("all", method, "gmean_val_rel_mase_pooled", value, extra={"n_datasets": len(pooled)}))
    add_bootstrap_rows(
        result,
        pooled,
        REFERENCE,
        "gmean_val_rel_mase_pooled",
        ctx.seed,
        "cases (the small held-back sets pooled)",
        p_metric="p_lower_gmean_pooled",
    )


def _ltsf_terms(data: _Data, point: np.ndarray) -> np.ndarray:
    """Per-window MASE of the LTSF validation forecasts (the terms :func:`_score`'s MASE averages)."""
    starts = data.starts[data.h_max >= HORIZON]
    context, target, _ = data.series(starts, HORIZON)
    return mase_terms(point, target, context, data.period)


def _relative(
    result: SuiteResult, dataset: str, scores: dict[str, float], rel: dict[str, list[float]]
) -> None:
    base = scores[REFERENCE]
    for method, value in scores.items():
        if method == REFERENCE:
            continue
        ratio = value / base if base > 0 and np.isfinite(base) else float("nan")
        rel[method].append(ratio)
        result.add(Row(dataset, method, "val_rel_mase", ratio))
