# Experiment (2026-12-05, issue 20): cache the raw per-point squared errors of TinyPulse's three heads
# (bundled weights, the one-pass procedure of tinyts.tasks.anomaly: agg 64, 2 groups) for every channel
# of every series of `tinyts bench anomaly` (56 series), so that score post-processing variants can be
# compared without re-running the model. The forecast head's first context (no forecast) is NaN here.
# Run from the repository root: python benchmarks/experiments/anomaly_streams_cache.py /tmp/anom_cache
import sys, time, numpy as np
from pathlib import Path
from tinyts.bench.core import BenchContext
from tinyts.bench.suites import anomaly as A
from tinyts.bench.peers.detectors import tsb_ad_window
from tinyts.bench.ours import bundled_model
from tinyts.tasks import anomaly as T

out = Path(sys.argv[1]); out.mkdir(exist_ok=True)
ctx = BenchContext(data_dir=Path('../shared/data'), out_dir=Path('/tmp/x'))
series = A._load_all(ctx, type('R', (), {'skip': lambda *a: None})())
model = bundled_model('tinypulse')
L = model.config.context_length
for i, s in enumerate(series):
    f = out / f"{i:02d}.npz"
    if f.exists():
        continue
    t0 = time.time()
    heads = {k: [] for k in T.HEADS}
    for ch in s.values.T:
        sd = ch.std()
        z = (ch - ch.mean()) / sd if sd > 0 else np.zeros_like(ch)
        rec = T._reconstruction_errors(model, z, 64, 2, 256)
        fc = T._forecast_errors(model, z, 256)
        fc[: min(L, fc.size)] = np.nan
        heads['time'].append(rec['time']); heads['fft'].append(rec['fft']); heads['forecast'].append(fc)
    np.savez(f, name=s.name, family=s.family, labels=s.labels, window=tsb_ad_window(s.values),
             values=s.values, **{k: np.stack(v) for k, v in heads.items()})
    print(i, s.name, s.values.shape, f"{time.time() - t0:.1f}s", flush=True)
