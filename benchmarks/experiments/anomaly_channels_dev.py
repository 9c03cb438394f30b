# Experiment (2026-12-05, issue 20): how to combine the channels of a multivariate series into one
# anomaly score, designed on a DEVELOPMENT set that is not scored by `tinyts bench anomaly`'s labels:
# the TRAIN parts of the 12 SMAP/MSL channels (column 0 telemetry, the others one-hot commands, as
# telemanom ships them) with synthetic anomalies injected into column 0 (spike, level shift, noise
# burst, stuck value, drift; 2 per series, 3 seeds). The commands' own switching is left as it is, so a
# fusion rule that lets command toggles dominate pays for it here.
# Raw per-point squared errors of TinyPulse's three heads (bundled weights, tinyts.tasks.anomaly's
# one-pass procedure) are computed once per channel; fusion variants are then scored with the anomaly
# suite's protocol (min-max, TSB-AD VUS-PR / AUC-PR, TSB-AD window).
# Run from the repository root: python benchmarks/experiments/anomaly_channels_dev.py CACHE_DIR OUT.json
import json
import sys
import time
from pathlib import Path

import numpy as np

from tinyts.bench.ours import bundled_model
from tinyts.bench.peers.detectors import tsb_ad_window
from tinyts.bench.suites import anomaly as A
from tinyts.tasks import anomaly as T

cache, out_path = Path(sys.argv[1]), Path(sys.argv[2])
cache.mkdir(exist_ok=True, parents=True)
root = Path("../shared/data/anomaly/SMAP_MSL/train")
model = bundled_model("tinypulse")
L = model.config.context_length
KINDS = ("spike", "shift", "noise", "stuck", "drift")


def errors(ch):
    sd = ch.std()
    if not sd > 0:
        z = np.zeros(ch.size)
        return {k: np.zeros(ch.size) for k in T.HEADS}
    z = (ch - ch.mean()) / sd
    rec = T._reconstruction_errors(model, z, 64, 2, 256)
    fc = T._forecast_errors(model, z, 256)
    fc[: min(L, fc.size)] = np.nan
    return {"time": rec["time"], "fft": rec["fft"], "forecast": fc}


def inject(x0, rng):
    x = x0.copy()
    t = x.size
    lab = np.zeros(t, np.int8)
    sd = x0.std() if x0.std() > 0 else 1.0
    kinds = rng.choice(KINDS, size=2, replace=False)
    # two anomalies in different halves of the series, away from the first 10 %
    for h, kind in enumerate(kinds):
        lo, hi = int(t * (0.1 + 0.45 * h)), int(t * (0.5 + 0.45 * h))
        n = {
            "spike": int(rng.integers(1, 4)),
            "shift": int(rng.integers(50, 150)),
            "noise": int(rng.integers(50, 150)),
            "stuck": int(rng.integers(100, 200)),
            "drift": int(rng.integers(100, 300)),
        }[kind]
        n = min(n, (hi - lo) // 2)
        s = int(rng.integers(lo, hi - n))
        sign = rng.choice([-1.0, 1.0])
        if kind == "spike":
            x[s : s + n] += sign * rng.uniform(4, 6) * sd
        elif kind == "shift":
            x[s : s + n] += sign * rng.uniform(2, 3) * sd
        elif kind == "noise":
            x[s : s + n] += rng.normal(0, 1.0 * sd, n)
        elif kind == "stuck":
            x[s : s + n] = x[s]
        else:
            x[s : s + n] += sign * np.linspace(0, 3 * sd, n)
        lab[s : s + n] = 1
    return x, lab, [str(k) for k in kinds]


# ---- cache: command channels once per base series, column 0 once per seed
for f in sorted(root.glob("*.npy")):
    base = np.load(f).astype(np.float64)
    cf = cache / f"{f.stem}_cmd.npz"
    if not cf.exists():
        t0 = time.time()
        per = [errors(base[:, j]) for j in range(1, base.shape[1])]
        np.savez(cf, **{k: np.stack([p[k] for p in per]) for k in T.HEADS})
        print(f.stem, base.shape, f"commands {time.time() - t0:.1f}s", flush=True)
    for seed in range(3):
        sf = cache / f"{f.stem}_s{seed}.npz"
        if sf.exists():
            continue
        rng = np.random.default_rng(1000 * seed + sum(map(ord, f.stem)))
        x0, lab, kinds = inject(base[:, 0], rng)
        e = errors(x0)
        vals = base.copy()
        vals[:, 0] = x0
        np.savez(
            sf,
            labels=lab,
            kinds=kinds,
            window=tsb_ad_window(vals),
            x0=x0,
            distinct=np.array([len(np.unique(vals[:, j])) for j in range(vals.shape[1])]),
            **{k: e[k][None] for k in T.HEADS},
        )


# ---- fusion variants
def minmax(s):
    lo, hi = np.nanmin(s), np.nanmax(s)
    return np.zeros_like(s) if not hi > lo else (s - lo) / (hi - lo)


def heads_over(chans, keep, reduce="max", norm=None):
    out = {}
    for k in T.HEADS:
        st = np.stack([T._smooth(c, 96) for c in chans[k][keep]])
        if norm is not None:  # each channel in units of its own typical window error
            with np.errstate(all="ignore"):
                if norm == "median":
                    med = np.nanmedian(st, axis=1, keepdims=True)
                elif norm == "mean":
                    med = np.nanmean(st, axis=1, keepdims=True)
                else:
                    med = np.nanpercentile(st, float(norm[1:]), axis=1, keepdims=True)
            med = np.nan_to_num(med, nan=0.0)
            st = st / np.maximum(med, 1e-3 * np.nanmax(med) + 1e-12)
        with np.errstate(all="ignore"):
            out[k] = np.nanmax(st, 0) if reduce == "max" else np.nanmean(st, 0)
    return out


def ensemble(h, fuse="max"):
    return T.fuse_heads(h, fuse)["ensemble"]


def variants(chans, distinct):
    n = chans["time"].shape[0]
    allc = np.ones(n, bool)
    cont = distinct > 2
    cont5 = distinct > 5
    if not cont.any():
        cont = allc
    if not cont5.any():
        cont5 = allc
    return {
        "current_max": ensemble(heads_over(chans, allc)),
        "cont2_max": ensemble(heads_over(chans, cont)),
        "cont5_max": ensemble(heads_over(chans, cont5)),
        "median_norm_max": ensemble(heads_over(chans, allc, norm="median")),
        "mean": ensemble(heads_over(chans, allc, reduce="mean")),
        "channel0": ensemble(heads_over(chans, np.arange(n) == 0)),
        "mean_norm_max": ensemble(heads_over(chans, allc, norm="mean")),
        "p99_norm_max": ensemble(heads_over(chans, allc, norm="p99")),
        "cont2_mean_norm_max": ensemble(heads_over(chans, cont, norm="mean")),
        "cont2_forecast": T.fuse_heads(heads_over(chans, cont))["forecast"],
        "current_forecast": T.fuse_heads(heads_over(chans, allc))["forecast"],
    }


res = {}
for sf in sorted(cache.glob("*_s*.npz")):
    d = dict(np.load(sf, allow_pickle=True))
    cmd = dict(np.load(cache / (sf.stem.split("_s")[0] + "_cmd.npz")))
    chans = {k: np.concatenate([d[k], cmd[k]]) for k in T.HEADS}
    r = {
        v: A.evaluate_score(s, d["labels"], int(d["window"]))
        for v, s in variants(chans, d["distinct"]).items()
    }
    res[sf.stem] = {"kinds": [str(k) for k in d["kinds"]], **r}
    print(sf.stem, list(d["kinds"]), {v: round(m["vus_pr"], 3) for v, m in r.items()}, flush=True)
out_path.write_text(json.dumps(res, indent=1))
for metric in ("vus_pr", "auc_pr"):
    means = {
        v: round(float(np.mean([r[v][metric] for r in res.values()])), 3)
        for v in next(iter(res.values()))
        if v != "kinds"
    }
    print(metric, means)
