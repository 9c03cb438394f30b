"""Development experiment (issue 20): when should ``impute(..., blend="auto")`` step in?

``blend="auto"`` hides observed patches of each series for a self-check and mixes linear
interpolation into the fill where the model refills them worse (``tasks.pulse.impute.blend_weights``).
The check is noisy: on ETTh1's validation windows the blend cost 2-4 % MSE where the model wins.
Tried here: step in only where the model's check error exceeds interpolation's by a factor
``margin`` (1 = today's rule), and how each rule does where interpolation is strong.

Data (no test part of any benchmark): the validation-split windows of the imputation suite
(``_prepare(split="val")``: ETTh1, ETTm1, exchange rate), and 512-point windows of the corpus series held
back from pre-training (``RealCorpus(..., split="heldout")``, each window standardised), split by how
well linear interpolation does there. Masks hybrid 12.5 % / 50 % and block 12.5 % (seeded).
MSE on the hidden points (standardised).

Run: ``python benchmarks/experiments/impute_blend_margin_dev.py DATA_DIR [CORPUS]``; writes the JSON next
to this file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

from tinyts.bench.core import SuiteResult
from tinyts.bench.suites.imputation import _load, _prepare
from tinyts.data.io.discover import find_ltsf
from tinyts.data.masks import block_mask, hybrid_mask
from tinyts.data.real_corpus import HOLDOUT, RealCorpus
from tinyts.models.base import resolve
from tinyts.models.pulse import TinyPulse
from tinyts.tasks.pulse.impute import _linear_fill, check_fills, impute, reconstruct

MARGINS = (1.0, 1.25, 1.5, 2.0, 3.0, float("inf"))  # inf = never blend
MASKS = {"hybrid12": (hybrid_mask, 0.125), "hybrid50": (hybrid_mask, 0.5), "block12": (block_mask, 0.125)}
CORPUS_WINDOWS = 1500
SHRINKS = (1.0, 4.0, 16.0, float("inf"))
SIGN_Z = (0.0, 1.0, 1.64)  # pooling of the check over the rows of one call


def ltsf_val(data_dir: Path) -> dict[str, np.ndarray]:
    out = {}
    for path in sorted(find_ltsf(data_dir)):
        if path.stem not in ("ETTh1", "ETTm1", "exchange_rate"):
            continue
        table = _load(path, SuiteResult())
        prepared = _prepare(table, False, SuiteResult(), split="val") if table is not None else None
        if prepared is not None:
            windows = prepared[0]
            out[path.stem] = windows.reshape(-1, windows.shape[-1])
    return out


def corpus_windows(corpus: Path) -> np.ndarray:
    held = RealCorpus(corpus, holdout=HOLDOUT, split="heldout")
    rows = []
    for s in held.series:
        s = np.asarray(s, dtype=np.float64)
        for start in range(0, len(s) - 512 + 1, 512):
            w = s[start : start + 512]
            if np.isfinite(w).all() and w.std() > 1e-8:
                rows.append((w - w.mean()) / w.std())
    rng = np.random.default_rng(0)
    pick = rng.choice(len(rows), size=min(CORPUS_WINDOWS, len(rows)), replace=False)
    return np.stack([rows[i] for i in np.sort(pick)])


def blend(rec, lin, rows, mm, ll, ml, margin, shrink=0.0, always=False):
    """``shrink`` k: each row's error sums plus k times the mean row's (k = inf: one pooled weight)."""
    w = np.ones(rec.shape[0])
    if shrink:
        sums = [
            np.full_like(mm, a.mean()) if np.isinf(shrink) else a + shrink * a.mean() for a in (mm, ll, ml)
        ]
        mm, ll, ml = sums
    denom = mm + ll - 2.0 * ml
    safe = denom > 1e-12 * np.maximum(mm + ll, 1e-300)
    best = np.where(safe, np.clip((ll - ml) / np.where(safe, denom, 1.0), 0.0, 1.0), 1.0)
    w[rows] = best if always else np.where(mm <= margin * ll, 1.0, best)
    return w[:, None] * rec + (1 - w[:, None]) * lin, w


def rule_weights(model: TinyPulse, vals: np.ndarray, obs: np.ndarray, test: str, z: float) -> np.ndarray:
    """Per-row weights: the optimal mix where the per-patch ``test`` says the model refills worse."""
    rows, c, d_m, d_l = check_fills(model, vals, obs)
    w = np.ones(len(vals))
    if not rows.any():
        return w
    n_r, t = c.shape
    cut = t // 8 * 8
    cp = c[:, :cut].reshape(n_r, -1, 8).all(2)
    diff = ((d_m[:, :cut] ** 2 - d_l[:, :cut] ** 2).reshape(n_r, -1, 8).sum(2)) * cp
    n = cp.sum(1)
    if test == "sign":
        lose = ((diff <= 0) & cp).sum(1) < n / 2 - z * 0.5 * np.sqrt(n)
    else:  # paired t on the per-patch differences of squared error
        mean = diff.sum(1) / np.maximum(n, 1)
        var = (((diff - mean[:, None]) ** 2) * cp).sum(1) / np.maximum(n - 1, 1)
        lose = (n >= 2) & (mean > z * np.sqrt(var / np.maximum(n, 1)))
    mm, ll, ml = (d_m * d_m).sum(1), (d_l * d_l).sum(1), (d_m * d_l).sum(1)
    denom = mm + ll - 2 * ml
    safe = denom > 1e-12 * np.maximum(mm + ll, 1e-300)
    best = np.where(safe, np.clip((ll - ml) / np.where(safe, denom, 1.0), 0.0, 1.0), 1.0)
    w[rows] = np.where(lose & (mm > ll), best, 1.0)
    return w


RULES = (("sign", 1.64), ("t", 0.0), ("t", 1.0), ("t", 1.64))


def apply_rules(model: TinyPulse, x: np.ndarray, hidden: np.ndarray) -> dict[str, float]:
    """MSE on the hidden points of ``x`` (rows = series channels) for each rule of :data:`RULES`."""
    vals = np.where(hidden, 0.0, x).astype(np.float32)
    obs = ~hidden
    rec = _linear_fill(np.where(obs, vals, reconstruct(model, vals, obs)))
    lin = _linear_fill(np.where(obs, vals, np.nan))
    out = {}
    for test, z in RULES:
        w = rule_weights(model, vals, obs, test, z)[:, None]
        fill = w * rec + (1 - w) * lin
        out[f"{test}{z}"] = float(((fill - x) ** 2)[hidden].mean())
        out[f"{test}{z}_blended_share"] = float((w < 1).mean())
    return out


def long_series(model: TinyPulse, data_dir: Path, corpus: Path) -> dict:
    """The user's case: one long series (all channels) with gaps, imputed in one call."""
    cases: dict[str, np.ndarray] = {}
    for path in sorted(find_ltsf(data_dir)):
        if path.stem in ("ETTh1", "ETTm1", "exchange_rate"):
            table = _load(path, SuiteResult())
            prepared = _prepare(table, False, SuiteResult(), split="val") if table is not None else None
            if prepared is not None:
                cases[path.stem + "_val"] = prepared[3]  # the scaled val rows (channels, time)
    held = RealCorpus(corpus, holdout=HOLDOUT, split="heldout")
    for k, series in enumerate(held.series):
        x = np.asarray(series, dtype=np.float64)[:4096]
        if len(x) >= 2048 and np.isfinite(x).all() and x.std() > 1e-8:
            cases[f"corpus_{k}"] = ((x - x.mean()) / x.std())[None, :]
    out: dict = {}
    for name, x in cases.items():
        for mname, (make, ratio) in MASKS.items():
            rng = np.random.default_rng([1, len(name), round(ratio * 1000), len(mname)])
            hidden = make(x.shape, ratio, patch=8, rng=rng)
            masked = np.where(hidden, np.nan, x)
            fills = {
                "none": impute(model, masked, blend="none"),
                "auto": impute(model, masked, blend="auto"),
                "linear": _linear_fill(masked),
            }
            res = {k: float(((f - x) ** 2)[hidden].mean()) for k, f in fills.items()}
            res.update(apply_rules(model, x, hidden))
            out[f"{name}/{mname}"] = res
            print("long", name, x.shape, mname, {k: round(v, 5) for k, v in res.items()}, flush=True)
    return out


def main() -> None:
    data_dir = Path(sys.argv[1])
    corpus = Path(sys.argv[2] if len(sys.argv) > 2 else "../shared/corpus")
    torch.set_num_threads(1)
    model = resolve("tinypulse", TinyPulse)
    sets = ltsf_val(data_dir)
    sets["corpus_heldout"] = corpus_windows(corpus)
    out: dict = {"margins": [str(m) for m in MARGINS], "results": {}}
    for name, flat in sets.items():
        for mname, (make, ratio) in MASKS.items():
            rng = np.random.default_rng([0, len(name), round(ratio * 1000), len(mname)])
            hidden = make(flat.shape, ratio, patch=8, rng=rng)
            vals = np.where(hidden, 0.0, flat).astype(np.float32)
            obs = ~hidden
            rec = _linear_fill(np.where(obs, vals, reconstruct(model, vals, obs)))
            lin = _linear_fill(np.where(obs, vals, np.nan))
            rows, c, d_m, d_l = check_fills(model, vals, obs)
            mm, ll, ml = (d_m * d_m).sum(axis=1), (d_l * d_l).sum(axis=1), (d_m * d_l).sum(axis=1)
            err_lin = ((lin - flat) ** 2 * hidden).sum(1) / hidden.sum(1).clip(1)
            err_mod = ((rec - flat) ** 2 * hidden).sum(1) / hidden.sum(1).clip(1)
            easy = err_lin < err_mod  # windows where interpolation is truly better (oracle split)
            res = {
                "n": len(flat),
                "easy_share": float(easy.mean()),
                "linear": float(err_lin.mean()),
                "linear_easy": float(err_lin[easy].mean()) if easy.any() else None,
            }
            for margin in MARGINS:
                fill, w = blend(rec, lin, rows, mm, ll, ml, margin)
                e = ((fill - flat) ** 2 * hidden).sum(1) / hidden.sum(1).clip(1)
                res[f"m{margin}"] = float(e.mean())
                res[f"m{margin}_easy"] = float(e[easy].mean()) if easy.any() else None
                res[f"m{margin}_blended_share"] = float((w < 1).mean())
            # patch-level sign test: blend only where the model loses significantly more check
            # patches than it wins (one-sided, normal approximation to the binomial)
            n_r = c.shape[0]
            pm = (d_m**2).reshape(n_r, -1, 8).sum(2)
            pl = (d_l**2).reshape(n_r, -1, 8).sum(2)
            cp = c.reshape(n_r, -1, 8).all(2)
            npatch = cp.sum(1)
            wins = ((pm <= pl) & cp).sum(1)
            for z in SIGN_Z:
                lose = wins < npatch / 2 - z * 0.5 * np.sqrt(np.maximum(npatch, 1))
                fill, w = blend(rec, lin, rows, mm, ll, ml, 1.0)
                w2 = np.ones(len(flat))
                w2[rows] = np.where(lose, w[rows], 1.0)
                fill = w2[:, None] * rec + (1 - w2[:, None]) * lin
                e = ((fill - flat) ** 2 * hidden).sum(1) / hidden.sum(1).clip(1)
                res[f"sign{z}"] = float(e.mean())
                res[f"sign{z}_blended_share"] = float((w2 < 1).mean())
            pooled_hidden = hidden.sum()
            for k, v in apply_rules(model, flat, hidden).items():
                res[f"rule_{k}"] = v  # pooled over points (the sums above are means of per-window MSE)
            res["n_hidden"] = int(pooled_hidden)
            lib = impute(model, np.where(hidden, np.nan, flat)[:, None, :], blend="auto")[:, 0, :]
            res["library_auto"] = float((((lib - flat) ** 2 * hidden).sum(1) / hidden.sum(1).clip(1)).mean())
            for shrink in SHRINKS:
                for always in (False, True):
                    fill, w = blend(rec, lin, rows, mm, ll, ml, 1.0, shrink, always)
                    e = ((fill - flat) ** 2 * hidden).sum(1) / hidden.sum(1).clip(1)
                    key = f"k{shrink}" + ("_mix" if always else "")
                    res[key] = float(e.mean())
                    res[f"{key}_mean_w"] = float(w.mean())
            out["results"][f"{name}/{mname}"] = res
            keys = ["linear", "minf", "m1.0", "k4.0", "library_auto"] + [
                k for k in res if k.startswith("rule_") and not k.endswith("share")
            ]
            print(name, mname, {k: round(res[k], 4) for k in keys}, flush=True)
    out["long_series"] = long_series(model, data_dir, corpus)
    target = Path(__file__).with_suffix(".json")
    target.write_text(json.dumps(out, indent=1) + "\n")
    print("->", target)


if __name__ == "__main__":
    main()
