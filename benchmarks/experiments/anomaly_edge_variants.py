"""Variants of the series-edge calibration (2026-12-06, issue 20): crops, points per ratio, largest ratio.

Per variant ``crops,step,cap`` (``EDGE_CROPS``, ``EDGE_STEP``, ``EDGE_MAX_RATIO``): on the clean synthetic
set (``synth_batch(40, L, seed=12345)``, L = 400 / 700) the series with a flag (robust score > 6) in their
first / last 64 points; and 60 injected spikes (+6 standard deviations, one point) within 32 points of
either end of 30 synthetic series of 500 points (``seed=777``): caught (a flag within 2 points of the
spike) and ranked first (the score's maximum within 3 points of it). Output of the run that chose the
default: ``anomaly_edge_variants.txt``.

Run: ``python benchmarks/experiments/anomaly_edge_variants.py 0,16,10 3,16,10 3,16,3 3,64,3 3,64,10``
"""

import sys
import warnings

import numpy as np

import tinyts
from tinyts.data.synth.corpus import synth_batch
from tinyts.tasks.pulse import anomaly as A

warnings.simplefilter("ignore")
m = tinyts.load("tinypulse")


def score(x, c):
    return A.robust_scale(
        A.fuse_heads(A.series_errors(m, np.asarray(x, float)[None], edge_crops=c))["ensemble"]
    )


for spec in sys.argv[1:]:
    c, step, cap = spec.split(",")
    A.EDGE_STEP, A.EDGE_MAX_RATIO = int(step), float(cap)
    c = int(c)
    flags = []
    for n in (400, 700):
        cnt = [0, 0]
        for x in synth_batch(40, n, seed=12345):
            s = score(x, c)
            cnt[0] += bool((s[:64] > 6).any())
            cnt[1] += bool((s[-64:] > 6).any())
        flags.append(cnt)
    # injected spikes at the edges: caught (flag at the spike) and top-ranked
    rng = np.random.default_rng(3)
    caught = top = tot = 0
    for x0 in synth_batch(30, 500, seed=777):
        for pos in (int(rng.integers(0, 32)), int(500 - 1 - rng.integers(0, 32))):
            x = np.array(x0, float)
            x[pos] += 6 * x.std()
            s = score(x, c)
            tot += 1
            caught += bool(s[max(0, pos - 2) : pos + 3].max() > 6)
            top += int(np.argmax(s)) in range(pos - 3, pos + 4)
    print(
        spec,
        "flags start/end 400,700:",
        flags,
        f"edge spikes caught {caught}/{tot} top {top}/{tot}",
        flush=True,
    )
