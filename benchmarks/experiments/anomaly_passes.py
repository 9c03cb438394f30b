# Experiment (2026-12-02): one-pass scoring variants vs the reference procedure on the 26 series of
# benchmarks/anomaly_reference. Run from the repository root: python benchmarks/experiments/anomaly_passes.py
# p<N>: N offsets of the 64-point block grid (0/16/32/48), reconstruction errors averaged; f<S>: forecast
# windows at stride S scoring their first S steps. Output: per-series ensemble VUS-PR (json next to it).
import json, time, numpy as np
from pathlib import Path
from tinyts.bench.core import BenchContext, SuiteResult
from tinyts.bench.suites import anomaly as A
from tinyts.bench.peers.detectors import tsb_ad_window
from tinyts.bench.ours import bundled_model
from tinyts.tasks import anomaly as T

ref = json.load(open('benchmarks/anomaly_reference/anomaly.json'))
refv = {r['dataset']: r['value'] for r in ref['rows'] if r['method']=='tinypulse_ref' and r['metric']=='vus_pr'}
ctx = BenchContext(data_dir=Path('../shared/data'), out_dir=Path('/tmp/x'))
res = SuiteResult('anomaly')  if False else None
series = [s for s in A._load_all(ctx, type('R',(),{'skip':lambda *a: None})()) if s.name in refv]
print(len(series), 'series')
model = bundled_model('tinypulse')
OFFS=(0,16,32,48); FS=(16,4)
out = {}
cost = {}
for s in series:
    x = s.values[:,0]; obs=np.isfinite(x); z=(x-x.mean())/x.std()
    rec={}; fc={}
    for o in OFFS:
        t0=time.perf_counter(); rec[o]=T._reconstruction_errors(model, z, 64, 2, 256, offset=o); cost[('rec',o)]=cost.get(('rec',o),0)+time.perf_counter()-t0
    for f in FS:
        t0=time.perf_counter(); fc[f]=T._forecast_errors(model, z, 256, stride=f); cost[('fc',f)]=cost.get(('fc',f),0)+time.perf_counter()-t0
    w = tsb_ad_window(s.values)
    def vus(passes, fs):
        offs = OFFS[::4//passes][:passes]
        errs = {k: np.mean([np.nan_to_num(rec[o][k]) for o in offs],axis=0) for k in ('time','fft')}
        errs['forecast']=np.nan_to_num(fc[fs])
        sm = {k: T._smooth(v, 96) for k,v in errs.items()}
        fused = T.fuse_heads(sm,'max')
        return {m: A.evaluate_score(fused[m], s.labels, w)['vus_pr'] for m in ('ensemble',)}
    out[s.name] = {k: vus(p,f) for k,(p,f) in {'p2_f16':(2,16),'p4_f16':(4,16),'p4_f4':(4,4)}.items()}
    out[s.name]['ref']=refv[s.name]
    print(s.name, {k: round(v['ensemble'],3) for k,v in out[s.name].items() if k!='ref'}, refv[s.name], flush=True)
json.dump(out, open('benchmarks/experiments/anomaly_passes.json','w'))
print({str(k): round(v,1) for k,v in cost.items()})
keys=[k for k in out[series[0].name] if k!='ref']
for k in keys:
    print(k, {m: round(np.mean([out[n][k][m] for n in out]),4) for m in ('ensemble',)})
print('ref', np.mean([out[n]['ref'] for n in out]))
