# Experiment (2026-12-05, issue 20): calibrate the default flag threshold of tinyts.tasks.anomaly.
# (a) false flags: share of points and of series flagged on clean synthetic series (the old default
#     generator mix: SynthTS + KernelSynth + multivariate channels; no anomalies injected), bundled TinyPulse;
# (b) on the 56 labelled benchmark series (cache of anomaly_streams_cache.py): share of labelled anomaly
#     events with at least one flagged point within the event +- the TSB-AD window (event recall), and share
#     of flagged points inside an event +- window (point precision).
# Run from the repository root: python benchmarks/experiments/anomaly_flags.py /tmp/anom_cache OUT.json
import json, sys, numpy as np
from pathlib import Path
from tinyts.bench.ours import bundled_model
from tinyts.data.synth.corpus import synth_batch
from tinyts.tasks import anomaly as T

THRESHOLDS = (4, 6, 8, 10, 12, 16)
cache, out = Path(sys.argv[1]), Path(sys.argv[2])
model = bundled_model('tinypulse')
clean = synth_batch(40, 2048, seed=12345)
maxes, shares = [], {t: [] for t in THRESHOLDS}
for x in clean:
    s = T.anomaly_scores(model, x)
    maxes.append(float(s.max()))
    for t in THRESHOLDS:
        shares[t].append(float((s > t).mean()))
res = {'clean': {str(t): {'points_flagged': float(np.mean(shares[t])),
                          'series_with_a_flag': float(np.mean(np.array(shares[t]) > 0))} for t in THRESHOLDS},
       'clean_max_score_quantiles': {q: float(np.quantile(maxes, q)) for q in (0.5, 0.9, 1.0)}}
ev_hit = {t: [] for t in THRESHOLDS}; prec = {t: [0, 0] for t in THRESHOLDS}
for f in sorted(cache.glob('*.npz')):
    d = dict(np.load(f, allow_pickle=True))
    errs = {k: np.fmax.reduce([T._smooth(c, 96) for c in d[k]]) for k in T.HEADS}
    s = T.robust_scale(T.fuse_heads(errs, 'max')['ensemble'])
    lab, w = d['labels'].astype(bool), int(d['window'])
    edges = np.flatnonzero(np.diff(np.concatenate([[0], lab.astype(int), [0]])))
    near = np.zeros_like(lab)
    events = list(zip(edges[::2], edges[1::2]))
    for a, b in events:
        near[max(0, a - w): b + w] = True
    for t in THRESHOLDS:
        fl = s > t
        ev_hit[t] += [bool(fl[max(0, a - w): b + w].any()) for a, b in events]
        prec[t][0] += int((fl & near).sum()); prec[t][1] += int(fl.sum())
res['benchmark'] = {str(t): {'event_recall': float(np.mean(ev_hit[t])),
                             'point_precision': prec[t][0] / max(prec[t][1], 1),
                             'flagged_points': prec[t][1]} for t in THRESHOLDS}
out.write_text(json.dumps(res, indent=1))
print(json.dumps(res, indent=1))
