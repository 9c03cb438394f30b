# Experiment (2026-12-05, issue 20): short anomalies drown in TinyPulse's 96-point window scores (KDD-TSAD
# 135: VUS-PR 0.87 but AUC-PR 0.25 vs the first-difference baseline's 0.74: the window score smears a
# 12-point anomaly over ~100 points). Try sharpening the window score with the point errors *inside*
# each window (a bounded multiplicative factor, so points outside anomalous windows cannot overtake
# them, unlike the additive point streams of anomaly_streams.py that were not adopted).
# Designed on a DEVELOPMENT set that no benchmark scores: the corpus series held back from pre-training
# (tinyts.data.real_corpus.is_held_back; ../shared/corpus, never ../shared/data), >= 1,500 points (last
# 6,000 kept), each with one injected anomaly per seed (5 seeds): spike (1-3 points), glitch (8-20
# points: shift, noise or flat), long (100-300 points: shift, noise, drift or amplitude x2).
# Scored with the anomaly suite's protocol (min-max, TSB-AD VUS-PR / AUC-PR, TSB-AD window).
# Run from the repository root: python benchmarks/experiments/anomaly_sharpen_dev.py CACHE_DIR OUT.json
import sys
from pathlib import Path

import numpy as np
from _anomaly_dev import held_back_series, inject, score_cache

from tinyts.bench.ours import bundled_model
from tinyts.bench.peers.detectors import tsb_ad_window
from tinyts.tasks.pulse import anomaly as T

cache, out_path = Path(sys.argv[1]), Path(sys.argv[2])
cache.mkdir(exist_ok=True, parents=True)
model = bundled_model("tinypulse")
L = model.config.context_length

series = held_back_series()
print(len(series), "held-back series", flush=True)


for i, (name, s) in enumerate(series):
    for seed in range(5):
        f = cache / f"{i:03d}_s{seed}.npz"
        if f.exists():
            continue
        x, lab, kind = inject(s, np.random.default_rng(seed * 7919 + i))
        z = (x - x.mean()) / x.std()
        rec = T._reconstruction_errors(model, z, 64, 2, 256)
        fc = T._forecast_errors(model, z, 256)
        fc[: min(L, fc.size)] = np.nan
        np.savez(
            f,
            name=name,
            kind=kind,
            labels=lab,
            window=tsb_ad_window(x[None, :]),
            x=x,
            time=rec["time"],
            fft=rec["fft"],
            forecast=fc,
        )


def local_max(p, k):
    """Max of p over a centred window of k points (NaN ignored)."""
    from numpy.lib.stride_tricks import sliding_window_view

    q = np.pad(np.nan_to_num(p, nan=0.0), (k // 2, k - 1 - k // 2), mode="edge")
    return sliding_window_view(q, k).max(axis=1)


def sharpen(d, lo=0.5, pk=8, wk=96, heads=("time", "fft", "forecast")):
    errs = {k: d[k] for k in T.HEADS}
    W = {k: T._smooth(errs[k], wk) for k in T.HEADS}
    fused = T.fuse_heads(W, "max")["ensemble"]
    if lo >= 1:
        return fused
    # point evidence: mean over the heads of each head's point error relative to its local max
    rel = []
    for k in heads:
        p = T._smooth(errs[k], pk)
        m = local_max(p, wk)
        with np.errstate(all="ignore"):
            rel.append(np.where(m > 0, p / m, np.nan))
    with np.errstate(all="ignore"):
        g = np.nan_to_num(np.nanmean(np.stack(rel), 0), nan=0.0)
    return fused * (lo + (1 - lo) * g)


VARIANTS = {
    "current": lambda d: sharpen(d, lo=1.0),
    "sharp_0.5_p8": lambda d: sharpen(d, 0.5, 8),
    "sharp_0.5_p1": lambda d: sharpen(d, 0.5, 1),
    "sharp_0.7_p8": lambda d: sharpen(d, 0.7, 8),
    "sharp_0.3_p8": lambda d: sharpen(d, 0.3, 8),
    "sharp_0.5_p4_tf": lambda d: sharpen(d, 0.5, 4, heads=("time", "fft")),
    "sharp_0.7_p1": lambda d: sharpen(d, 0.7, 1),
    "sharp_0.7_p2": lambda d: sharpen(d, 0.7, 2),
    "sharp_0.85_p1": lambda d: sharpen(d, 0.85, 1),
    "sharp_0.7_p4": lambda d: sharpen(d, 0.7, 4),
}
res = score_cache(cache, out_path, VARIANTS)
for metric in ("vus_pr", "auc_pr"):
    for grp in ("spike", "glitch", "long", "all"):
        rs = [r for r in res.values() if grp == "all" or r["kind"].startswith(grp)]
        print(
            metric,
            f"{grp:6s} n={len(rs):3d}",
            {v: round(float(np.mean([r[v][metric] for r in rs])), 3) for v in VARIANTS},
        )
