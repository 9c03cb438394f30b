# Experiment (2026-12-07, issue 20): the first context is a blind spot of the default ensemble.
# The ensemble min-max scales each head's 96-point window score and fuses them by their point-wise max, so
# every head contributes a 1.0 somewhere. The forecast head has no score over a series' first context
# (512 points), so an anomaly there is seen by the time and FFT heads only, and their 1.0 ties with the
# forecast head's largest *normal* error elsewhere. Seen first on a 600-point hourly sine with one spike at
# row 50 (`tinyts detect --plot`: the last 60 clean rows flagged at up to 28 robust units). On seeded
# synthetic series with one 6-sd spike (12 per length), the spike topped the series' scores in 1 / 0 / 0 of
# 12 cases when it lay in the first context (700 / 1,500 / 3,000 points) and in 11 / 11 / 9 of 12 when it
# lay 150 points before the end.
# Variant: each head scaled by its own robust spread (median and MAD over the points it scores) before the
# max, so a head's largest normal error is a few units and not a manufactured 1.0.
# Development sets only, never ../shared/data (cases as in anomaly_rarity_dev.py, plus the smooth series with
# the anomaly placed inside the first context). Run from the repository root:
#   python benchmarks/experiments/anomaly_head_scale_dev.py CACHE OUT.json
# and, for the false flags on clean series of both scalings:
#   python benchmarks/experiments/anomaly_head_scale_dev.py - OUT_CLEAN.json --clean
# and the flags' event recall / point precision on the development cases:
#   python benchmarks/experiments/anomaly_head_scale_dev.py CACHE OUT_FLAGS.json --flags
import sys
from pathlib import Path

import numpy as np
from _anomaly_dev import build_cases, score_cache

from tinyts.tasks.pulse import anomaly as T

cache, out_path = Path(sys.argv[1]), Path(sys.argv[2])


def fused(d, heads="minmax"):
    """The library's ensemble (sharpened, no boost) from a case's raw errors; ``heads="robust"``: each
    head's window score as robust z over the points it scores (unscored: NaN) before the max."""
    errs = {k: T._smooth(d[k], 96) for k in T.HEADS} | {f"{k}_point": d[k] for k in T.HEADS}
    if heads == "minmax":
        return T.fuse_heads(errs, "max")["ensemble"]
    z = []
    for k in T.HEADS:
        v = errs[k]
        ok = np.isfinite(v)
        if not ok.any():
            z.append(np.full(v.size, np.nan))
            continue
        med = np.median(v[ok])
        mad = 1.4826 * np.median(np.abs(v[ok] - med))
        z.append(np.where(ok, (v - med) / max(mad, 1e-9), np.nan))
    stack = np.stack(z)
    has = np.isfinite(stack)
    out = T._minmax(np.where(has.any(0), np.max(np.where(has, stack, -np.inf), axis=0), np.nan))
    out = np.nan_to_num(out, nan=0.0)
    ev = np.stack([T._point_evidence(errs[f"{k}_point"], 96) for k in T.HEADS])
    ok = np.isfinite(ev)
    mean_ev = np.where(ok, ev, 0.0).sum(axis=0) / np.maximum(ok.sum(axis=0), 1)
    return T._minmax(out * (1.0 - T.SHARPEN + T.SHARPEN * mean_ev))


def library(d, head_scale):
    """The shipped ``fuse_heads`` (``head_scale`` added 2026-12-07 after the two variants above)."""
    errs = {k: T._smooth(d[k], 96) for k in T.HEADS} | {f"{k}_point": d[k] for k in T.HEADS}
    return T.fuse_heads(errs, "max", head_scale=head_scale)["ensemble"]


VARIANTS = {
    "current": lambda d: fused(d),
    "robust_heads": lambda d: fused(d, "robust"),
    "lib_minmax": lambda d: library(d, "minmax"),
    "lib_robust": lambda d: library(d, "robust"),
}


def clean_flags(out: Path) -> None:
    """False flags on clean series (no anomaly), as anomaly_flags_dev.py measures them: the old default
    generator mix, 40 series of 2,048 points, seed 12345; points flagged and series with a flag per
    threshold, for both head scalings (bundled weights, library defaults otherwise)."""
    import json

    from tinyts.bench.ours import bundled_model
    from tinyts.data.synth.corpus import synth_batch

    model = bundled_model("tinypulse")
    res = {}
    xs = list(synth_batch(40, 2048, seed=12345))
    for head_scale in ("minmax", "robust"):
        scores = [T.anomaly_scores(model, x, head_scale=head_scale) for x in xs]
        res[head_scale] = {
            str(t): {
                "points_flagged": float(np.mean([(s > t).mean() for s in scores])),
                "series_with_a_flag": float(np.mean([(s > t).any() for s in scores])),
            }
            for t in (4, 6, 8, 10)
        }
    out.write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))


def dev_flags(cache: Path, out: Path) -> None:
    """Event recall and point precision of the flags on the development cases, per threshold and head
    scaling, as anomaly_flags_dev.py measures them: an event is caught when a flag falls within the event
    +- the TSB-AD window; precision = flagged points within such a span / flagged points."""
    import json

    res: dict = {}
    for head_scale in ("minmax", "robust"):
        for group in ("smooth", "spiky", "early"):
            hit: dict = {t: [] for t in (4, 6, 8, 10, 12)}
            prec: dict = {t: [0, 0] for t in hit}
            for f in sorted(cache.glob(f"{group}_*.npz")):
                d = dict(np.load(f, allow_pickle=True))
                errs = {k: T._smooth(d[k], 96) for k in T.HEADS} | {f"{k}_point": d[k] for k in T.HEADS}
                fused = T.fuse_heads(errs, "max", head_scale=head_scale)["ensemble"]
                s = T.robust_scale(fused, scored=T.scored_points(errs))
                lab, w = d["labels"].astype(bool), int(d["window"])
                idx = np.flatnonzero(lab)
                near = np.zeros_like(lab)
                near[max(0, int(idx[0]) - w) : int(idx[-1]) + 1 + w] = True
                for t in hit:
                    fl = s > t
                    hit[t].append(bool(fl[near].any()))
                    prec[t][0] += int((fl & near).sum())
                    prec[t][1] += int(fl.sum())
            res.setdefault(head_scale, {})[group] = {
                str(t): {
                    "event_recall": float(np.mean(hit[t])),
                    "point_precision": prec[t][0] / max(prec[t][1], 1),
                }
                for t in hit
            }
    out.write_text(json.dumps(res, indent=1))
    for hs, groups in res.items():
        for g, ts in groups.items():
            print(
                hs,
                g,
                {t: (round(v["event_recall"], 2), round(v["point_precision"], 2)) for t, v in ts.items()},
            )


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[3] == "--flags":
        dev_flags(cache, out_path)
        sys.exit(0)
    if len(sys.argv) > 3 and sys.argv[3] == "--clean":
        clean_flags(out_path)
        sys.exit(0)
    build_cases(cache, first_context=True)
    res = score_cache(cache, out_path, VARIANTS)
    for metric in ("vus_pr", "auc_pr"):
        for group in ("smooth", "spiky", "early"):
            for kind in ("spike", "glitch", "long", "all"):
                rs = [
                    r
                    for key, r in res.items()
                    if key.startswith(group) and (kind == "all" or r["kind"].startswith(kind))
                ]
                if rs:
                    means = {v: round(float(np.mean([r[v][metric] for r in rs])), 3) for v in VARIANTS}
                    print(metric, f"{group:6s} {kind:6s} n={len(rs):3d}", means)
