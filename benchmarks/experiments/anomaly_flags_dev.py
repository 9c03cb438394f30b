# Experiment (2026-12-05, issue 20): re-check the default flag threshold (tinyts.tasks.anomaly.DEFAULT_THRESHOLD)
# after sharpening (SHARPEN = 0.3), without benchmark labels:
# (a) false flags on clean synthetic series (the old default generator mix, no anomalies; as anomaly_flags.py);
# (b) event recall and point precision on the development set of anomaly_sharpen_dev.py (corpus series held
#     back from pre-training, one injected anomaly each): an event is caught when a flag falls within the
#     event +- the TSB-AD window; precision = flagged points within such a span / flagged points.
# Both with and without sharpening, so the threshold's meaning can be compared; since 2026-12-06 also with
# the opt-in extreme-point boost (tinyts.tasks.pulse.anomaly.BOOST_OPT_IN) on top of sharpening (keys sharpen_S_boost_B).
# Run from the repository root: python benchmarks/experiments/anomaly_flags_dev.py SHARPEN_CACHE OUT.json
import json
import sys
from pathlib import Path

import numpy as np

from tinyts.bench.ours import bundled_model
from tinyts.data.synth.corpus import synth_batch
from tinyts.tasks.pulse import anomaly as T

THRESHOLDS = (4, 6, 8, 10)
cache, out = Path(sys.argv[1]), Path(sys.argv[2])
model = bundled_model("tinypulse")
res: dict = {}
for sharpen, boost in ((0.0, 0.0), (T.SHARPEN, 0.0), (T.SHARPEN, T.BOOST_OPT_IN)):
    r = res[f"sharpen_{sharpen}_boost_{boost}"] = {}
    shares = {t: [] for t in THRESHOLDS}
    for x in synth_batch(40, 2048, seed=12345):
        s = T.anomaly_scores(model, x, sharpen=sharpen, boost=boost)
        for t in THRESHOLDS:
            shares[t].append(float((s > t).mean()))
    r["clean"] = {
        str(t): {
            "points_flagged": float(np.mean(shares[t])),
            "series_with_a_flag": float(np.mean(np.array(shares[t]) > 0)),
        }
        for t in THRESHOLDS
    }
    hit = {t: [] for t in THRESHOLDS}
    prec = {t: [0, 0] for t in THRESHOLDS}
    for f in sorted(cache.glob("*.npz")):
        d = dict(np.load(f, allow_pickle=True))
        errs = {k: T._smooth(d[k], 96) for k in T.HEADS} | {f"{k}_point": d[k] for k in T.HEADS}
        s = T.robust_scale(T.fuse_heads(errs, "max", sharpen=sharpen, boost=boost)["ensemble"])
        lab, w = d["labels"].astype(bool), int(d["window"])
        idx = np.flatnonzero(lab)
        a, b = int(idx[0]), int(idx[-1]) + 1
        near = np.zeros_like(lab)
        near[max(0, a - w) : b + w] = True
        for t in THRESHOLDS:
            fl = s > t
            hit[t].append(bool(fl[near].any()))
            prec[t][0] += int((fl & near).sum())
            prec[t][1] += int(fl.sum())
    r["dev"] = {
        str(t): {"event_recall": float(np.mean(hit[t])), "point_precision": prec[t][0] / max(prec[t][1], 1)}
        for t in THRESHOLDS
    }
out.write_text(json.dumps(res, indent=1))
print(json.dumps(res, indent=1))
