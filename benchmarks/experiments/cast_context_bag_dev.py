"""Development experiment (issue 18): average TinyCast's quantiles over shortened copies of the history.

Idea ("context bagging"): a short business series gives TinyCast one reading of its trend; the same
history with its oldest points dropped gives another. Averaging the quantile forecasts of the full
history and of one or two shortened copies (quantile averaging, i.e. Vincentization) reduces the variance
of the forecast at the cost of extra model calls. Variants (``drop`` = fractions of the history removed
from its start, each copy keeping at least ``MIN_KEEP`` points):

- ``plain``: the full history only (today's inference);
- ``short25``: only the history without its oldest quarter (is shorter simply better?);
- ``bag2``: full + without the oldest quarter;
- ``bag3``: full + without the oldest sixth + without the oldest third;
- ``bag3_half``: full + without the oldest quarter + without the oldest half.

Data: only corpus series held back from pre-training (``RealCorpus(..., split="heldout")``), never the
M3 / NN3 / NN5 evaluation files; the cases and scores of ``cast_short_upsample_dev.py`` with the history
lengths of ``cast_theta_dev.py`` (14-100 points).

Run: ``python benchmarks/experiments/cast_context_bag_dev.py [CORPUS] [MODEL]``; writes the JSON next to
this file.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
import cast_short_upsample_dev as dev

from tinyts.models.base import resolve
from tinyts.models.cast import TinyCast
from tinyts.tasks.forecast.api import forecast

dev.LENGTHS = (14, 20, 30, 45, 70, 100)
MIN_KEEP = 8
VARIANTS: dict[str, tuple[float, ...]] = {
    "plain": (0.0,),
    "short25": (0.25,),
    "bag2": (0.0, 0.25),
    "bag3": (0.0, 1 / 6, 1 / 3),
    "bag3_half": (0.0, 0.25, 0.5),
}


def cut(x: np.ndarray, frac: float) -> np.ndarray:
    """``x`` without its oldest ``frac`` share, keeping at least ``MIN_KEEP`` points."""
    drop = min(round(frac * len(x)), max(0, len(x) - MIN_KEEP))
    return x[drop:]


def main() -> None:
    corpus = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/corpus")
    model_name = sys.argv[2] if len(sys.argv) > 2 else "tinycast"
    torch.set_num_threads(1)
    model = resolve(model_name, TinyCast)
    fracs = sorted({f for v in VARIANTS.values() for f in v})
    out: dict = {"model": model_name, "lengths": dev.LENGTHS, "origins": dev.ORIGINS, "results": {}}
    for freq, data in dev.cases(corpus).items():
        h, m = dev.HORIZON[freq], dev.PERIOD[freq]
        quant: dict[float, np.ndarray] = {}
        for f in fracs:
            t0 = time.perf_counter()
            res = forecast(model, [cut(x, f) for x, _ in data], h, quantiles=tuple(dev.LEVELS))
            quant[f] = np.asarray(res.quantiles, dtype=np.float64)
            print(freq, len(data), f"drop {f:.3f}: {time.perf_counter() - t0:.1f} s", flush=True)
        for name, parts in VARIANTS.items():
            q = np.mean([quant[f] for f in parts], axis=0)
            dev.record(out, freq, name, data, q[:, :, 4], q, m)
    dev.save(out, __file__)


if __name__ == "__main__":
    main()
