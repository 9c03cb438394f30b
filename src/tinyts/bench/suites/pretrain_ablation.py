"""``pretrain_ablation``: score training runs on validation data only (issue 17's data ablations).

Which pre-training corpus to keep is decided here, never on the test parts the other suites
report. Every run folder (a ``tinyts pretrain --run-dir`` folder with a checkpoint) under the ``runs``
option (``--option runs=DIR``, default ``runs/ablations``) is a method, named after its folder (a run that
keeps a weight average, ``train.ema_decay``, is also scored as ``NAME_ema`` with the average's weights, one
with a tail average, ``train.tail_from``, as ``NAME_tail``):

- **imputation, validation split**: the imputation suite's protocol (512-windows, hybrid and block
  masks at 12.5-50 %, MSE on the hidden points, standardised with train statistics) over the
  *validation* rows of ETTh1 and ETTm1 instead of the test rows. ``linear_interp`` is the reference.
  Rows ``metric: "val_mse"`` per mask (``ratio: "avg"``) and ``mask: "all"`` (mean of both masks).
- **held-out pre-training loss**: the run's own objective (same masks, heads and weights) in eval
  mode on fixed batches that no run trained on (seed :data:`VAL_SEED`): ``synth_default`` (the
  old three-generator mix), ``synth_broad`` (the eleven-family mix) and ``real_heldout`` (windows
  of the corpus series held back by :data:`tinyts.data.real_corpus.HOLDOUT`, from the ``corpus``
  option, default ``../shared/corpus``). Rows ``metric: "val_loss"`` (weighted total)
  and ``"val_time"`` (masked MSE of the time head).

TinyCast runs (``tinycast`` in the run's state) get the forecasting counterpart instead of the
imputation rows: :mod:`tinyts.bench.suites._pretrain_val_cast` (held-out loss on the same three sets,
LTSF validation windows and held-back corpus series, relative to seasonal naive).

Equal budgets are the caller's job: the notes state each run's steps and samples, and the notes
carry a warning when the runs' sample counts differ by more than 1 %.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tinyts.bench.core import BenchContext, Row, SuiteResult, timer
from tinyts.bench.metrics import mse
from tinyts.bench.registry import Option, parse_path
from tinyts.bench.suites._pretrain_val_cast import score_cast_runs
from tinyts.bench.suites.imputation import MASKS, PATCH, QUICK_RATIOS, RATIOS, WINDOW, _mask_rng, _prepare
from tinyts.data.io.discover import find_ltsf
from tinyts.data.io.ltsf import read_ltsf_csv
from tinyts.train.state import EMA_FILE, TAIL_FILE

NAME = "pretrain_ablation"
DESCRIPTION = (
    "TinyPulse and TinyCast training runs (folders under --option runs=DIR) on validation data "
    "only: ETTh1/ETTm1 imputation (TinyPulse) or forecasting (TinyCast, plus held-back corpus series) "
    "over the validation split, and the held-out pre-training loss on fixed synthetic batches and "
    "held-back real corpus series"
)
#: reads the data folder (--data-dir / $TINYTS_DATA)
NEEDS_DATA = True

DEFAULT_RUNS = Path("runs/ablations")
DEFAULT_CORPUS = Path("../shared/corpus")
OPTIONS: dict[str, Option] = {
    "runs": Option(
        default=DEFAULT_RUNS,
        parse=parse_path,
        help="folder whose run folders (with a checkpoint) are scored, each a method named after it",
    ),
    "corpus": Option(
        default=DEFAULT_CORPUS,
        parse=parse_path,
        help="the real corpus folder whose held-back series make the real_heldout set",
    ),
}
#: Datasets scored when ``--datasets`` is not given.
DATASETS = ("ETTh1", "ETTm1")
#: Seed of the validation batches (training runs use small seeds: 0 in every bundled recipe).
VAL_SEED = 987_654_321
#: Validation batches per set (x the run's batch size).
VAL_BATCHES, QUICK_VAL_BATCHES = 16, 2
#: validation sets and the synthetic mix each draws from (``real_heldout``: corpus windows instead)
VAL_SETS = {"synth_default": "default", "synth_broad": "broad", "real_heldout": "default"}


#: method-name suffix of a run's weight average (``train.ema_decay``), scored beside its weights
EMA_SUFFIX = "_ema"
TAIL_SUFFIX = "_tail"


def find_runs(root: Path) -> dict[str, Path]:
    """Run folders (with ``checkpoint/state.json``) directly under ``root``, by folder name; a run that
    keeps a weight average (``checkpoint/ema.safetensors``) also as ``NAME_ema``, one with a tail average
    (``checkpoint/tail.safetensors``) as ``NAME_tail``."""
    if not root.is_dir():
        return {}
    found: dict[str, Path] = {}
    for p in sorted(root.iterdir()):
        if (p / "checkpoint" / "state.json").is_file():
            found[p.name] = p
            if (p / "checkpoint" / EMA_FILE).is_file():
                found[p.name + EMA_SUFFIX] = p
            if (p / "checkpoint" / TAIL_FILE).is_file():
                found[p.name + TAIL_SUFFIX] = p
    return found


def _val_series(name: str, corpus: Path) -> Any:
    """``series(n, length, rng)`` of a validation set (``None`` = the objective's own generator)."""
    if name != "real_heldout":
        return None
    from tinyts.data.real_corpus import HOLDOUT, RealCorpus

    held = RealCorpus(corpus, holdout=HOLDOUT, split="heldout")

    def series(n: int, length: int, rng: np.random.Generator) -> np.ndarray:
        return held.sample(rng, n, length).astype(np.float32)

    return series


def _val_losses(
    model: Any, meta: dict[str, Any], n_batches: int, corpus: Path
) -> dict[str, dict[str, float]]:
    """Mean validation loss per set: ``{set: {"val_loss": total, "val_time" | "val_fine": part}}``.

    The run's own objective (TinyPulse: ``val_time``, the time head's masked MSE; TinyCast:
    ``val_fine``, the fine head's pinball loss) in eval mode on :data:`VAL_SETS`.
    """
    import torch

    config_cls: Any
    objective_cls: Any
    if meta["model"] == "tinycast":
        from tinyts.models.cast import CastConfig as config_cls
        from tinyts.train.cast_objective import CastObjective as objective_cls

        part = "fine"
    else:
        from tinyts.models.pulse import PulseConfig as config_cls
        from tinyts.train.pulse_objective import PulseObjective as objective_cls

        part = "time"
    cfg = config_cls(**meta["model_config"])
    # the data keys are the validation set's, not the run's: every run is scored on the same batches
    data_keys = {
        "mix",
        "real_dir",
        "real_share",
        "real_short_share",
        "real_short_min_history",
        "real_short_balance",
        "seed",
    }
    settings = {k: v for k, v in meta["objective"].items() if k not in data_keys}
    out: dict[str, dict[str, float]] = {}
    model.eval()
    for name, mix in VAL_SETS.items():
        objective = objective_cls(**settings, mix=mix, seed=VAL_SEED)
        series = _val_series(name, corpus)
        totals, parts = [], []
        with torch.inference_mode():
            for step in range(n_batches):
                torch.manual_seed(VAL_SEED + step)  # TinyCast's coarse-point draw in the loss
                batch = objective.batch(step, 0, cfg, series)
                total, terms = objective.loss(model, batch, cfg)
                totals.append(float(total))
                parts.append(float(terms[part]))
        out[name] = {"val_loss": float(np.mean(totals)), f"val_{part}": float(np.mean(parts))}
    return out


def _score_imputation(
    ctx: BenchContext, result: SuiteResult, models: dict[str, Any], names: list[str]
) -> None:
    """The imputation protocol over the validation rows, for the TinyPulse runs and ``linear_interp``."""
    from tinyts.bench.peers.imputers import linear_fill
    from tinyts.tasks.pulse.impute import impute

    ratios = QUICK_RATIOS if ctx.quick else RATIOS
    wanted = [d.lower() for d in (ctx.datasets or DATASETS)]
    paths = [p for p in sorted(find_ltsf(ctx.data_dir)) if p.stem.lower() in wanted]
    for missing in sorted(set(wanted) - {p.stem.lower() for p in paths}):
        result.skip(missing, f"no LTSF csv named {missing} under {ctx.data_dir}")
    for path in paths:
        table = read_ltsf_csv(path)
        prepared = _prepare(table, ctx.quick, result, split="val")
        if prepared is None:
            continue
        windows, _, _, _ = prepared
        n_win, n_ch, _ = windows.shape
        flat = windows.reshape(n_win * n_ch, WINDOW)
        errs: dict[tuple[str, str], list[float]] = {}
        for kind, make_mask in MASKS.items():
            for ratio in ratios:
                rng = _mask_rng(ctx.seed, table.name, kind, ratio)
                hidden = make_mask((n_win, n_ch, WINDOW), ratio, patch=PATCH, rng=rng).reshape(flat.shape)
                masked = np.where(hidden, np.nan, flat)
                for name in names:
                    with timer() as t:
                        if name == "linear_interp":
                            filled = linear_fill(masked)
                        elif name in models:
                            filled = impute(models[name], masked[:, None, :])[:, 0, :]
                        else:
                            continue
                    value = mse(filled, flat, hidden)
                    errs.setdefault((name, kind), []).append(value)
                    result.add(
                        Row(
                            table.name,
                            name,
                            "val_mse",
                            value,
                            seconds=t[0],
                            extra={"mask": kind, "ratio": ratio},
                        )
                    )
        for name in names:
            per_mask = []
            for kind in MASKS:
                if (name, kind) in errs:
                    per_mask.append(float(np.mean(errs[(name, kind)])))
                    extra = {"mask": kind, "ratio": "avg"}
                    result.add(Row(table.name, name, "val_mse", per_mask[-1], extra=extra))
            if len(per_mask) == len(MASKS):
                result.add(
                    Row(
                        table.name,
                        name,
                        "val_mse",
                        float(np.mean(per_mask)),
                        extra={"mask": "all", "ratio": "avg"},
                    )
                )


def run(ctx: BenchContext) -> SuiteResult:
    from tinyts.train.card import load_run

    result = SuiteResult()
    root: Path = ctx.options["runs"]
    corpus: Path = ctx.options["corpus"]
    runs = find_runs(root)
    names = ctx.select_methods([*runs, "linear_interp"], result, NAME)
    if not runs:
        result.skip("runs", f"no run folder with a checkpoint under {root} (--option runs=DIR)")
        return result
    models: dict[str, Any] = {}  # TinyPulse runs
    casts: dict[str, Any] = {}  # TinyCast runs
    samples: dict[str, int] = {}
    for name in names:
        if name == "linear_interp":
            continue
        tail = name == runs[name].name + TAIL_SUFFIX  # NAME_tail: the run's tail average
        average = name == runs[name].name + EMA_SUFFIX  # NAME_ema: the run's weight average
        model, state = load_run(runs[name], ema=average, tail=tail)
        kind = state["meta"]["model"]
        if kind not in ("tinypulse", "tinycast"):
            result.skip(name, f"a {kind} run; this suite scores TinyPulse and TinyCast runs")
            continue
        samples[name] = int(state["samples"])
        result.notes.append(
            f"{name}: {kind}, {runs[name]}, step {state['step']:,}, {state['samples']:,} samples, "
            f"{state['train_seconds'] / 3600:.2f} h of training; recipe {Path(state['meta']['recipe']).name}"
            + (
                f"; the run's weight average (EMA, decay {state.get('ema_decay', 0):g}, "
                f"{int(state.get('ema_updates', 0)):,} updates)"
                if average
                else ""
            )
        )
        (casts if kind == "tinycast" else models)[name] = model
        losses = _val_losses(model, state["meta"], QUICK_VAL_BATCHES if ctx.quick else VAL_BATCHES, corpus)
        for vset, metrics in losses.items():
            for metric, value in metrics.items():
                result.add(Row(vset, name, metric, value))
    if samples and (max(samples.values()) - min(samples.values())) > 0.01 * max(samples.values()):
        result.notes.append(
            "WARNING: the runs saw different numbers of samples ("
            + ", ".join(f"{k} {v:,}" for k, v in samples.items())
            + "): this is not an equal-budget comparison"
        )
    score_cast_runs(ctx, result, casts, tuple(ctx.datasets or DATASETS), corpus)
    if models:
        _score_imputation(ctx, result, models, names)
    result.notes.insert(
        0,
        f"Validation data only. Imputation: the imputation suite's protocol over the validation rows of "
        f"{', '.join(DATASETS)} (masks {'/'.join(MASKS)} at "
        f"{', '.join(f'{r:.1%}' for r in (QUICK_RATIOS if ctx.quick else RATIOS))}, "
        f"seeded by --seed); held-out loss: the run's objective in eval mode on "
        f"{QUICK_VAL_BATCHES if ctx.quick else VAL_BATCHES} fixed batches per set (seed {VAL_SEED}; "
        f"real_heldout = corpus series held back from training, from {corpus}).",
    )
    return result
