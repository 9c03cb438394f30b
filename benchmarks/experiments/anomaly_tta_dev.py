"""Development experiment (issue 20): do TinyPulse's test-time views help anomaly scores too?

Imputation gained 0.5-2.5 % MSE from averaging the reconstructions of a window, its negation, its time
reversal and both (``impute_tta_dev.py``). Here the same views feed the anomaly heads: the time and FFT
heads' reconstructions are averaged over the four views, the forecast head's over the two that keep
time's direction (the window and its negation); the errors then go through the default post-processing
(96-point smoothing, max fusion, sharpening 0.3, no boost).

Data: the development cases of ``anomaly_sharpen_dev.py`` (held-back corpus series with one injected
anomaly per seed, 5 seeds; never ../shared/data), rebuilt here with the same seeds. Scored with the
anomaly suite's protocol (min-max, TSB-AD VUS-PR / AUC-PR, TSB-AD window).

Run from the repository root: ``python benchmarks/experiments/anomaly_tta_dev.py OUT.json``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))

from _anomaly_dev import held_back_series, inject

from tinyts.bench.ours import bundled_model
from tinyts.bench.peers.detectors import tsb_ad_window
from tinyts.bench.suites.anomaly import evaluate_score
from tinyts.tasks.pulse import anomaly as T

VIEWS = {"base": ((1.0, False),), "tta": ((1.0, False), (-1.0, False), (1.0, True), (-1.0, True))}


def main() -> None:
    out_path = Path(sys.argv[1])
    torch.set_num_threads(1)
    model = bundled_model("tinypulse")
    length = model.config.context_length
    series = held_back_series()
    print(len(series), "held-back series", flush=True)
    rows = []
    t0 = time.perf_counter()
    for i, (name, s) in enumerate(series):
        for seed in range(5):
            x, lab, kind = inject(s, np.random.default_rng(seed * 7919 + i))
            z = (x - x.mean()) / x.std()
            window = tsb_ad_window(x[None, :])
            row: dict = {"name": name, "seed": seed, "kind": kind}
            for key, views in VIEWS.items():
                rec = T._reconstruction_errors(model, z, 64, 2, 256, views=views)
                fc = T._forecast_errors(model, z, 256, views=views)
                fc[: min(length, fc.size)] = np.nan
                errors = {
                    **{
                        k: T._smooth(v, 96)
                        for k, v in (("time", rec["time"]), ("fft", rec["fft"]), ("forecast", fc))
                    },
                    "time_point": rec["time"],
                    "fft_point": rec["fft"],
                    "forecast_point": fc,
                }
                for mode in ("ensemble", "time", "fft", "forecast"):
                    score = T.fuse_heads(errors, "max")[mode]
                    m = evaluate_score(score, lab, window)
                    row[f"{key}/{mode}/vus_pr"] = m["vus_pr"]
                    row[f"{key}/{mode}/auc_pr"] = m["auc_pr"]
            rows.append(row)
        done = rows[-1]
        print(
            i,
            name,
            f"ens vus base {done['base/ensemble/vus_pr']:.3f} tta {done['tta/ensemble/vus_pr']:.3f}",
            f"{time.perf_counter() - t0:.0f}s",
            flush=True,
        )
    summary = {k: float(np.mean([r[k] for r in rows])) for k in rows[0] if "/" in k}
    for group in ("spike", "glitch", "long"):
        sel = [r for r in rows if r["kind"].startswith(group)]
        for k in (
            "base/ensemble/vus_pr",
            "tta/ensemble/vus_pr",
            "base/ensemble/auc_pr",
            "tta/ensemble/auc_pr",
        ):
            summary[f"{group}/{k}"] = float(np.mean([r[k] for r in sel]))
    print(json.dumps(summary, indent=1))
    out_path.write_text(json.dumps({"summary": summary, "cases": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
