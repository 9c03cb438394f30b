"""Development experiment (issue 18): does TinyCast forecast short series better from an upsampled copy?

TinyCast sees a 25-point yearly series as 25 points at the end of a 512-point context that is otherwise
padding. Idea tried here: linearly interpolate the history to ``k`` times as many points, forecast
``k * h`` steps and keep every ``k``-th step (the steps that fall on the original grid).

Data: only the corpus series held back from pre-training (``RealCorpus(..., split="heldout")``, the
validation split of the pre-training ablations), never the M3 / NN3 / NN5 evaluation files. Short
histories are cut from them: for each series, origins at the end and every ``h`` steps before it
(at most ``ORIGINS`` per series), with ``L`` history points, ``L`` in ``LENGTHS``; the target is the
next ``h`` points (M4 horizons: yearly 6, quarterly 8, monthly 18). Scores: MASE (in-sample seasonal
naive scale of the history, Monash periods) relative to seasonal naive, geometric mean over cases of
each frequency; WQL over the 9 quantiles.

Run: ``python benchmarks/experiments/cast_short_upsample_dev.py [CORPUS]``; writes the JSON next to
this file.
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from tinyts.data.real_corpus import HOLDOUT, RealCorpus
from tinyts.models.base import resolve
from tinyts.models.cast import TinyCast
from tinyts.tasks.forecast.api import forecast

HORIZON = {"yearly": 6, "quarterly": 8, "monthly": 18}
PERIOD = {"yearly": 1, "quarterly": 4, "monthly": 12}
LENGTHS = (14, 20, 30, 45)
ORIGINS = 4
FACTORS = (1, 2, 3, 4)
LEVELS = np.arange(1, 10) / 10


def cases(corpus: Path) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    held = RealCorpus(corpus, holdout=HOLDOUT, split="heldout")
    out: dict[str, list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
    for s, f in zip(held.series, held.file_of, strict=True):
        freq = held.frequencies[int(f)] or "other"
        if freq not in HORIZON:
            continue
        h = HORIZON[freq]
        s = np.asarray(s, dtype=np.float64)
        for o in range(ORIGINS):
            end = len(s) - o * h
            for length in LENGTHS:
                start = end - h - length
                if start < 0:
                    continue
                hist, target = s[start : end - h], s[end - h : end]
                if np.isfinite(hist).all() and np.isfinite(target).all():
                    out[freq].append((hist, target))
    return out


def upsample(x: np.ndarray, k: int) -> np.ndarray:
    if k == 1:
        return x
    grid = np.arange((len(x) - 1) * k + 1) / k
    return np.interp(grid, np.arange(len(x)), x)


def run(model: TinyCast, data: list[tuple[np.ndarray, np.ndarray]], h: int, k: int) -> tuple[np.ndarray, ...]:
    hist = [torch.from_numpy(upsample(x, k)) for x, _ in data]
    res = forecast(model, [x.numpy() for x in hist], h * k, quantiles=tuple(LEVELS))
    q = np.asarray(res.quantiles)  # (n, horizon, Q) for 1-D inputs
    pick = np.arange(k - 1, h * k, k)
    return q[:, pick, 4], q[:, pick, :]  # the median is the point forecast, as in the benchmark


def scores(data: list[tuple[np.ndarray, np.ndarray]], point: np.ndarray, quant: np.ndarray, m: int) -> dict:
    mase, naive_mase, wql_num, wql_den, naive_num = [], [], 0.0, 0.0, 0.0
    for (hist, target), p, q in zip(data, point, quant, strict=True):
        lag = m if len(hist) > m else 1
        scale = np.mean(np.abs(hist[lag:] - hist[:-lag]))
        if not scale > 0:
            continue
        naive = np.array([hist[len(hist) - lag + (i % lag)] for i in range(len(target))])
        mase.append(np.mean(np.abs(target - p)) / scale)
        naive_mase.append(np.mean(np.abs(target - naive)) / scale)
        diff = target[:, None] - q
        wql_num += float(np.sum(np.maximum(LEVELS * diff, (LEVELS - 1) * diff)))
        nd = (target - naive)[:, None]
        naive_num += float(np.sum(np.maximum(LEVELS * nd, (LEVELS - 1) * nd)))
        wql_den += float(np.sum(np.abs(target)))
    rel = np.asarray(mase) / np.maximum(np.asarray(naive_mase), 1e-12)
    return {
        "n": len(mase),
        "mase": float(np.mean(mase)),
        "rel_mase_vs_naive": float(np.mean(mase) / np.mean(naive_mase)),
        "gmean_case_rel_mase": float(np.exp(np.mean(np.log(np.maximum(rel, 1e-6))))),
        "rel_wql_vs_naive": wql_num / naive_num if naive_num else float("nan"),
    }


def scores_by_length(
    data: list[tuple[np.ndarray, np.ndarray]], point: np.ndarray, quant: np.ndarray, m: int
) -> dict[int, dict]:
    """:func:`scores` of the cases of each history length in :data:`LENGTHS` that has cases."""
    lengths = np.array([len(x) for x, _ in data])
    out = {}
    for length in LENGTHS:
        sel = lengths == length
        if sel.any():
            sub = [d for d, s in zip(data, sel, strict=True) if s]
            out[length] = scores(sub, point[sel], quant[sel], m)
    return out


def record(
    out: dict,
    freq: str,
    tag: str,
    data: list[tuple[np.ndarray, np.ndarray]],
    point: np.ndarray,
    quant: np.ndarray,
    m: int,
) -> None:
    """Score one variant on all cases (``out["results"]["FREQ/TAG"]``, printed) and per history length
    (``"FREQ/L<length>/TAG"``)."""
    r = scores(data, point, quant, m)
    out["results"][f"{freq}/{tag}"] = r
    print(
        f"  {tag}: gmean rel MASE {r['gmean_case_rel_mase']:.4f} rel WQL {r['rel_wql_vs_naive']:.4f}",
        flush=True,
    )
    for length, r in scores_by_length(data, point, quant, m).items():
        out["results"][f"{freq}/L{length}/{tag}"] = r


def save(out: dict, script: str) -> None:
    """Write ``out`` as the JSON next to ``script``."""
    target = Path(script).with_suffix(".json")
    target.write_text(json.dumps(out, indent=1) + "\n")
    print("->", target)


def main() -> None:
    corpus = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/corpus")
    torch.set_num_threads(1)
    model = resolve("tinycast", TinyCast)
    out: dict = {"lengths": LENGTHS, "origins": ORIGINS, "results": {}}
    for freq, data in cases(corpus).items():
        h, m = HORIZON[freq], PERIOD[freq]
        for k in FACTORS:
            t0 = time.perf_counter()
            point, quant = run(model, data, h, k)
            res = scores(data, point, quant, m)
            res["seconds"] = round(time.perf_counter() - t0, 2)
            out["results"][f"{freq}/k{k}"] = res
            print(freq, k, res, flush=True)
        for length in LENGTHS:  # per history length, plain vs the best factor
            sub = [(x, y) for x, y in data if len(x) == length]
            for k in FACTORS:
                point, quant = run(model, sub, h, k)
                out["results"][f"{freq}/L{length}/k{k}"] = scores(sub, point, quant, m)
    target = Path(__file__).with_suffix(".json")
    target.write_text(json.dumps(out, indent=1) + "\n")
    print("->", target)


if __name__ == "__main__":
    main()
