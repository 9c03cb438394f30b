"""The docs table: the new run(s) plus TSLens from the committed earlier run (benchmarks/classification.json).

  .venv/bin/python benchmarks/classification_frozen_exp/table.py benchmarks/classification/classification.json \
      benchmarks/classification_pendigits/classification.json
"""

import json
import sys
from collections import defaultdict

import numpy as np

TSPULSE = {
    "ArticularyWordRecognition": 0.980,
    "BasicMotions": 1.000,
    "Epilepsy": 0.957,
    "JapaneseVowels": 0.978,
    "Libras": 0.789,
    "PenDigits": 0.960,
    "StandWalkJump": 0.800,
    "UWaveGestureLibrary": 0.884,
}
ORDER = [
    "tinypulse",
    "tinypulse_frozen",
    "tinypulse_tslens",
    "minirocket",
    "multirocket",
    "hydra_multirocket",
    "nn1_euclidean",
]
acc = defaultdict(dict)
fit = defaultdict(dict)
arch = {}
for path in sys.argv[1:]:
    for r in json.load(open(path))["rows"]:
        if r["metric"] == "accuracy":
            acc[r["dataset"]][r["method"]] = r["value"]
            arch[r["dataset"]] = r["archive"]
        elif r["metric"] == "fit_seconds":
            fit[r["dataset"]][r["method"]] = r["value"]
for r in json.load(open("benchmarks/classification.json"))["rows"]:  # TSLens, commit ecb18ae
    if r["method"] == "tinypulse" and r["metric"] in ("accuracy", "fit_seconds"):
        (acc if r["metric"] == "accuracy" else fit)[r["dataset"]]["tinypulse_tslens"] = r["value"]
names = sorted(acc, key=lambda d: (arch.get(d, "ZZ"), d))
head = [
    "problem",
    "archive",
    *ORDER,
    "TSPulse (published)",
    "fit s: tinypulse",
    "fit s: minirocket",
    "fit s: frozen",
    "fit s: multirocket",
    "fit s: hydra_mr",
    "tinypulse fit / minirocket fit",
]
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for d in names:
    a, f = acc[d], fit[d]
    ratio = f.get("tinypulse", np.nan) / f.get("minirocket", np.nan)
    cells = [d, arch.get(d, "")] + [f"{a[m]:.3f}" if m in a else "" for m in ORDER]
    cells += [f"{TSPULSE[d]:.3f}" if d in TSPULSE else ""]
    cells += [
        f"{f[m]:.2f}" if m in f else ""
        for m in ("tinypulse", "minirocket", "tinypulse_frozen", "multirocket", "hydra_multirocket")
    ]
    cells += [f"{ratio:.1f}"]
    print("| " + " | ".join(cells) + " |")
for group, keep in (
    ("all", lambda d: True),
    ("UCR", lambda d: arch.get(d) == "UCR"),
    ("UEA", lambda d: arch.get(d) == "UEA"),
):
    ds = [d for d in names if keep(d)]
    means = [f"{np.mean([acc[d][m] for d in ds]):.4f}" if all(m in acc[d] for d in ds) else "" for m in ORDER]
    print(f"| **mean {group}** (n={len(ds)}) | | " + " | ".join(means) + " |" + " |" * 7)
ratios = [
    fit[d]["tinypulse"] / fit[d]["minirocket"]
    for d in names
    if "tinypulse" in fit[d] and "minirocket" in fit[d]
]
print(
    f"\nfit ratio tinypulse/minirocket: median {np.median(ratios):.1f}, max {np.max(ratios):.1f}, "
    f"problems within 2x: {sum(r <= 2 for r in ratios)}/{len(ratios)}"
)
for m in (
    "tinypulse",
    "tinypulse_frozen",
    "minirocket",
    "multirocket",
    "hydra_multirocket",
    "tinypulse_tslens",
):
    v = [fit[d][m] for d in names if m in fit[d]]
    if v:
        print(f"fit seconds {m}: median {np.median(v):.2f}, max {np.max(v):.2f}, sum {np.sum(v):.1f}")
pub = [d for d in TSPULSE if d in acc and "tinypulse" in acc[d]]
print("vs TSPulse published (tinypulse >= ?):", {d: (round(acc[d]["tinypulse"], 3), TSPULSE[d]) for d in pub})
