"""Probe (issue 18): how much of a clean linear trend does TinyCast extrapolate from a short history?

For each history length ``n``, 20 series ``100 + 2 t + noise`` (noise: ``0.2 sqrt(n)`` times a standard
normal, seeded) are forecast 6 steps ahead (M3 yearly's horizon); the slope of the median forecast from
the last observed point to the 6th step is divided by the true slope (2). 1 = the trend is continued, 0 =
a flat (naive) forecast. Synthetic data only; no benchmark file is read.

Run: ``python benchmarks/experiments/cast_short_trend_probe.py [MODEL ...]`` (bundled names or checkpoint
folders; default ``tinycast``); prints one row per model.
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from tinyts.models.base import resolve
from tinyts.models.cast import TinyCast
from tinyts.tasks.forecast.api import forecast

LENGTHS = (8, 12, 14, 15, 16, 17, 18, 20, 25, 30, 40, 60)
HORIZON = 6


def slope_ratios(model: TinyCast, seed: int = 0) -> dict[int, float]:
    rng = np.random.default_rng(seed)
    out = {}
    for n in LENGTHS:
        xs = [100 + 2 * np.arange(n) + 0.2 * np.sqrt(n) * rng.standard_normal(n) for _ in range(20)]
        q = np.asarray(forecast(model, xs, HORIZON).quantiles)
        median = q.reshape(len(xs), HORIZON, -1)[:, :, q.shape[-1] // 2]
        slope = (median[:, -1] - np.array([x[-1] for x in xs])) / HORIZON
        out[n] = float(np.mean(slope / 2.0))
    return out


def main() -> None:
    torch.set_num_threads(1)
    names = sys.argv[1:] or ["tinycast"]
    print("model | " + " | ".join(f"n={n}" for n in LENGTHS))
    for name in names:
        r = slope_ratios(resolve(name, TinyCast))
        print(name + " | " + " | ".join(f"{r[n]:.2f}" for n in LENGTHS), flush=True)


if __name__ == "__main__":
    main()
