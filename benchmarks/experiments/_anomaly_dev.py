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


def inject(
    x0: np.ndarray, rng: np.random.Generator, where: tuple[int, int] | None = None
) -> tuple[np.ndarray, np.ndarray, str]:
    """One injected anomaly (spike, glitch or long) in a copy of ``x0``: ``(x, labels, "group:kind")``.

    It starts at a random point of 20-90 % of the series, or of ``where`` (first, last start) when given."""
    x, t = x0.copy(), x0.size
    lab = np.zeros(t, np.int8)
    sd = np.std(np.diff(x0)) * 3 + 0.3 * x0.std()
    group = rng.choice(["spike", "glitch", "long"])
    n = {
        "spike": int(rng.integers(1, 4)),
        "glitch": int(rng.integers(8, 21)),
        "long": int(rng.integers(100, 301)),
    }[group]
    s = int(rng.integers(int(0.2 * t), int(0.9 * t) - n)) if where is None else int(rng.integers(*where))
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


def build_cases(cache: Path, first_context: bool = False) -> None:
    """Write the development cases' raw head errors (bundled TinyPulse) to ``cache``, one ``.npz`` each.

    ``smooth_*``: the held-back corpus series, 5 seeds of one injected anomaly each (positions 20-90 % of
    the series); ``spiky_*``: the package's ``spikes``, ``counts`` and heavy-tailed ``sarima`` generators
    (fresh seeds, 4,000 points, natural spikes unlabelled), 3 seeds each; with ``first_context``,
    ``early_*``: the smooth series again with the anomaly inside the first context (start 64-400).
    Cases already in the cache are kept.
    """
    from tinyts.bench.ours import bundled_model
    from tinyts.bench.peers.detectors import tsb_ad_window
    from tinyts.data.synth.families import counts, sarima, spikes
    from tinyts.tasks.pulse import anomaly as T

    model = bundled_model("tinypulse")
    length = model.config.context_length
    cases = []
    smooth = held_back_series()
    for i, (name, s) in enumerate(smooth):
        for seed in range(5):
            cases.append((f"smooth_{i:03d}_s{seed}", name, s, np.random.default_rng(seed * 7919 + i), None))
    fams = {"spikes": spikes.generate, "counts": counts.generate, "sarima": sarima.generate}
    for j, (fam, gen) in enumerate(fams.items()):
        xs = gen(np.random.default_rng([20261206, j]), 5, 4000)
        for i, s in enumerate(xs):
            for seed in range(3):
                rng = np.random.default_rng([20261206, j, i, seed])
                cases.append((f"spiky_{fam}_{i}_s{seed}", f"{fam}:{i}", np.asarray(s, float), rng, None))
    if first_context:
        for i, (name, s) in enumerate(smooth):
            for seed in range(5):
                rng = np.random.default_rng([20261207, i, seed])
                cases.append((f"early_{i:03d}_s{seed}", name, s, rng, (64, 400)))
    cache.mkdir(parents=True, exist_ok=True)
    for key, name, s, rng, where in cases:
        f = cache / f"{key}.npz"
        if f.exists():
            continue
        x, lab, kind = inject(s, rng, where)
        z = (x - x.mean()) / x.std()
        rec = T._reconstruction_errors(model, z, 64, 2, 256)
        fc = T._forecast_errors(model, z, 256)
        fc[: min(length, fc.size)] = np.nan
        w = tsb_ad_window(x[None, :])
        np.savez(
            f, name=name, kind=kind, labels=lab, window=w, x=x, time=rec["time"], fft=rec["fft"], forecast=fc
        )
    print(len(cases), "cases", flush=True)
