"""Inference switches of the bundled TinyCast on validation data only (issue 18).

``tinyts bench forecasting_ablation`` measures the inference switches on the LTSF *test* splits, which may
report them but must not choose them. This script scores the same model with several option sets on the
validation data of ``tinyts bench pretrain_ablation`` (LTSF validation windows of ETTh1 and ETTm1, and the
corpus series held back from pre-training, 4 origins each), with that suite's paired bootstrap, so that a
default can be chosen where it is allowed to be.

Run: ``python benchmarks/experiments/cast_inference_val.py DATA_DIR CORPUS OUT.json NAME=JSON_OPTIONS ...``,
e.g. ``default={} no_symmetry={"symmetry":false}``; the model is the bundled ``tinycast``. Two keys are
test-time views of this script, not options of ``forecast``, tried here before any code would change:

- ``"trend": k``: the history with a linear trend of slope ``+c`` and ``-c`` added (``c = k`` times the
  series' mean absolute step), each forecast with that line's continuation taken off again, the quantiles of
  the two averaged (as the sign-flip symmetry averages ``x`` and ``-x``);
- ``"trend_range": k``: the same with ``c = k`` times the history's range over its length (a line that
  rises by ``k`` ranges over the window);
- ``"jitter": [n, k]``: the quantiles averaged over the plain history and ``n`` copies with Gaussian noise of
  ``k`` times the mean absolute step added (seeded).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import tinyts.bench.suites._pretrain_val_cast as val
from tinyts.bench.core import BenchContext, SuiteResult
from tinyts.bench.ours import bundled_model, cast_forecaster
from tinyts.bench.peers.forecasters import ForecastOutput
from tinyts.bench.suites.pretrain_ablation import DATASETS


def with_views(
    fn: Any, trend: float = 0.0, jitter: tuple[int, float] | None = None, by_range: bool = False
) -> Any:
    """``fn`` (contexts, horizon) -> ForecastOutput, averaged over the test-time views in the docstring."""

    def views(contexts: np.ndarray, horizon: int) -> ForecastOutput:
        x = np.asarray(contexts, dtype=np.float64)
        length = x.shape[1]
        step = (
            np.nanmean(np.abs(np.diff(x, axis=1)), axis=1, keepdims=True)
            if length > 1
            else np.ones((len(x), 1))
        )
        step = np.where(np.isfinite(step) & (step > 0), step, 1.0)
        if by_range:
            span = (np.nanmax(x, axis=1, keepdims=True) - np.nanmin(x, axis=1, keepdims=True)) / length
            step = np.where(np.isfinite(span) & (span > 0), span, step)
        t = np.arange(-length + 1, 1, dtype=np.float64)[None, :]
        tf = np.arange(1, horizon + 1, dtype=np.float64)[None, :, None]
        quants = []
        if trend:
            for sign in (1.0, -1.0):
                c = sign * trend * step
                q = fn(x + c * t, horizon).quantiles
                quants.append(q - c[:, :, None] * tf)
        else:
            quants.append(fn(x, horizon).quantiles)
        if jitter:
            n, k = jitter
            rng = np.random.default_rng(0)
            for _ in range(int(n)):
                quants.append(fn(x + rng.normal(size=x.shape) * k * step, horizon).quantiles)
        q = np.sort(np.mean(quants, axis=0), axis=-1)
        return ForecastOutput(q[..., 4].copy(), q)

    return views


def forecaster(setup: Any, opts: dict[str, Any], net: Any) -> Any:
    opts = dict(opts)
    by_range = "trend_range" in opts
    trend = float(opts.pop("trend_range" if by_range else "trend", 0.0))
    jitter = opts.pop("jitter", None)
    fn = cast_forecaster(setup, net, **opts)
    if not (trend or jitter):
        return fn
    return with_views(fn, trend, tuple(jitter) if jitter else None, by_range)


def main() -> None:
    data_dir, corpus, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    variants: dict[str, dict[str, Any]] = {}
    for arg in sys.argv[4:]:
        name, _, options = arg.partition("=")
        variants[name] = json.loads(options)
    torch.set_num_threads(1)
    net = bundled_model("tinycast")
    # score_cast_runs calls cast_forecaster(setup, model) per run; each "model" here is a variant's options
    val.cast_forecaster = lambda setup, opts: forecaster(setup, opts, net)  # type: ignore[assignment]
    ctx = BenchContext(data_dir=data_dir, out_dir=out.parent)
    result = SuiteResult()
    start = time.perf_counter()
    val.score_cast_runs(ctx, result, variants, DATASETS, corpus)
    rows = [
        {"dataset": r.dataset, "method": r.method, "metric": r.metric, "value": r.value, **r.extra}
        for r in result.rows
    ]
    summary = {
        "variants": variants,
        "seconds": round(time.perf_counter() - start, 1),
        "notes": result.notes,
        "rows": rows,
    }
    out.write_text(json.dumps(summary, indent=1, default=str) + "\n", encoding="utf-8")
    for r in rows:
        if r["dataset"] == "all" or r["metric"] == "val_rel_mase":
            print(r)


if __name__ == "__main__":
    main()
