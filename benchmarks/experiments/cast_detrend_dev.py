"""Development experiment (issue 18): forecast the detrended history and add the trend back?

TinyCast extrapolates the trends of short yearly / quarterly series too weakly (docs/tinycast.md). Tried:
fit a least-squares line to the history, let TinyCast forecast the residual, and add the line's
continuation back (``damp`` times its slope: 1 = the full line, 0.5 = half of it, as Theta does), with the
quantiles shifted by the same amount.

Data: the held-back corpus cases of ``cast_short_upsample_dev.py`` (never the M3 / NN3 / NN5 files), with
histories of 14-100 points.

Run: ``python benchmarks/experiments/cast_detrend_dev.py [CORPUS]``; writes the JSON next to this file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
import cast_short_upsample_dev as dev

from tinyts.models.base import resolve
from tinyts.models.cast import TinyCast
from tinyts.tasks.forecast.api import forecast

dev.LENGTHS = (14, 20, 30, 45, 70, 100)
DAMPS = (None, 1.0, 0.5)  # None = plain TinyCast


def run(model: TinyCast, data: list, h: int, damp: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Median and quantiles; ``damp=None``: TinyCast on the raw history."""
    hists, lines = [], []
    for x, _ in data:
        t = np.arange(len(x), dtype=np.float64)
        fut = np.arange(len(x), len(x) + h, dtype=np.float64)
        if damp is None:
            hists.append(x)
            lines.append(np.zeros(h))
            continue
        slope, icept = np.polyfit(t, x, 1)
        hists.append(x - (slope * t + icept))
        end = slope * t[-1] + icept  # the line at the last observed point, continued with a damped slope
        lines.append(end + damp * slope * (fut - t[-1]))
    q = np.asarray(forecast(model, hists, h, quantiles=tuple(dev.LEVELS)).quantiles, dtype=np.float64)
    q = q + np.stack(lines)[:, :, None]
    return q[:, :, 4], q


def main() -> None:
    corpus = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/corpus")
    torch.set_num_threads(1)
    model = resolve("tinycast", TinyCast)
    out: dict = {"lengths": dev.LENGTHS, "results": {}}
    for freq, data in dev.cases(corpus).items():
        h, m = dev.HORIZON[freq], dev.PERIOD[freq]
        lengths = np.array([len(x) for x, _ in data])
        for damp in DAMPS:
            point, quant = run(model, data, h, damp)
            key = f"{freq}/{'plain' if damp is None else f'damp{damp}'}"
            r = dev.scores(data, point, quant, m)
            out["results"][key] = r
            per = {}
            for length in dev.LENGTHS:
                sel = lengths == length
                if sel.any():
                    sub = [d for d, s in zip(data, sel, strict=True) if s]
                    per[length] = dev.scores(sub, point[sel], quant[sel], m)["gmean_case_rel_mase"]
            out["results"][key]["gmean_by_length"] = per
            print(
                key,
                len(data),
                round(r["gmean_case_rel_mase"], 4),
                round(r["rel_wql_vs_naive"], 4),
                {k: round(v, 3) for k, v in per.items()},
                flush=True,
            )
    target = Path(__file__).with_suffix(".json")
    target.write_text(json.dumps(out, indent=1) + "\n")
    print("->", target)


if __name__ == "__main__":
    main()
