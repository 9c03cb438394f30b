# Experiment (2026-12-06, issue 20): a point stream fused with the window scores, tried again with the
# step-100,253 weights. On KDD-TSAD 135 these weights' raw point errors put the 12-point anomaly at the
# top of the whole series (FFT and forecast heads: the series' largest squared error lies inside it),
# but the 96-point window scores rank other windows as high, and sharpening (a factor in [0.7, 1]) only
# reorders points inside a window. Here a point is boosted when its own error is *extreme for this
# series*: per head, the squared error over the series' q-quantile of that head's errors; heads combined
# by their geometric mean (a real anomaly surprises every head; one head's quirk does not) or max;
# evidence B = clip((G - 1) / (tau - 1), 0, 1) spread over m points by a centred max filter; final score
# = minmax(S + beta * B) ("add") or max(S, B) ("max"), S the default sharpened ensemble.
# Designed on the DEVELOPMENT set of anomaly_sharpen_dev.py (corpus series held back from pre-training,
# one injected spike / glitch / long anomaly per seed; never ../shared/data): its cache of raw errors.
# Run from the repository root, after anomaly_sharpen_dev.py CACHE ...:
#   python benchmarks/experiments/anomaly_point_dev.py CACHE OUT.json
import sys
from pathlib import Path

import numpy as np
from _anomaly_dev import score_cache
from numpy.lib.stride_tricks import sliding_window_view

from tinyts.tasks.pulse import anomaly as T

cache, out_path = Path(sys.argv[1]), Path(sys.argv[2])


def default(d):
    """The shipped ensemble: 96-point window scores, max fusion, sharpened by the point errors."""
    errors = {**{k: T._smooth(d[k], 96) for k in T.HEADS}, **{f"{k}_point": d[k] for k in T.HEADS}}
    return T.fuse_heads(errors, "max")["ensemble"]


def head(d, k):
    """One head's shipped stream (mode="time" / "fft" / "forecast"): window score, sharpened."""
    errors = {**{h: T._smooth(d[h], 96) for h in T.HEADS}, **{f"{h}_point": d[h] for h in T.HEADS}}
    return T.fuse_heads(errors, "max")[k]


def max_filter(p, m):
    if m <= 1:
        return p
    q = np.pad(p, (m // 2, m - 1 - m // 2), constant_values=0.0)
    return sliding_window_view(q, m).max(axis=1)


def evidence(d, q, tau, m, combine, heads=T.HEADS):
    rel = []
    for k in heads:
        p = np.asarray(d[k], dtype=np.float64)
        ok = np.isfinite(p)
        ref = np.quantile(p[ok], q) if ok.any() else 0.0
        rel.append(np.where(ok, p / max(ref, 1e-12), np.nan))
    r = np.stack(rel)
    if combine == "geo":
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.exp(np.nanmean(np.log(np.maximum(r, 1e-12)), axis=0))
    elif combine == "max":
        g = np.nanmax(r, axis=0)
    else:  # min: every head must agree
        g = np.nanmin(r, axis=0)
    g = np.nan_to_num(g, nan=0.0)
    b = np.clip((g - 1.0) / (tau - 1.0), 0.0, 1.0)
    return max_filter(b, m)


def fused(d, q=0.99, tau=10.0, m=8, combine="geo", beta=1.0, how="add", heads=T.HEADS):
    s = default(d)
    b = evidence(d, q, tau, m, combine, heads)
    if how == "max":
        return np.maximum(s, b)
    return T._minmax(s + beta * b)


VARIANTS = {"default": default}
for q in (0.99, 0.999):
    for tau in (4.0, 10.0, 30.0):
        for combine in ("geo", "max"):
            VARIANTS[f"add_q{q}_t{tau:g}_{combine}_m8_b1"] = lambda d, q=q, tau=tau, c=combine: fused(
                d, q, tau, 8, c, 1.0, "add"
            )
for m in (1, 16):
    VARIANTS[f"add_q0.99_t10_geo_m{m}_b1"] = lambda d, m=m: fused(d, 0.99, 10.0, m, "geo", 1.0, "add")
for beta in (0.3, 3.0):
    VARIANTS[f"add_q0.99_t10_geo_m8_b{beta:g}"] = lambda d, b=beta: fused(d, 0.99, 10.0, 8, "geo", b, "add")
# second grid, around the best of the first (q 0.99, tau 10, geometric mean, m 16)
for m in (24, 32, 48):
    VARIANTS[f"add_q0.99_t10_geo_m{m}_b1"] = lambda d, m=m: fused(d, 0.99, 10.0, m, "geo", 1.0, "add")
for q in (0.98, 0.995):
    VARIANTS[f"add_q{q}_t10_geo_m16_b1"] = lambda d, q=q: fused(d, q, 10.0, 16, "geo", 1.0, "add")
for tau in (6.0, 15.0):
    VARIANTS[f"add_q0.99_t{tau:g}_geo_m16_b1"] = lambda d, t=tau: fused(d, 0.99, t, 16, "geo", 1.0, "add")
VARIANTS["add_q0.99_t10_geo_m16_b0.5"] = lambda d: fused(d, 0.99, 10.0, 16, "geo", 0.5, "add")
VARIANTS["add_q0.99_t10_geo_m16_b1_tf"] = lambda d: fused(
    d, 0.99, 10.0, 16, "geo", 1.0, "add", ("time", "fft")
)
# single-head modes: each head boosted by its own evidence
for k in T.HEADS:
    VARIANTS[f"head_{k}"] = lambda d, k=k: head(d, k)
    VARIANTS[f"head_{k}_boost"] = lambda d, k=k: T._minmax(
        head(d, k) + evidence(d, 0.99, 10.0, 16, "geo", (k,))
    )
VARIANTS["max_q0.99_t10_geo_m8"] = lambda d: fused(d, 0.99, 10.0, 8, "geo", how="max")
VARIANTS["add_q0.99_t10_min_m8_b1"] = lambda d: fused(d, 0.99, 10.0, 8, "min", 1.0, "add")
VARIANTS["add_q0.99_t10_geo_m8_b1_tf"] = lambda d: fused(d, 0.99, 10.0, 8, "geo", 1.0, "add", ("time", "fft"))

if __name__ == "__main__":
    res = score_cache(cache, out_path, VARIANTS)
    for metric in ("vus_pr", "auc_pr"):
        print(metric)
        groups = ("spike", "glitch", "long", "all")
        for v in VARIANTS:
            vals = []
            for grp in groups:
                rs = [r for r in res.values() if grp == "all" or r["kind"].startswith(grp)]
                vals.append(float(np.mean([r[v][metric] for r in rs])))
            print(f"  {v:34s} " + " ".join(f"{g}={x:.3f}" for g, x in zip(groups, vals, strict=True)))
