"""Diagnosis (issue 18): does TinyCast's later training memorise the real short series it trains on?

The validation that chooses exports (``pretrain_ablation``) has preferred the bundled step 57,179 over every
later checkpoint of the run (cool-down forks, raw weights, the weight average; docs/training.md). The run
draws 10 of each 64 rows from 1,325 real short series, so by step 67,000 each has been cut ~500 times. If
the model memorises them, its error on those *trained* series keeps falling while the error on the
*held-back* series of the same files (never trained on) does not: the gap between the two grows with steps.

Protocol: relative MASE (to seasonal naive; geometric mean over frequencies of the mean over cases), one
forecast from each of 4 origins a horizon apart per series (``_pretrain_val_cast.heldout_data``'s protocol),
on the yearly, quarterly and monthly series of the corpus: the held-back ones (all) and the same number of
trained ones per frequency (seeded draw). Each checkpoint is a run folder (``pretrain_ablation``'s layout);
``NAME_ema`` scores a run's weight average.

Run: ``python benchmarks/experiments/cast_memorization_dev.py OUT.json CORPUS NAME=RUN_DIR ...``
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from tinyts.bench.ours import cast_forecaster
from tinyts.bench.peers.forecasters import FORECASTERS, ForecastSetup
from tinyts.bench.suites._pretrain_val_cast import origin_cuts
from tinyts.bench.suites.forecasting_broad import build_dataset, forecast_dataset, gmean, score
from tinyts.data.io.forecast import M4_HORIZON, seasonal_period
from tinyts.data.real_corpus import HOLDOUT, RealCorpus
from tinyts.train.card import load_run

FREQS = ("yearly", "quarterly", "monthly")


def cases(
    corpus: Path, split: str, counts: dict[str, int] | None, seed: int = 0
) -> dict[str, list[np.ndarray]]:
    held = RealCorpus(corpus, holdout=HOLDOUT, split=split)
    groups: dict[str, list[np.ndarray]] = defaultdict(list)
    for s, f in zip(held.series, held.file_of, strict=True):
        freq = held.frequencies[int(f)] or "other"
        if freq in FREQS:
            groups[freq].append(s)
    rng = np.random.default_rng(seed)
    out = {}
    for freq in FREQS:
        pool = groups[freq]
        if counts is not None:
            pick = rng.choice(len(pool), size=min(len(pool), counts[freq]), replace=False)
            pool = [pool[i] for i in sorted(pick)]
        out[freq] = origin_cuts(pool, M4_HORIZON[freq])
    return out


def main() -> None:
    torch.set_num_threads(1)
    out_path, corpus = Path(sys.argv[1]), Path(sys.argv[2])
    runs = dict(a.split("=", 1) for a in sys.argv[3:])
    held_raw = RealCorpus(corpus, holdout=HOLDOUT, split="heldout")
    counts: dict[str, int] = defaultdict(int)
    for f in held_raw.file_of:
        counts[held_raw.frequencies[int(f)] or "other"] += 1
    sets = {"heldout": cases(corpus, "heldout", None), "trained": cases(corpus, "train", dict(counts))}
    results: dict[str, dict[str, dict[str, float]]] = {}
    for name, folder in runs.items():
        model, state = load_run(folder, ema=name.endswith("_ema"))
        methods = {
            "seasonal_naive": FORECASTERS["seasonal_naive"],
            name: lambda s, m=model: cast_forecaster(s, m),
        }
        t0 = time.perf_counter()
        results[name] = {"step": {"step": state["step"]}}
        for split, by_freq in sets.items():
            rel = {}
            for freq, series in by_freq.items():
                h = M4_HORIZON[freq]
                bd = build_dataset(f"{split}_{freq}", series, h, seasonal_period(freq, "monash"), freq)
                mase = {}
                for method, factory in methods.items():
                    fn = factory(ForecastSetup(period=bd.period, seed=0, quick=False))
                    points, quants, _ = forecast_dataset(fn, bd)
                    mase[method] = score(bd, points, quants)[0]["mase"]
                rel[freq] = mase[name] / mase["seasonal_naive"]
            rel["gmean"] = gmean([rel[f] for f in FREQS])
            results[name][split] = {k: round(v, 4) for k, v in rel.items()}
        print(name, state["step"], results[name], f"{time.perf_counter() - t0:.0f} s", flush=True)
    meta = {
        "cases": {s: {f: len(v) for f, v in by.items()} for s, by in sets.items()},
        "runs": runs,
        "command": "python benchmarks/experiments/cast_memorization_dev.py " + " ".join(sys.argv[1:]),
    }
    out_path.write_text(json.dumps({"meta": meta, "results": results}, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
