"""Development experiment (issue 17, imputation goal): test-time ensembles of TinyPulse's fill.

TinyPulse imputes a 512-point window with one forward pass. Tried here: averaging the reconstruction
of the window with that of transformed copies, each mapped back:

- ``neg``: the negated window (``-f(-x)``), the sign symmetry TinyCast uses;
- ``rev``: the time-reversed window (reconstruction reversed back);
- ``shift``: the window moved by ``s`` points (``s`` unobserved points at one end, the last ``s``
  points dropped), once to each side, so the hidden points fall at another phase of the patch grid;
  a point is averaged over the passes that cover it;
- combinations.

Data (no test part of any benchmark): the validation-split windows of the imputation suite (ETTh1,
ETTm1, exchange rate, as ``tinyts bench imputation --option split=val`` cuts them), and 512-point
windows of corpus series held back from pre-training (standardised). Masks hybrid 12.5 % / 50 % and
block 12.5 % / 50 % (seeded). MSE on the hidden points (standardised units), mean over windows.

Long series (the user's case: a whole validation split, all channels, one call; windows at ``stride``
averaged where they overlap): the default stride 64 with and without the views, and the views with
fewer windows (stride 128 / 256 / 512), at 1-4x the passes of the default.

Run: ``python benchmarks/experiments/impute_tta_dev.py DATA_DIR [CORPUS] [MODEL]``; writes the JSON next
to this file (``--long-only``: the long-series part only, printed).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from impute_blend_margin_dev import corpus_windows, ltsf_val

from tinyts.bench.core import SuiteResult
from tinyts.bench.suites.imputation import _load, _prepare
from tinyts.data.io.discover import find_ltsf
from tinyts.data.masks import block_mask, hybrid_mask
from tinyts.models.base import resolve
from tinyts.models.pulse import TinyPulse
from tinyts.tasks.pulse.impute import _linear_fill, impute, reconstruct

MASKS = {
    "hybrid12": (hybrid_mask, 0.125),
    "hybrid50": (hybrid_mask, 0.5),
    "block12": (block_mask, 0.125),
    "block50": (block_mask, 0.5),
}
SHIFTS = (2, 4)
#: long series: (stride, tta); passes per point = 512 / stride * (4 if tta else 1)
LONG_SETUPS = ((64, False), (64, True), (128, True), (256, True), (512, True))


def _pass(model: TinyPulse, vals: np.ndarray, obs: np.ndarray) -> np.ndarray:
    return reconstruct(model, vals, obs, tta=False)


def _shifted(model: TinyPulse, vals: np.ndarray, obs: np.ndarray, s: int) -> tuple[np.ndarray, np.ndarray]:
    """Reconstruction (and coverage) of the window moved right (s > 0) or left (s < 0) by |s| points."""
    n, t = vals.shape
    v, o = np.zeros_like(vals), np.zeros_like(obs)
    rec = np.full((n, t), np.nan)
    if s > 0:
        v[:, s:], o[:, s:] = vals[:, : t - s], obs[:, : t - s]
        rec[:, : t - s] = _pass(model, v, o)[:, s:]
    else:
        s = -s
        v[:, : t - s], o[:, : t - s] = vals[:, s:], obs[:, s:]
        rec[:, s:] = _pass(model, v, o)[:, : t - s]
    return rec


def variants(model: TinyPulse, vals: np.ndarray, obs: np.ndarray) -> dict[str, np.ndarray]:
    base = _pass(model, vals, obs)
    neg = -_pass(model, -vals, obs)
    rev = _pass(model, vals[:, ::-1].copy(), obs[:, ::-1].copy())[:, ::-1]
    negrev = -_pass(model, -vals[:, ::-1].copy(), obs[:, ::-1].copy())[:, ::-1]
    out = {
        "base": base,
        "neg": 0.5 * (base + neg),
        "rev": 0.5 * (base + rev),
        "neg_rev": 0.25 * (base + neg + rev + negrev),
    }
    for s in SHIFTS:
        stack = np.stack([base, _shifted(model, vals, obs, s), _shifted(model, vals, obs, -s)])
        out[f"shift{s}"] = np.nanmean(stack, axis=0)
        if s == SHIFTS[-1]:
            stack4 = np.stack([base, neg, rev, negrev, stack[1], stack[2]])
            out[f"neg_rev_shift{s}"] = np.nanmean(stack4, axis=0)
    return out


def score(fill: np.ndarray, truth: np.ndarray, hidden: np.ndarray) -> float:
    e = ((fill - truth) ** 2 * hidden).sum(1) / hidden.sum(1).clip(1)
    return float(e.mean())


def long_series(model: TinyPulse, data_dir: Path) -> dict:
    """The user's case: a whole validation split (all channels) with gaps, one call, tta off / on."""
    out: dict = {}
    for path in sorted(find_ltsf(data_dir)):
        if path.stem not in ("ETTh1", "ETTm1", "exchange_rate"):
            continue
        table = _load(path, SuiteResult())
        prepared = _prepare(table, False, SuiteResult(), split="val") if table is not None else None
        if prepared is None:
            continue
        x = prepared[3]  # the scaled val rows (channels, time)
        for mname, (make, ratio) in MASKS.items():
            rng = np.random.default_rng([1, len(path.stem), round(ratio * 1000), len(mname)])
            hidden = make(x.shape, ratio, patch=8, rng=rng)
            masked = np.where(hidden, np.nan, x)
            res = {
                f"stride{stride}_tta_{flag}": float(
                    ((impute(model, masked, stride=stride, tta=flag) - x) ** 2)[hidden].mean()
                )
                for stride, flag in LONG_SETUPS
            }
            out[f"{path.stem}/{mname}"] = res
            print("long", path.stem, x.shape, mname, {k: round(v, 5) for k, v in res.items()}, flush=True)
    return out


def main() -> None:
    data_dir = Path(sys.argv[1])
    corpus = Path(sys.argv[2] if len(sys.argv) > 2 else "../shared/corpus")
    model_name = sys.argv[3] if len(sys.argv) > 3 else "tinypulse"
    torch.set_num_threads(1)
    model = resolve(model_name, TinyPulse)
    if "--long-only" in sys.argv:
        json.dump(long_series(model, data_dir), sys.stdout, indent=1)
        return
    sets: dict[str, np.ndarray] = ltsf_val(data_dir)
    sets["corpus_heldout"] = corpus_windows(corpus)
    out: dict = {"model": model_name, "shifts": SHIFTS, "results": {}}
    for name, flat in sets.items():
        for mname, (make, ratio) in MASKS.items():
            t0 = time.perf_counter()
            rng = np.random.default_rng([0, len(name), round(ratio * 1000), len(mname)])
            hidden = make(flat.shape, ratio, patch=8, rng=rng)
            vals = np.where(hidden, 0.0, flat).astype(np.float32)
            obs = ~hidden
            res: dict = {"n": len(flat)}
            for key, rec in variants(model, vals, obs).items():
                fill = _linear_fill(np.where(obs, vals, rec))
                res[key] = score(fill, flat, hidden)
            res["linear"] = score(_linear_fill(np.where(obs, vals, np.nan)), flat, hidden)
            out["results"][f"{name}/{mname}"] = res
            rel = {k: round(v / res["base"], 4) for k, v in res.items() if k not in ("n",)}
            lib = impute(model, np.where(hidden, np.nan, flat)[:, None, :], tta=True)[:, 0, :]
            res["library_tta"] = score(lib, flat, hidden)
            took = f"{time.perf_counter() - t0:.0f}s"
            print(name, mname, len(flat), f"base {res['base']:.5f}", rel, took, flush=True)
    out["long_series"] = long_series(model, data_dir)
    target = Path(__file__).with_suffix(".json")
    target.write_text(json.dumps(out, indent=1) + "\n")
    print("->", target)


if __name__ == "__main__":
    main()
