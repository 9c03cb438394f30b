"""``forecasting_ablation``: TinyCast switched part by part, on the forecasting suite's protocol.

Same datasets, splits, scaling, metrics and origin rule as :mod:`tinyts.bench.suites.forecasting`
(its helpers are reused), with fewer origins per dataset (``ORIGINS``) because every variant is a full
TinyCast run. Variants:

- inference switches of the bundled ``tinycast``: ``tinycast`` (defaults), ``tinycast_no_symmetry``
  (sign-flip ensembling off), and the SIFI pair ``tinycast_h2048`` / ``tinycast_h2048_no_sifi``: both
  get ``HISTORY`` points of history instead of the context (SIFI only acts on histories longer than the
  model's 512-point context); without SIFI the model reads the last 512 of them, so
  ``tinycast_h2048_no_sifi`` equals ``tinycast`` on the same origins, which the table shows. Datasets
  whose train split is shorter than ``HISTORY`` (the short ILI setting) skip the pair, recorded.
- pre-training ablations: checkpoint folders given by the ``models`` option
  (``--option models="name=folder;name=folder"``, e.g. the equal-budget runs of ``training/ablations/``:
  DART-Norm vs instance norm, coarse-grid loss on/off); each is a method ``name`` run with the defaults.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinyts.bench.core import BenchContext, SuiteResult
from tinyts.bench.ours import cast_forecaster
from tinyts.bench.peers.forecasters import ForecastFn, ForecastSetup
from tinyts.bench.registry import Option
from tinyts.bench.suites.forecasting import LONG, _Data, dataset_paths, describe, evaluate, settings

NAME = "forecasting_ablation"
DESCRIPTION = (
    "TinyCast ablations on the forecasting protocol: symmetry on/off, SIFI on/off with a 2048-point "
    "history, and pre-training variants from --option models=name=folder;..."
)
#: reads the data folder (--data-dir / $TINYTS_DATA)
NEEDS_DATA = True

#: origins per dataset at the shortest horizon (the main suite uses 80)
ORIGINS = 24
#: history given to the SIFI pair
HISTORY = 2048


@dataclass(frozen=True)
class Variant:
    """One TinyCast configuration: checkpoint folder (None = bundled), forecast options, history."""

    model: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    history: int | None = None

    def factory(self) -> Callable[[ForecastSetup], ForecastFn]:
        def make(setup: ForecastSetup) -> ForecastFn:
            return cast_forecaster(setup, self.model, **self.options)

        return make


INFERENCE: dict[str, Variant] = {
    "tinycast": Variant(),
    "tinycast_no_symmetry": Variant(options={"symmetry": False}),
    "tinycast_h2048": Variant(history=HISTORY),
    "tinycast_h2048_no_sifi": Variant(options={"sifi": False}, history=HISTORY),
}


def parse_models(raw: str) -> dict[str, str]:
    """Parse ``name=folder;name=folder`` (the ``models`` option) into lower-case name -> folder."""
    out: dict[str, str] = {}
    for item in raw.split(";"):
        if not item.strip():
            continue
        name, sep, folder = item.partition("=")
        if not sep or not name.strip() or not folder.strip():
            raise ValueError(f"models entries must be name=folder, got {item!r}")
        if name.strip().lower() in INFERENCE:
            raise ValueError(f"models: {name.strip()!r} is a built-in variant name")
        out[name.strip().lower()] = folder.strip()
    return out


def model_variants(models: Mapping[str, str]) -> dict[str, Variant]:
    """The pre-training variants of the ``models`` option: each folder's model with the defaults."""
    return {name: Variant(model=folder) for name, folder in models.items()}


OPTIONS: dict[str, Option] = {
    "models": Option(
        default={},
        parse=parse_models,
        help="pre-training variants, name=folder;name=folder (checkpoint folders, each run as method name)",
    ),
}


def run(ctx: BenchContext) -> SuiteResult:
    result = SuiteResult()
    models: dict[str, str] = ctx.options["models"]
    variants = {**INFERENCE, **model_variants(models)}
    methods = ctx.select_methods(variants, result, NAME)
    result.notes += [
        "Protocol of the forecasting suite (LTSF splits, train scaling, each channel its own series, "
        f"rolling origins, MSE/MAE standardised, MASE, CRPS) with about {ORIGINS} origins per dataset "
        "at its shortest horizon (stride coprime with the season length).",
        f"tinycast_h2048*: {HISTORY} points of history (SIFI acts beyond the 512-point context); "
        "without SIFI only the last 512 are read, so tinycast_h2048_no_sifi = tinycast on the same "
        "origins. Pre-training variants (--option models=...): "
        f"{';'.join(f'{n}={f}' for n, f in models.items()) or 'none'}.",
    ]
    paths = dataset_paths(ctx, result)
    for table, context, horizons in settings(ctx, paths, result):
        cache: dict[int, _Data] = {}
        for method in methods:
            variant = variants[method]
            history = context
            if variant.history is not None:
                if context != LONG[0]:
                    result.skip(f"{table.name} / {method}", "SIFI pair only in the long (512) setting")
                    continue
                history = variant.history
            if history not in cache:
                try:
                    data = _Data(table, history, horizons, ctx.quick, origins=ORIGINS)
                except ValueError as exc:
                    result.skip(f"{table.name} / {method}", f"history {history}: {exc}")
                    continue
                if np.isnan(data.segment).any():
                    result.skip(f"{table.name} / {method}", "the test split has missing values")
                    continue
                cache[history] = data
                result.notes.append(describe(table.name, data))
            evaluate(result, table.name, method, variant.factory(), cache[history], ctx)
    if not paths:
        result.skip(NAME, f"no LTSF csv (first header cell 'date') found under {ctx.data_dir}")
    return result
