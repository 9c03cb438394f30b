"""``imputation``: the TSPulse zero-shot imputation protocol on every LTSF csv of the data folder.

Protocol (``shared/research/tspulse.md`` 4.3): the standard LTSF splits (ETTh/ETTm 12/4/4 months,
others 70/10/20) scaled with train statistics; windows of 512 over the test split, whose start is
shifted back by 512 rows; every channel of every window is its own univariate series; masks
``hybrid`` and ``block`` at 12.5/25/37.5/50 %, drawn per window and channel with a seeded
generator (patch 8, grid aligned to the window start); MSE and MAE on the hidden points only,
pooled over all windows and channels, in the standardised space. Every method imputes exactly the
same masked windows.

Methods are :data:`METHODS` (name -> factory ``ImputeSetup -> impute``), by default the peers of
:mod:`tinyts.bench.peers.imputers`.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tinyts.bench.core import BenchContext, Row, SuiteResult, timer
from tinyts.bench.metrics import mae, mse, seasonal_period
from tinyts.bench.ours import pulse_blend_imputer, pulse_imputer, pulse_single_imputer
from tinyts.bench.peers.imputers import (
    IMPUTERS,
    ImputeFn,
    ImputeSetup,
    saits_chunks_per_window,
    saits_recipe,
)
from tinyts.bench.registry import Option
from tinyts.data.io.discover import find_ltsf
from tinyts.data.io.ltsf import read_ltsf_csv
from tinyts.data.masks import block_mask, hybrid_mask
from tinyts.data.types import TableSeries
from tinyts.data.windows import fit_scaler, ltsf_borders

#: The rows the windows may cover (``--option split=``): the protocol's test rows, or validation rows.
SPLITS = ("test", "val")


def _parse_split(text: str) -> str:
    if text not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {text!r}")
    return text


NAME = "imputation"
DESCRIPTION = (
    "TSPulse zero-shot imputation protocol (512-windows over the LTSF test split, hybrid/block masks "
    "at 12.5-50 %, MSE on hidden points, standardised) for every LTSF csv, against linear "
    "interpolation, a seasonal+linear-residual fill and PyPOTS SAITS trained on the train split"
)
#: reads the data folder (--data-dir / $TINYTS_DATA)
NEEDS_DATA = True

#: method name -> factory; the suite runs them in this order.
METHODS: dict[str, Callable[[ImputeSetup], ImputeFn]] = {
    **IMPUTERS,
    "tinypulse": pulse_imputer,
    "tinypulse_blend": pulse_blend_imputer,
    "tinypulse_single": pulse_single_imputer,
}

OPTIONS: dict[str, Option] = {
    "split": Option(
        default="test",
        parse=_parse_split,
        help="the rows the windows cover: 'test' (the protocol, reported) or 'val' (the validation "
        "split, for decisions that must not look at the test part)",
    ),
}

WINDOW = 512
PATCH = 8
RATIOS: tuple[float, ...] = (0.125, 0.25, 0.375, 0.5)
MASKS: dict[str, Callable[..., np.ndarray]] = {"hybrid": hybrid_mask, "block": block_mask}
#: A dataset needs this many rows (4 windows); shorter ones are skipped with the reason.
MIN_ROWS = 4 * WINDOW
#: Full run: stride 1 (as TSPulse) while a dataset has at most this many test windows; above it
#: the smallest stride that brings it under the cap and is coprime with the patch, 24 and the
#: season length. Set by the cost of SAITS on 2 CPU cores (see the notes of a run).
MAX_WINDOWS = 300
#: ``--quick``: a fixed stride (a prime, coprime with 8 and 24), two ratios, one dataset.
QUICK_STRIDE = 97
QUICK_RATIOS: tuple[float, ...] = (0.125, 0.5)
QUICK_DATASETS = 1
_CHECK_CHUNK = 1000

_PHASE_NOTE = (
    "Window strides are 1 or coprime with 8, 24 and the season length: masks are patch-aligned to "
    "the window start, so at a stride that is a multiple of 8 every hidden patch of hourly data "
    "falls on the same clock hours in every window (on ETTh1 at stride 8 linear interpolation "
    "scores 0.42 instead of about 0.29; shared/research/probe_cpu_pretrain.md)."
)


def choose_stride(n_windows: int, period: int, quick: bool) -> int:
    """The window stride of a dataset: see :data:`MAX_WINDOWS` and :data:`QUICK_STRIDE`."""
    if quick:
        return QUICK_STRIDE
    if n_windows <= MAX_WINDOWS:
        return 1
    stride = math.ceil(n_windows / MAX_WINDOWS)
    while math.gcd(stride, 24 * PATCH * max(period, 1)) != 1:
        stride += 1
    return stride


def _mask_rng(seed: int, dataset: str, kind: str, ratio: float) -> np.random.Generator:
    key = [seed, zlib.crc32(dataset.encode()), zlib.crc32(kind.encode()), round(ratio * 1000)]
    return np.random.default_rng(key)


def _load(path: Path, result: SuiteResult) -> TableSeries | None:
    try:
        return read_ltsf_csv(path)
    except (ValueError, OSError) as exc:
        result.skip(str(path), f"could not be read: {exc}")
        return None


def _prepare(
    table: TableSeries, quick: bool, result: SuiteResult, split: str = "test"
) -> tuple[np.ndarray, ImputeSetup, int, np.ndarray] | None:
    """Scaled windows ``(n_windows, C, WINDOW)``, the setup for methods, the stride, the segment.

    ``split`` is ``"test"`` (the protocol) or ``"val"`` (the same windows over the validation split,
    for decisions that must not look at the test part).
    """
    n_rows = table.values.shape[1]
    if n_rows < MIN_ROWS:
        result.skip(
            table.name,
            f"{n_rows} rows < {MIN_ROWS} (4 windows of {WINDOW}): the test windows, shifted back by "
            f"{WINDOW} rows, would be mostly training rows; no shorter window is substituted",
        )
        return None
    try:
        borders = ltsf_borders(table.name, n_rows, context=WINDOW)
    except ValueError as exc:
        result.skip(table.name, f"no LTSF split: {exc}")
        return None
    (tr0, tr1), (va0, va1), (te0, te1) = borders["train"], borders["val"], borders["test"]
    _parse_split(split)
    if split == "val":
        te0, te1 = va0, va1
    if np.isnan(table.values[:, te0:te1]).any():
        result.skip(table.name, f"the {split} split has missing values; the protocol needs complete truth")
        return None
    scaler = fit_scaler(table.values[:, tr0:tr1])
    scaled = scaler.transform(table.values)  # (C, n_rows)
    period = seasonal_period(table.timestamps, scaled[:, tr0:tr1])
    test = scaled[:, te0:te1]
    n_windows = test.shape[1] - WINDOW + 1
    stride = choose_stride(n_windows, period, quick)
    starts = np.arange(0, n_windows, stride)
    view = np.lib.stride_tricks.sliding_window_view(test, WINDOW, axis=1)  # (C, n_windows, WINDOW)
    windows = np.ascontiguousarray(np.moveaxis(view[:, starts], 1, 0))
    setup = ImputeSetup(
        period=period,
        train=scaled[:, tr0:tr1],
        val=scaled[:, tr1:va1],  # the val steps proper (without the look-back into train)
        seed=0,
        quick=quick,
    )
    overlap = max(0, tr1 - te0) if split == "test" else 0  # val windows look back into train by design
    result.notes.append(
        f"{table.name}: {n_rows} rows, split train [{tr0}, {tr1}) / val [{tr1}, {va1}) / test "
        f"[{borders['test'][0] + WINDOW}, {borders['test'][1]}); windows over the {split} rows "
        f"[{te0 + WINDOW}, {te1}): {len(starts)} windows of {WINDOW} (stride {stride} of "
        f"{n_windows} possible) x {table.values.shape[0]} channels; season length {period}"
        + (
            f"; the first test windows reach {overlap} rows into the train split (val split shorter "
            f"than {WINDOW})"
            if overlap
            else ""
        )
    )
    return windows, setup, stride, test


def _build_methods(
    ctx: BenchContext, dataset: str, setup: ImputeSetup, methods: list[str], result: SuiteResult
) -> dict[str, ImputeFn]:
    built: dict[str, ImputeFn] = {}
    for method in methods:
        setup.info = {}
        try:
            with timer() as t_fit:
                built[method] = METHODS[method](setup)
        except Exception as exc:  # a failing peer is recorded, never dropped silently
            result.skip(f"{dataset} / {method}", f"could not be set up: {type(exc).__name__}: {exc}")
            continue
        if setup.info:
            result.add(Row(dataset, method, "fit_seconds", t_fit[0], seconds=t_fit[0]))
            desc = ", ".join(f"{k}={v}" for k, v in setup.info.items())
            result.notes.append(f"{dataset} / {method}: set up in {t_fit[0]:.1f} s ({desc})")
    return built


def _stride1_check(
    table_name: str, test: np.ndarray, ratios: tuple[float, ...], seed: int, suite_means: dict[str, float]
) -> str:
    """linear_interp over every stride-1 window (in chunks): is the strided subset representative?"""
    from tinyts.bench.peers.imputers import linear_fill

    view = np.lib.stride_tricks.sliding_window_view(test, WINDOW, axis=1)  # (C, n_windows, WINDOW)
    n_windows = view.shape[1]
    parts = []
    for kind, make_mask in MASKS.items():
        errs = []
        for ratio in ratios:
            rng = _mask_rng(seed + 1, table_name, kind, ratio)
            sq, count = 0.0, 0
            for lo in range(0, n_windows, _CHECK_CHUNK):
                block = np.moveaxis(view[:, lo : lo + _CHECK_CHUNK], 1, 0).reshape(-1, WINDOW)
                hidden = make_mask(block.shape, ratio, patch=PATCH, rng=rng)
                filled = linear_fill(np.where(hidden, np.nan, block))
                sq += float(np.sum((filled - block)[hidden] ** 2))
                count += int(hidden.sum())
            errs.append(sq / count)
        parts.append(f"{kind} {np.mean(errs):.4f} (suite stride: {suite_means.get(kind, float('nan')):.4f})")
    return (
        f"{table_name}: check of the strided subset -- linear_interp MSE over all {n_windows} stride-1 "
        f"windows (other mask draws), mean over ratios: " + "; ".join(parts)
    )


def run(ctx: BenchContext) -> SuiteResult:
    result = SuiteResult()
    methods = ctx.select_methods(METHODS, result, "imputation")
    paths = sorted(find_ltsf(ctx.data_dir), key=lambda p: (p.stem.lower(), str(p)))
    paths = [p for p in paths if ctx.wants(p.stem)]
    ratios = QUICK_RATIOS if ctx.quick else RATIOS
    split = ctx.options["split"]
    if ctx.quick:
        for p in paths[QUICK_DATASETS:]:
            result.skip(p.stem, "not in the --quick subset (first dataset by name only)")
        paths = paths[:QUICK_DATASETS]
    result.notes += [
        "Protocol: TSPulse zero-shot imputation (tspulse.md 4.3): LTSF splits scaled with train "
        f"statistics, windows of {WINDOW} over the {split} split shifted back by {WINDOW}, each channel "
        f"its own series, masks {'/'.join(MASKS)} at {', '.join(f'{r:.1%}' for r in ratios)} drawn per "
        f"window and channel (patch {PATCH}, grid at the window start; seeded by --seed, dataset, mask "
        "and ratio), MSE/MAE on the hidden points only, pooled. `ratio: avg` rows are the mean of the "
        "per-ratio figures. `seconds` of a row = the method's imputation time for that mask setting.",
        f"Window stride: 1 (as TSPulse) while a dataset has at most {MAX_WINDOWS} test windows; above "
        f"that the smallest stride bringing it under {MAX_WINDOWS} that is coprime with 8, 24 and the "
        f"season length. The cap exists because SAITS costs {saits_chunks_per_window(WINDOW)} chunk "
        "forwards per window and mask setting (about 12-25 ms on these 2 shared cores). "
        f"--quick: stride {QUICK_STRIDE}, ratios "
        f"{', '.join(map(str, QUICK_RATIOS))}, the first dataset by name. {_PHASE_NOTE}",
        f"Datasets with fewer than {MIN_ROWS} rows are skipped (their 512-windows would mostly cover "
        "training rows).",
        "Peers: linear_interp = linear interpolation between the nearest observed points, constant "
        "past the ends (np.interp); seasonal_linear = mean of the observed x[t +- kP], k=1..3, plus the "
        "linearly interpolated residual (P = season length from the timestamps' step: hourly 24, "
        "15-min 96, daily 7, weekly 52, else ACF); saits = " + saits_recipe(),
    ]
    if split != "test":
        result.notes.append(
            f"split={split}: the windows cover the {split} rows instead of the test rows (a development "
            "run; the protocol's figures are those of split=test)."
        )
    result.notes.append(
        "tinypulse_blend = tinypulse with impute(..., blend='auto'): observed patches of each window "
        "are hidden for a self-check and linear interpolation is mixed into the fill where the model "
        "refills them worse (tasks.pulse.impute.blend_weights); twice the model calls."
    )
    result.notes.append(
        "tinypulse = impute() with its defaults: each window's fill is the mean of the reconstructions "
        "of the window, its negation, its time reversal and both, mapped back (tta=True, 4 passes); "
        "tinypulse_single = one pass per window (tta=False), as TSPulse's zero-shot imputation."
    )
    for path in paths:
        table = _load(path, result)
        if table is None:
            continue
        prepared = _prepare(table, ctx.quick, result, split=split)
        if prepared is None:
            continue
        windows, setup, stride, test = prepared
        setup.seed = ctx.seed
        built = _build_methods(ctx, table.name, setup, methods, result)
        n_win, n_ch, _ = windows.shape
        flat = windows.reshape(n_win * n_ch, WINDOW)
        per_ratio: dict[tuple[str, str], dict[str, list[float]]] = {}
        for kind, make_mask in MASKS.items():
            for ratio in ratios:
                hidden = make_mask(
                    (n_win, n_ch, WINDOW),
                    ratio,
                    patch=PATCH,
                    rng=_mask_rng(ctx.seed, table.name, kind, ratio),
                )
                hidden = hidden.reshape(flat.shape)
                masked = np.where(hidden, np.nan, flat)
                for method, impute in built.items():
                    try:
                        with timer() as t:
                            filled = impute(masked)
                    except Exception as exc:  # recorded, the run goes on
                        result.skip(
                            f"{table.name} / {method} / {kind} {ratio}",
                            f"failed: {type(exc).__name__}: {exc}",
                        )
                        continue
                    if filled.shape != flat.shape or not np.all(np.isfinite(filled[hidden])):
                        result.skip(
                            f"{table.name} / {method} / {kind} {ratio}",
                            "returned a wrong shape or non-finite values at hidden points",
                        )
                        continue
                    scores = {"mse": mse(filled, flat, hidden), "mae": mae(filled, flat, hidden)}
                    acc = per_ratio.setdefault((method, kind), {"mse": [], "mae": [], "seconds": []})
                    for metric, value in scores.items():
                        result.add(
                            Row(
                                table.name,
                                method,
                                metric,
                                value,
                                seconds=t[0],
                                extra={"mask": kind, "ratio": ratio},
                            )
                        )
                        acc[metric].append(value)
                    acc["seconds"].append(t[0])
        for (method, kind), acc in per_ratio.items():
            if len(acc["mse"]) != len(ratios):
                continue  # a ratio failed: no average (the failure is in the skipped list)
            for metric in ("mse", "mae"):
                result.add(
                    Row(
                        table.name,
                        method,
                        metric,
                        float(np.mean(acc[metric])),
                        seconds=float(np.sum(acc["seconds"])),
                        extra={"mask": kind, "ratio": "avg"},
                    )
                )
        if stride > 1 and not ctx.quick and ("linear_interp", "hybrid") in per_ratio:
            means = {k: float(np.mean(a["mse"])) for (m, k), a in per_ratio.items() if m == "linear_interp"}
            result.notes.append(_stride1_check(table.name, test, ratios, ctx.seed, means))
    if not paths:
        result.skip("imputation", f"no LTSF csv (first header cell 'date') found under {ctx.data_dir}")
    return result
