# Experiment (2026-12-05, issue 20): post-processing of TinyPulse's per-point head errors into one score.
# Input: the cache of anomaly_streams_cache.py (raw squared errors per head and channel, bundled weights).
# Every variant is scored with the anomaly suite's protocol (tinyts.bench.suites.anomaly.evaluate_score:
# min-max inside the benchmark, TSB-AD VUS-PR / AUC-PR with the series' TSB-AD window).
# Run from the repository root: python benchmarks/experiments/anomaly_streams.py /tmp/anom_cache OUT.json
import json, sys, time, numpy as np
from pathlib import Path
from tinyts.bench.suites import anomaly as A

cache, out_path = Path(sys.argv[1]), Path(sys.argv[2])
only = sys.argv[3].split(',') if len(sys.argv) > 3 else None


def smooth_old(s, k):  # today's: NaN -> 0, edges repeated
    k = min(k, s.size)
    s = np.nan_to_num(s, nan=0.0)
    if k <= 1:
        return s
    p = np.pad(s, (k // 2, k - 1 - k // 2), mode='edge'); c = np.concatenate([[0.0], np.cumsum(p)])
    return (c[k:] - c[:-k]) / k


def smooth(s, k):  # centred mean over the finite points of the window (edges: shorter windows)
    k = min(k, s.size)
    if k <= 1:
        return s
    ok = np.isfinite(s); v = np.where(ok, s, 0.0)
    lo, hi = k // 2, k - 1 - k // 2
    c = np.concatenate([[0.0], np.cumsum(v)]); n = np.concatenate([[0], np.cumsum(ok)])
    i = np.arange(s.size); a = np.clip(i - lo, 0, s.size); b = np.clip(i + hi + 1, 0, s.size)
    cnt = n[b] - n[a]
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(cnt > 0, (c[b] - c[a]) / np.maximum(cnt, 1), np.nan)


def rz(a, floor=1e-3):
    med = np.nanmedian(a); mad = 1.4826 * np.nanmedian(np.abs(a - med))
    return (a - med) / max(mad, floor)


def minmax(s):
    lo, hi = np.nanmin(s), np.nanmax(s)
    return np.zeros_like(s) if not hi > lo else (s - lo) / (hi - lo)


def fuse(streams, how):  # list of (T,) arrays with NaN where a head has nothing
    st = np.stack(streams)
    with np.errstate(all='ignore'):
        r = np.nanmax(st, 0) if how == 'max' else np.nanmean(st, 0)
    return np.nan_to_num(r, nan=0.0)


def current(d):
    per = {k: minmax(np.max(np.stack([smooth_old(c, 96) for c in d[k]]), 0)) for k in ('time', 'fft', 'forecast')}
    return np.maximum.reduce(list(per.values()))


def calibrated(d, heads=('time', 'fft', 'forecast'), point_k=8, window_k=96, head_fuse='mean', streams='both',
               point_on='abs'):
    chans = []
    for c in range(d['time'].shape[0]):
        hs = []
        for k in heads:
            e = d[k][c]
            parts = []
            if streams in ('both', 'window'):
                parts.append(rz(smooth(e, window_k)))
            if streams in ('both', 'point'):
                base = np.sqrt(e) if point_on == 'abs' else e
                parts.append(rz(smooth(base, point_k)))
            hs.append(fuse(parts, 'max') if len(parts) > 1 else np.nan_to_num(parts[0], nan=0.0))
        chans.append(fuse(hs, head_fuse))
    return np.max(np.stack(chans), 0)


VARIANTS = {
    'current': current,
    'win_z_mean': lambda d: calibrated(d, streams='window'),
    'pt8_z_mean': lambda d: calibrated(d, streams='point'),
    'pt1_z_mean': lambda d: calibrated(d, streams='point', point_k=1),
    'both8_mean': lambda d: calibrated(d),
    'both8_max': lambda d: calibrated(d, head_fuse='max'),
    'both1_mean': lambda d: calibrated(d, point_k=1),
    'both16_mean': lambda d: calibrated(d, point_k=16),
    'both8_mean_w32': lambda d: calibrated(d, window_k=32),
}
if only:
    VARIANTS = {k: v for k, v in VARIANTS.items() if k in only}
res = json.loads(out_path.read_text()) if out_path.exists() else {}
for f in sorted(cache.glob('*.npz')):
    d = dict(np.load(f, allow_pickle=True))
    name = str(d['name']); r = res.setdefault(name, {'family': str(d['family'])})
    for v, fn in VARIANTS.items():
        if v in r:
            continue
        r[v] = A.evaluate_score(fn(d), d['labels'], int(d['window']))
    print(name, {v: round(r[v]['vus_pr'], 3) for v in VARIANTS}, flush=True)
    out_path.write_text(json.dumps(res))
fam = {}
for n, r in res.items():
    fam.setdefault(r['family'], []).append(r)
for v in VARIANTS:
    line = {f: round(float(np.mean([r[v]['vus_pr'] for r in rs])), 3) for f, rs in fam.items()}
    allm = float(np.mean([r[v]['vus_pr'] for r in res.values()]))
    print(f"{v:16s} all {allm:.3f} ", line)


# ---- round 2: channels combined on raw standardised errors (as today), streams in one unit
def heads_streams(d, window_k=96, point_k=8):
    W, P = {}, {}
    for k in ('time', 'fft', 'forecast'):
        with np.errstate(all='ignore'):
            W[k] = np.nanmax(np.stack([smooth(c, window_k) for c in d[k]]), 0)
            P[k] = np.nanmax(np.stack([smooth(c, point_k) for c in d[k]]), 0)
    return W, P


def norm(s, how):
    if how == 'minmax':
        return minmax(s)
    scale = np.nanmedian(s) if how == 'median' else np.nanpercentile(s, 90)
    return s / max(scale, 1e-9)


def v2(d, alpha=None, how='minmax', head_fuse='max', point_k=8, window_k=96):
    W, P = heads_streams(d, window_k, point_k)
    hs = []
    for k in W:
        s = W[k] if alpha is None else np.fmax(W[k], P[k] / alpha)
        hs.append(norm(s, how))
    return fuse(hs, head_fuse)


VARIANTS2 = {
    'v2_win_minmax_max': lambda d: v2(d),
    'v2_win_minmax_mean': lambda d: v2(d, head_fuse='mean'),
    'v2_win_median_max': lambda d: v2(d, how='median'),
    'v2_win_median_mean': lambda d: v2(d, how='median', head_fuse='mean'),
    'v2_a4_minmax_max': lambda d: v2(d, alpha=4),
    'v2_a4_median_mean': lambda d: v2(d, alpha=4, how='median', head_fuse='mean'),
    'v2_a8_median_mean': lambda d: v2(d, alpha=8, how='median', head_fuse='mean'),
    'v2_a2_median_mean': lambda d: v2(d, alpha=2, how='median', head_fuse='mean'),
    'v2_a8_p90_mean': lambda d: v2(d, alpha=8, how='p90', head_fuse='mean'),
}
if len(sys.argv) > 4 and sys.argv[4] == 'v2':
    for f in sorted(cache.glob('*.npz')):
        d = dict(np.load(f, allow_pickle=True))
        name = str(d['name']); r = res.setdefault(name, {'family': str(d['family'])})
        for v, fn in VARIANTS2.items():
            if v not in r:
                r[v] = A.evaluate_score(fn(d), d['labels'], int(d['window']))
        print(name, {v: round(r[v]['vus_pr'], 3) for v in VARIANTS2}, flush=True)
        out_path.write_text(json.dumps(res))
    fam = {}
    for n, r in res.items():
        fam.setdefault(r['family'], []).append(r)
    for v in VARIANTS2:
        line = {f: round(float(np.mean([r[v]['vus_pr'] for r in rs])), 3) for f, rs in fam.items()}
        print(f"{v:20s} all {np.mean([r[v]['vus_pr'] for r in res.values()]):.3f} "
              f"auc135 {res['135_UCR_Anomaly_InternalBleeding16_1200_4187_4199'][v]['auc_pr']:.3f}", line)
