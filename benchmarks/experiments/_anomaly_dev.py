"""Shared by the anomaly development-set experiments: the anomaly injection, and scoring every variant on
every cached case.

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


def inject(x0: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, str]:
    """One injected anomaly (spike, glitch or long) in a copy of ``x0``: ``(x, labels, "group:kind")``."""
    x, t = x0.copy(), x0.size
    lab = np.zeros(t, np.int8)
    sd = np.std(np.diff(x0)) * 3 + 0.3 * x0.std()
    group = rng.choice(["spike", "glitch", "long"])
    n = {
        "spike": int(rng.integers(1, 4)),
        "glitch": int(rng.integers(8, 21)),
        "long": int(rng.integers(100, 301)),
    }[group]
    s = int(rng.integers(int(0.2 * t), int(0.9 * t) - n))
    kinds = ["shift", "noise", "flat"] if group == "glitch" else ["shift", "noise", "drift", "amp"]
    kind = "spike" if group == "spike" else str(rng.choice(kinds))
    sign = rng.choice([-1.0, 1.0])
    seg = slice(s, s + n)
    if kind == "spike":
        x[seg] += sign * rng.uniform(2, 4) * sd
    elif kind == "shift":
        x[seg] += sign * rng.uniform(1, 2) * sd
    elif kind == "noise":
        x[seg] += rng.normal(0, 0.7 * sd, n)
    elif kind == "flat":
        x[seg] = x[s]
    elif kind == "drift":
        x[seg] += sign * np.linspace(0, 2 * sd, n)
    else:
        m = x[seg].mean()
        x[seg] = m + 2.0 * (x[seg] - m)
    lab[seg] = 1
    return x, lab, f"{group}:{kind}"


def held_back_series(corpus: Path = Path("../shared/corpus")) -> list[tuple[str, np.ndarray]]:
    """The development series: held-back corpus series of >= 1,500 points (their last 6,000 kept)."""
    from tinyts.data.io.forecast import read_tsf
    from tinyts.data.real_corpus import is_held_back

    series = []
    for f in sorted(corpus.glob("*.tsf")):
        d = read_tsf(f)
        for name, s in zip(d.names, d.series, strict=True):
            s = np.asarray(s, dtype=np.float64)[-6000:]
            if s.size >= 1500 and np.isfinite(s).all() and s.std() > 0 and is_held_back(f"{f.stem}:{name}"):
                series.append((f"{f.stem}:{name}", s))
    return series
