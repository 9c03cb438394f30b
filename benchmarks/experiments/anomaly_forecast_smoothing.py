# Experiment (2026-12-02): the forecast stream smoothed over 1 / 8 / 32 points instead of 96 (time and fft
# unchanged), ensemble VUS-PR on the 26 series of benchmarks/anomaly_reference. Run from the repository root.
import json, time, numpy as np
from pathlib import Path
from tinyts.bench.core import BenchContext
from tinyts.bench.suites import anomaly as A
from tinyts.bench.peers.detectors import tsb_ad_window
from tinyts.bench.ours import bundled_model
from tinyts.tasks import anomaly as T

ref = json.load(open('benchmarks/anomaly_reference/anomaly.json'))
refv = {r['dataset']: r['value'] for r in ref['rows'] if r['method']=='tinypulse_ref' and r['metric']=='vus_pr'}
ctx = BenchContext(data_dir=Path('../shared/data'), out_dir=Path('/tmp/x'))
series = [s for s in A._load_all(ctx, type('R',(),{'skip':lambda *a: None})()) if s.name in refv]
model = bundled_model('tinypulse')
out = {}
VARS = {'fsm1': 1, 'fsm8': 8, 'fsm32': 32}
for s in series:
    x = s.values[:,0]; z=(x-x.mean())/x.std()
    rec = T._reconstruction_errors(model, z, 64, 2, 256)
    fc = T._forecast_errors(model, z, 256)
    w = tsb_ad_window(s.values)
    out[s.name] = {'ref': refv[s.name]}
    for name, k in VARS.items():
        sm = {key: T._smooth(np.nan_to_num(rec[key]), 96) for key in ('time','fft')}
        sm['forecast'] = T._smooth(np.nan_to_num(fc), k)
        out[s.name][name] = A.evaluate_score(T.fuse_heads(sm,'max')['ensemble'], s.labels, w)['vus_pr']
    print(s.name, {k: round(v,3) for k,v in out[s.name].items()}, flush=True)
json.dump(out, open('benchmarks/experiments/anomaly_forecast_smoothing.json','w'))
for k in VARS: print(k, round(np.mean([out[n][k] for n in out]),4))
print('ref', np.mean([out[n]['ref'] for n in out]))
