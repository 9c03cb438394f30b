"""Development experiment (issue 18): combine TinyCast with the Theta method on short series.

TinyCast extrapolates the trends of short yearly / quarterly series too weakly (docs/tinycast.md); the
Theta method (``tinyts.tasks.forecast.theta``) is strong exactly there. Tried: the point forecast
``w * median_TinyCast + (1 - w) * theta`` with TinyCast's quantiles shifted by the same amount, for
several ``w``, split by frequency and history length.

Data: only corpus series held back from pre-training (``RealCorpus(..., split="heldout")``), never the
M3 / NN3 / NN5 evaluation files; the cases and scores of ``cast_short_upsample_dev.py`` (origins at the
end and every ``h`` steps before it, ``L`` history points), with longer histories added (M3 monthly
histories are 48-126 points).

Run: ``python benchmarks/experiments/cast_theta_dev.py [CORPUS]``; writes the JSON next to this file.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
import cast_short_upsample_dev as dev
from theta import theta_forecast

from tinyts.models.base import resolve
from tinyts.models.cast import TinyCast
from tinyts.tasks.forecast.api import forecast

dev.LENGTHS = (14, 20, 30, 45, 70, 100)
WEIGHTS = (1.0, 0.75, 0.6, 0.5, 0.4, 0.25, 0.0)  # weight of TinyCast


def main() -> None:
    corpus = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/corpus")
    model_name = sys.argv[2] if len(sys.argv) > 2 else "tinycast"
    torch.set_num_threads(1)
    model = resolve(model_name, TinyCast)
    out: dict = {"model": model_name, "lengths": dev.LENGTHS, "origins": dev.ORIGINS, "results": {}}
    for freq, data in dev.cases(corpus).items():
        h, m = dev.HORIZON[freq], dev.PERIOD[freq]
        t0 = time.perf_counter()
        res = forecast(model, [x for x, _ in data], h, quantiles=tuple(dev.LEVELS))
        q = np.asarray(res.quantiles, dtype=np.float64)
        t_cast = time.perf_counter() - t0
        t0 = time.perf_counter()
        th = np.stack([theta_forecast(x, h, m) for x, _ in data])
        t_theta = time.perf_counter() - t0
        print(freq, len(data), f"tinycast {t_cast:.1f} s, theta {t_theta:.1f} s", flush=True)
        for w in WEIGHTS:
            point = w * q[:, :, 4] + (1 - w) * th
            quant = q + (point - q[:, :, 4])[:, :, None]
            dev.record(out, freq, f"w{w}", data, point, quant, m)
    dev.save(out, __file__)


if __name__ == "__main__":
    main()
