"""Measurement (2026-12-06, issue 20): the series-edge calibration of anomaly scores (``edge_crops``).

Clean data only (no anomalies), so every high score at an end is an artefact:
(a) 40 clean sine-plus-noise series of 300-1,200 points (as ``anomaly_edge_profile.py``): the robust
ensemble score over the first 16 / middle 16 / last 16 points;
(b) the project's clean synthetic set (``synth_batch(40, L, seed=12345)``) at 400 / 700 / 2,048
points: series with a flag (robust score > 6) in the first 64 points, the last 64, and elsewhere;
(c) seconds to score one series of 400 / 2,048 / 20,000 points (best of 3, one thread), with and without
the calibration.

Run: ``python benchmarks/experiments/anomaly_edge_calibration.py [WEIGHTS_FOLDER]``; prints JSON.
"""

from __future__ import annotations

import json
import sys
import time
import warnings

import numpy as np
import torch
from anomaly_edge_profile import clean_sines

from tinyts.data.synth.corpus import synth_batch
from tinyts.models.base import resolve
from tinyts.models.pulse import TinyPulse
from tinyts.tasks.pulse.anomaly import fuse_heads, robust_scale, series_errors


def score(model: TinyPulse, x: np.ndarray, crops: int) -> np.ndarray:
    errors = series_errors(model, np.asarray(x, dtype=np.float64)[None, :], edge_crops=crops)
    return robust_scale(fuse_heads(errors)["ensemble"])


def main() -> None:
    warnings.simplefilter("ignore", RuntimeWarning)
    torch.set_num_threads(1)
    model = resolve(sys.argv[1] if len(sys.argv) > 1 else "tinypulse", TinyPulse)
    out: dict[str, dict[str, object]] = {}
    for crops in (0, 3):
        rob = []
        for x in clean_sines():
            n = x.size
            s = score(model, x, crops)
            rob.append([s[:16].mean(), s[n // 2 - 8 : n // 2 + 8].mean(), s[-16:].mean()])
        flags = {}
        for n in (400, 700, 2048):
            counts = [0, 0, 0]
            for x in synth_batch(40, n, seed=12345):
                s = score(model, x, crops)
                counts[0] += bool((s[:64] > 6).any())
                counts[1] += bool((s[-64:] > 6).any())
                counts[2] += bool((s[64:-64] > 6).any())
            flags[str(n)] = {
                "first_64": counts[0],
                "last_64": counts[1],
                "elsewhere": counts[2],
                "series": 40,
            }
        seconds = {}
        for n in (400, 2048, 20000):
            x = np.sin(np.arange(n) / 7.0) + 0.1 * np.random.default_rng(1).normal(size=n)
            times = []
            for _ in range(3):
                start = time.perf_counter()
                score(model, x, crops)
                times.append(time.perf_counter() - start)
            seconds[str(n)] = round(min(times), 3)
        out[f"edge_crops={crops}"] = {
            "sine_robust_start_middle_end": np.mean(rob, axis=0).round(2).tolist(),
            "synthetic_flags": flags,
            "seconds_per_series": seconds,
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
