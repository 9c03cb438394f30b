"""Measurement (2026-12-05, issue 20): how much higher are TinyPulse's anomaly scores at a series' ends?

(a) 40 clean sine-plus-noise series of 300-1,200 points (seeded; no anomalies): each head's point error
over the first / last 16 points relative to the middle 64, and the robust ensemble score there.
(b) The project's clean synthetic set (``synth_batch(40, L, seed=12345)``, as anomaly_flags_dev.py) at
400 / 700 / 2,048 points: series with a flag (robust score > 6) in the first 64 points, and elsewhere.

Run: ``python benchmarks/experiments/anomaly_edge_profile.py [WEIGHTS_FOLDER]`` (default: the bundled
TinyPulse); prints one JSON object.
"""

from __future__ import annotations

import json
import sys
import warnings

import numpy as np

from tinyts.data.synth.corpus import synth_batch
from tinyts.models.base import resolve
from tinyts.models.pulse import TinyPulse
from tinyts.tasks.pulse.anomaly import anomaly_scores, window_errors


def clean_sines(count: int = 40, seed: int = 0) -> list[np.ndarray]:
    """The seeded clean sine-plus-noise series of (a), 300-1,200 points (also anomaly_edge_calibration.py)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        n = int(rng.choice([300, 400, 700, 1200]))
        t = np.arange(n)
        x = np.sin(2 * np.pi * t / rng.choice([12, 24, 48, 96]) + rng.uniform(0, 6)) * rng.uniform(0.5, 3)
        out.append(x + rng.normal(0, rng.uniform(0.05, 0.5), n) + 0.002 * rng.normal() * t)
    return out


def main() -> None:
    warnings.simplefilter("ignore", RuntimeWarning)  # nanmean of the forecast head's empty first context
    model = resolve(sys.argv[1] if len(sys.argv) > 1 else "tinypulse", TinyPulse)
    ratios = {k: [] for k in ("time_point", "fft_point", "time", "fft")}
    robust = []
    for x in clean_sines():
        n = x.size
        e = window_errors(model, x)
        for k in ratios:
            mid = np.nanmean(e[k][n // 2 - 32 : n // 2 + 32])
            ratios[k].append([np.nanmean(e[k][:16]) / mid, np.nanmean(e[k][-16:]) / mid])
        s = anomaly_scores(model, x)
        robust.append([s[:16].mean(), s[n // 2 - 8 : n // 2 + 8].mean(), s[-16:].mean()])
    out = {
        "sine_start_end_over_middle": {k: np.mean(v, axis=0).round(2).tolist() for k, v in ratios.items()},
        "sine_robust_start_middle_end": np.mean(robust, axis=0).round(2).tolist(),
        "synthetic_flags": {},
    }
    for n in (400, 700, 2048):
        start = elsewhere = 0
        for x in synth_batch(40, n, seed=12345):
            s = anomaly_scores(model, x)
            start += bool((s[:64] > 6).any())
            elsewhere += bool((s[64:] > 6).any())
        out["synthetic_flags"][n] = {"first_64": start, "elsewhere": elsewhere, "series": 40}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
