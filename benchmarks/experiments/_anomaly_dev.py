"""Shared by the anomaly development-set experiments: score every variant on every cached case.

The cache is the one ``anomaly_sharpen_dev.py`` writes (one ``.npz`` per held-back corpus series and
seed: raw head errors, labels, TSB-AD window). Results already in ``out_path`` are kept, so a script can
add variants and re-run.
"""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tinyts.bench.suites import anomaly as A


def score_cache(cache: Path, out_path: Path, variants: dict[str, Callable[[dict], Any]]) -> dict:
    """TSB-AD metrics (``evaluate_score``) of each variant's score on each cached case, saved as JSON."""
    res = json.loads(out_path.read_text()) if out_path.exists() else {}
    for f in sorted(cache.glob("*.npz")):
        d = dict(np.load(f, allow_pickle=True))
        r = res.setdefault(f.stem, {"name": str(d["name"]), "kind": str(d["kind"])})
        for v, fn in variants.items():
            if v not in r:
                r[v] = A.evaluate_score(fn(d), d["labels"], int(d["window"]))
        out_path.write_text(json.dumps(res, indent=1))
    return res
