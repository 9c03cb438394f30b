"""Measurement (2026-12-06, issue 20): the forecast stream's start after its empty first context.

The 96-point moving average of the forecast head's errors shrank to the few points that had one, so
the stream began (48 points before the end of the first context) with an average of one or two errors:
on a synthetic hourly series a false flag at rows 465-466. Now a point needs half its window finite.
Clean synthetic set (``synth_batch(40, L, seed=12345)``, no injected anomalies), L = 2,048 / 4,000: the
series with a flag (robust score > 6) within 64 points of the first context's end, and anywhere;
old rule (any finite point) vs new (half the window).

Run: ``python benchmarks/experiments/anomaly_forecast_start.py``; prints JSON.
"""

from __future__ import annotations

import json
import warnings

import numpy as np

import tinyts
from tinyts.data.synth.corpus import synth_batch
from tinyts.tasks.pulse import anomaly as A

NEW = A._smooth


def old_smooth(s: np.ndarray, k: int) -> np.ndarray:
    return NEW(s, k, min_count=1)  # any finite point


def main() -> None:
    warnings.simplefilter("ignore", RuntimeWarning)
    model = tinyts.load("tinypulse")
    length = model.config.context_length
    out = {}
    for name, fn in (("any_finite (old)", old_smooth), ("half_window (new)", NEW)):
        A._smooth = fn
        res = {}
        for n in (2048, 4000):
            near = anywhere = 0
            for x in synth_batch(40, n, seed=12345):
                s = A.anomaly_scores(model, x)
                near += bool((s[length - 64 : length + 64] > 6).any())
                anywhere += bool((s > 6).any())
            res[str(n)] = {"flag_near_first_context_end": near, "flag_anywhere": anywhere, "series": 40}
        out[name] = res
    A._smooth = NEW
    print(json.dumps(out))


if __name__ == "__main__":
    main()
