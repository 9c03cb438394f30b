"""``compression``: prune-then-finetune vs full fine-tuning, and distillation of a teacher into students.

Data: every LTSF csv of the data folder that fits (``--datasets ETTh1 -d ETTm1`` for the issue's two),
standard splits scaled with train statistics, every channel its own series; train/val windows are
subsampled (seeded), test windows are rolling origins over the test split (stride chosen for about
``test_origins`` origins), each forecast once at the longest horizon and scored on the prefix for the
shorter one (exact for TinyCast's rollout and for the direct students). Validation = the val split.

Pruning (methods ``tinycast-zeroshot``, ``tinycast-ft``, ``tinycast-pruned-ft``): the pre-trained model
of the ``prune_model`` option (``--option prune_model=FOLDER``: a checkpoint folder or bundled name;
default the bundled ``tinycast``); without one the part is recorded as skipped. Full fine-tuning and
prune-then-finetune share the fine-tuning settings (the model's own dense loss on windows with
``max(horizons)`` future points, Adam, early stopping on val loss); one pruned model per dataset serves
both horizons.

Distillation: the teacher from the ``teacher`` option (default the bundled ``tinycast-base``), run with
the adapter options of ``teacher_options`` (a JSON object; default :data:`TEACHER_OPTIONS`). Without a
pre-trained checkpoint, a ``tinycast-base``-sized TinyCast is trained from random initialisation on the
dataset's train split first (recorded in the notes), so the suite still measures a teacher against its
students in one run. Students: the MLP student (``mlp-*`` rows: supervised only, full DistilTS loss, and
the ablation of every term, uniform horizon weights, a frozen aligner) and two compact students, each
without and with the teacher: a low-rank MLP (``lowrank-sup`` / ``lowrank-distilts``) and a small
direct TinyCast (``cast-sup`` / ``cast-distilts``). Latency: median of interleaved timed calls on one
thread, same batch of test contexts; ``speedup`` = teacher (or full model) latency / student (or pruned
model) latency.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from tinyts.bench.core import BenchContext, Row, SuiteResult
from tinyts.bench.metrics import mae, mse
from tinyts.bench.registry import Option, optional_str
from tinyts.compress import (
    DistillConfig,
    FitConfig,
    FitResult,
    ForecastAdapter,
    LinearConfig,
    LinearStudent,
    PruneConfig,
    Windows,
    adapt,
    cast_student,
    distill,
    finetune,
    ltsf_windows,
    prune,
)
from tinyts.data.io.discover import find_ltsf
from tinyts.data.io.ltsf import read_ltsf_csv

NAME = "compression"
DESCRIPTION = (
    "Prune-then-finetune vs full fine-tuning of TinyCast; distillation of tinycast-base into students"
)
#: reads the data folder (--data-dir / $TINYTS_DATA)
NEEDS_DATA = True
HORIZONS = (96, 336)
#: the teacher's inference options (rollout to 96 steps, coarse grid beyond; no sign-flip ensemble):
#: its forecasts of every training window are needed, and the full rollout at 336 costs 3.5x more
TEACHER_OPTIONS: dict[str, Any] = {"strategy": "hybrid", "symmetry": False}


def parse_teacher_options(raw: str) -> dict[str, Any]:
    """Read the ``teacher_options`` option: a JSON object of TinyCast adapter options.

    ``{}`` means the adapter's defaults (anchored rollout to every horizon, sign-flip symmetry).
    """
    try:
        opts = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(
            "teacher_options must be a JSON object of TinyCast adapter options, for example "
            f'\'{{"strategy": "auto", "symmetry": true}}\' ({exc})'
        ) from exc
    if not isinstance(opts, dict):
        raise ValueError(f"teacher_options must be a JSON object, got {raw!r}")
    return opts


OPTIONS: dict[str, Option] = {
    "prune_model": Option(
        default=None,
        parse=optional_str,
        help="the pre-trained TinyCast to prune: checkpoint folder or bundled name (none: bundled tinycast)",
    ),
    "teacher": Option(
        default=None,
        parse=optional_str,
        help="the distillation teacher: a checkpoint folder or bundled name (none: bundled tinycast-base)",
    ),
    "teacher_options": Option(
        default=TEACHER_OPTIONS,
        parse=parse_teacher_options,
        help="the TinyCast teacher's adapter options, a JSON object ({} = the adapter's defaults)",
    ),
}

#: distillation variants of the MLP student: name -> loss settings
VARIANTS: dict[str, dict[str, Any]] = {
    "mlp-sup": {"kd_weight": 0.0, "align_weight": 0.0},
    "mlp-distilts": {},
    "mlp-distilts-no-kd": {"kd_weight": 0.0},
    "mlp-distilts-no-align": {"align_weight": 0.0},
    "mlp-distilts-no-sup": {"sup_weight": 0.0},
    "mlp-distilts-tau0": {"tau": 0.0},
    "mlp-distilts-frozen-aligner": {"train_aligner": False},
}
#: compact students (>= 50x fewer parameters than the bundled 1.9M tinycast as well), each trained
#: without the teacher (``-sup``) and with all DistilTS terms (``-distilts``): name -> (builder, lr)
COMPACT: dict[str, tuple[Callable[[int, int], Any], float]] = {
    "lowrank": (lambda c, h: LinearStudent(LinearConfig(c, h, hidden=32, linear=False)), 1e-3),
    "cast": (cast_student, 3e-3),
}


@dataclass(frozen=True)
class Budget:
    """Sizes of one run (full or ``--quick``)."""

    train_windows: int
    val_windows: int
    test_origins: int
    prune: PruneConfig
    finetune: FitConfig
    teacher_fit: FitConfig
    student_fit: FitConfig
    latency_batch: int
    latency_repeats: int
    #: fine-tuning learning rates tried for each arm (chosen by validation loss)
    lr_grid: tuple[float, ...] = (1e-4,)


FULL = Budget(
    train_windows=4096,
    val_windows=512,
    test_origins=100,
    prune=PruneConfig(
        ratio=0.5,
        epochs=4,
        steps_per_epoch=8,
        macro_batch=256,
        micro_batch=32,
        ema=0.5,
        min_sparsity=0.5,
        max_sparsity=0.85,
        finetune=None,
    ),
    finetune=FitConfig(epochs=4, steps_per_epoch=64, batch_size=32, lr=1e-4, patience=1),
    teacher_fit=FitConfig(epochs=3, steps_per_epoch=128, batch_size=16, lr=3e-4, patience=1),
    student_fit=FitConfig(epochs=10, batch_size=32, lr=1e-3, patience=3),
    latency_batch=16,
    latency_repeats=5,
    lr_grid=(1e-4, 3e-4),
)
QUICK = Budget(
    train_windows=96,
    val_windows=32,
    test_origins=3,
    prune=replace(FULL.prune, epochs=2, steps_per_epoch=2, macro_batch=32, micro_batch=16),
    finetune=FitConfig(epochs=1, steps_per_epoch=4, batch_size=8, lr=1e-4, patience=1),
    teacher_fit=FitConfig(epochs=1, steps_per_epoch=4, batch_size=8, lr=3e-4, patience=1),
    student_fit=FitConfig(epochs=2, batch_size=32, lr=1e-3, patience=1),
    latency_batch=8,
    latency_repeats=2,
)


def _source(value: str | None, bundled: str) -> str | None:
    """The checkpoint an option names, else the bundled model ``bundled`` when it exists, else None."""
    from tinyts.models.base import bundled_names

    if value:
        return value
    return bundled if bundled in bundled_names() else None


def _split(
    table_values: np.ndarray, name: str, context: int, budget: Budget, seed: int
) -> dict[str, Windows]:
    sets = ltsf_windows(table_values, name, context, max(HORIZONS))
    test = sets["test"]
    stride = max(1, math.ceil(len(test) / max(1, table_values.shape[0]) / budget.test_origins))
    n_ch = table_values.shape[0]
    per = len(test) // n_ch  # windows are channel-major: channel c holds rows [c*per, (c+1)*per)
    idx = np.concatenate([c * per + np.arange(0, per, stride)[: budget.test_origins] for c in range(n_ch)])
    return {
        "train": sets["train"].sample(budget.train_windows, seed),
        "val": sets["val"].sample(budget.val_windows, seed + 1),
        "test": test.subset(idx),
    }


def _scores(
    adapter: ForecastAdapter, test: Windows, horizons: tuple[int, ...] | None = None
) -> tuple[dict[int, dict[str, float]], float]:
    """MSE and MAE per horizon of forecasts made once at the longest horizon, and the seconds taken."""
    horizons = horizons or HORIZONS
    t0 = time.perf_counter()
    pred = adapter.predict_batched(test.x, max(horizons), 64).numpy()
    seconds = time.perf_counter() - t0
    target = test.y.numpy()
    return {
        h: {"mse": mse(pred[:, :h], target[:, :h]), "mae": mae(pred[:, :h], target[:, :h])} for h in horizons
    }, seconds


def _call(adapter: ForecastAdapter, x: torch.Tensor, horizon: int) -> Callable[[], Any]:
    return lambda: adapter.predict(x, horizon)


def _latency(
    calls: dict[str, Callable[[], Any]], repeats: int, min_seconds: float = 0.02
) -> dict[str, float]:
    """Median milliseconds per call of each function, interleaved so that machine load hits all alike.

    Fast calls are repeated in blocks of at least ``min_seconds`` (sub-millisecond students would otherwise
    be dominated by timer noise).
    """
    times: dict[str, list[float]] = {k: [] for k in calls}
    inner: dict[str, int] = {}
    with torch.inference_mode():
        for k, fn in calls.items():  # warm-up, and the block size of each call
            fn()
            t0 = time.perf_counter()
            fn()
            inner[k] = max(1, math.ceil(min_seconds / max(time.perf_counter() - t0, 1e-6)))
        for _ in range(repeats):
            for k, fn in calls.items():
                t0 = time.perf_counter()
                for _ in range(inner[k]):
                    fn()
                times[k].append((time.perf_counter() - t0) * 1e3 / inner[k])
    return {k: float(np.median(v)) for k, v in times.items()}


def _add_scores(
    result: SuiteResult,
    dataset: str,
    method: str,
    scores: dict[int, dict[str, float]],
    part: str,
    extra: dict[str, Any] | None = None,
) -> None:
    for h, vals in scores.items():
        for metric, value in vals.items():
            result.add(
                Row(dataset, method, metric, value, extra={"horizon": h, "part": part, **(extra or {})})
            )


# ------------------------------------------------------------------------------------------- pruning


def _best_finetune(
    start: ForecastAdapter, data: dict[str, Windows], budget: Budget, seed: int
) -> tuple[ForecastAdapter, FitResult, float]:
    """Fine-tune a copy of ``start`` per learning rate of the grid; keep the best by validation loss."""
    best: tuple[ForecastAdapter, FitResult, float] | None = None
    for lr in budget.lr_grid:
        ad = copy.deepcopy(start)
        fr = finetune(ad, data["train"], data["val"], replace(budget.finetune, lr=lr, seed=seed))
        if best is None or fr.val_history[fr.best_epoch] < best[1].val_history[best[1].best_epoch]:
            best = (ad, fr, lr)
    assert best is not None
    return best


def _prune_part(
    ctx: BenchContext, result: SuiteResult, name: str, values: np.ndarray, budget: Budget
) -> None:
    from tinyts.models.base import CheckpointError, ModelTypeError, resolve
    from tinyts.models.cast import TinyCast

    source = _source(ctx.options["prune_model"], "tinycast")
    if source is None:
        result.skip(
            f"{name} / pruning",
            "no pre-trained TinyCast: no bundled 'tinycast' checkpoint and no --option prune_model "
            "(a checkpoint folder or bundled name)",
        )
        return
    try:
        base = resolve(source, TinyCast, what="prune_model")
        base_ad = adapt(base)
    except (CheckpointError, ModelTypeError, ValueError) as exc:
        result.skip(f"{name} / pruning", f"prune_model={source!r} could not be used: {exc}")
        return
    data = _split(values, name, base_ad.context_length, budget, ctx.seed)
    torch.manual_seed(ctx.seed)
    zero, _ = _scores(base_ad, data["test"])
    _add_scores(result, name, "tinycast-zeroshot", zero, "prune")
    full_ad, ft, full_lr = _best_finetune(adapt(base), data, budget, ctx.seed)
    full_scores, _ = _scores(full_ad, data["test"])
    _add_scores(result, name, "tinycast-ft", full_scores, "prune")
    pr = prune(base, data["train"], data["val"], replace(budget.prune, finetune=None, seed=ctx.seed))
    pruned_ad, pft, pruned_lr = _best_finetune(pr.adapter, data, budget, ctx.seed)
    pruned_scores, _ = _scores(pruned_ad, data["test"])
    _add_scores(result, name, "tinycast-pruned-ft", pruned_scores, "prune")
    ctx_batch = data["test"].x[: budget.latency_batch]
    for h in HORIZONS:
        lat = _latency(
            {
                "ft": _call(full_ad, ctx_batch, h),
                "pr": _call(pruned_ad, ctx_batch, h),
            },
            budget.latency_repeats,
        )
        ex = {"horizon": h, "part": "prune", "batch": int(ctx_batch.shape[0])}
        result.add(
            Row(name, "tinycast-ft", "latency_ms", lat["ft"], extra=ex),
            Row(name, "tinycast-pruned-ft", "latency_ms", lat["pr"], extra=ex),
            Row(
                name,
                "tinycast-pruned-ft",
                "speedup",
                lat["ft"] / lat["pr"],
                extra={**ex, "reference": "tinycast-ft"},
            ),
        )
    ex = {"part": "prune"}
    result.add(
        Row(name, "tinycast-ft", "params", full_ad.num_parameters(), extra=ex),
        Row(name, "tinycast-pruned-ft", "params", pr.params_after, extra=ex),
        Row(
            name,
            "tinycast-pruned-ft",
            "param_ratio",
            pr.params_before / pr.params_after,
            extra={**ex, "reference": "tinycast-ft"},
        ),
    )
    result.notes.append(
        f"{name} pruning: source {source}; {len(data['train'])} train / {len(data['val'])} val windows, "
        f"{len(data['test'])} test series; full FT (lr {full_lr:g} of {list(budget.lr_grid)} by val loss) "
        f"val loss {[round(v, 4) for v in ft.val_history]} "
        f"(best epoch {ft.best_epoch}, {ft.seconds:.0f} s); pruning val loss "
        f"{[round(v, 4) for v in pr.val_history]}, pruned unit share "
        f"{[round(v, 3) for v in pr.sparsity_history]}, kept epoch {pr.best_epoch} ({pr.stopped}), "
        f"{pr.units_kept}/{pr.units_total} units, {pr.params_before:,} -> {pr.params_after:,} parameters, "
        f"{pr.prune_seconds:.0f} s; pruned FT (lr {pruned_lr:g}) val loss "
        f"{[round(v, 4) for v in pft.val_history]} ({pft.seconds:.0f} s)."
    )


# -------------------------------------------------------------------------------------- distillation


def fallback_teacher_config() -> dict[str, Any]:
    """The model config of the teacher trained here when no pre-trained one exists: tinycast-base's."""
    from tinyts.train.recipes import load_recipe

    return dict(load_recipe("tinycast-base")["model_config"])


def _teacher(
    ctx: BenchContext, result: SuiteResult, name: str, values: np.ndarray, budget: Budget
) -> tuple[ForecastAdapter, str]:
    from tinyts.compress import load_compressed
    from tinyts.models.cast import CastConfig, TinyCast

    source = _source(ctx.options["teacher"], "tinycast-base")
    if source is not None:
        model: Any = load_compressed(source)
        opts = dict(ctx.options["teacher_options"]) if isinstance(model, TinyCast) else {}
        return adapt(model, **opts), f"pre-trained teacher {source} (zero-shot; options {opts})"
    torch.manual_seed(ctx.seed)
    model = TinyCast(CastConfig(**fallback_teacher_config()))
    opts = dict(ctx.options["teacher_options"])
    ad = adapt(model, **opts)
    data = _split(values, name, ad.context_length, budget, ctx.seed + 7)
    fr = finetune(ad, data["train"], data["val"], replace(budget.teacher_fit, seed=ctx.seed))
    note = (
        f"no pre-trained tinycast-base (bundled or --option teacher): the teacher is a tinycast-base-sized "
        f"TinyCast ({ad.num_parameters():,} parameters) trained from random initialisation on the {name} "
        f"train split (options {opts}) for "
        f"{fr.steps} steps of {budget.teacher_fit.batch_size} windows ({fr.seconds:.0f} s; val loss "
        f"{[round(v, 4) for v in fr.val_history]}, kept epoch {fr.best_epoch})"
    )
    return ad, note


def _teacher_name(teacher: ForecastAdapter) -> str:
    """``tinycast-base`` / ``tinycast`` for TinyCast teachers of those sizes, else the adapter's name."""
    cfg = getattr(teacher.model, "config", None)
    if teacher.name == "tinycast" and cfg is not None:
        base = fallback_teacher_config()
        if (cfg.d_model, cfg.num_layers) == (base["d_model"], base["num_layers"]):
            return "tinycast-base"
        return "tinycast"
    return teacher.name


def _distill_part(
    ctx: BenchContext, result: SuiteResult, name: str, values: np.ndarray, budget: Budget
) -> None:
    from tinyts.models.base import CheckpointError

    try:
        teacher, how = _teacher(ctx, result, name, values, budget)
    except (CheckpointError, ValueError) as exc:
        result.skip(f"{name} / distillation", f"no usable teacher: {exc}")
        return
    context = teacher.context_length
    data = _split(values, name, context, budget, ctx.seed)
    t0 = time.perf_counter()
    t_pred = teacher.predict_batched(data["train"].x, max(HORIZONS), 64)
    t_hid = torch.cat(
        [teacher.hidden_states(data["train"].x[i : i + 64]) for i in range(0, len(data["train"]), 64)]
    )
    cache_s = time.perf_counter() - t0
    t_scores, t_test_s = _scores(teacher, data["test"])
    t_name = _teacher_name(teacher)
    _add_scores(result, name, t_name, t_scores, "distill", {"role": "teacher"})
    t_params = teacher.num_parameters()
    result.add(Row(name, t_name, "params", t_params, extra={"part": "distill", "role": "teacher"}))
    lat_x = data["test"].x[: budget.latency_batch]
    for h in HORIZONS:
        students: dict[str, ForecastAdapter] = {}
        info: list[str] = []
        for method, overrides in VARIANTS.items():
            torch.manual_seed(ctx.seed)
            st = LinearStudent(LinearConfig(context, h, hidden=64))
            cfg = replace(DistillConfig(fit=replace(budget.student_fit, seed=ctx.seed)), **overrides)
            students[method] = _run_student(teacher, st, data, h, cfg, (t_pred, t_hid), info, method)
        for kind, (build, lr) in COMPACT.items():
            for suffix, overrides in (("sup", VARIANTS["mlp-sup"]), ("distilts", {})):
                torch.manual_seed(ctx.seed)
                fit = replace(budget.student_fit, seed=ctx.seed, lr=lr)
                cfg = replace(DistillConfig(fit=fit), **overrides)
                method = f"{kind}-{suffix}"
                students[method] = _run_student(
                    teacher, build(context, h), data, h, cfg, (t_pred, t_hid), info, method
                )
        calls = {"teacher": _call(teacher, lat_x, h)}
        for method, st_ad in students.items():
            calls[method] = _call(st_ad, lat_x, h)
        lat = _latency(calls, budget.latency_repeats)
        ex = {"horizon": h, "part": "distill", "batch": int(lat_x.shape[0])}
        result.add(Row(name, t_name, "latency_ms", lat["teacher"], extra={**ex, "role": "teacher"}))
        for method, st_ad in students.items():
            sc, _ = _scores(st_ad, data["test"], (h,))
            result.add(
                Row(name, method, "mse", sc[h]["mse"], extra={**ex, "role": "student"}),
                Row(name, method, "mae", sc[h]["mae"], extra={**ex, "role": "student"}),
                Row(name, method, "params", st_ad.num_parameters(), extra={**ex, "role": "student"}),
                Row(
                    name,
                    method,
                    "param_ratio",
                    t_params / st_ad.num_parameters(),
                    extra={**ex, "reference": t_name},
                ),
                Row(name, method, "latency_ms", lat[method], extra={**ex, "role": "student"}),
                Row(
                    name,
                    method,
                    "speedup",
                    lat["teacher"] / lat[method],
                    extra={**ex, "reference": t_name},
                ),
            )
        result.notes.append(f"{name} distillation h{h}: " + "; ".join(info))
    result.notes.append(
        f"{name} distillation: {how}; teacher forecasts and hidden "
        "states of "
        f"{len(data['train'])} train windows computed once ({cache_s:.0f} s) and shared by all students; "
        f"{len(data['val'])} val windows, {len(data['test'])} test series ({t_test_s:.0f} s for the teacher)."
    )


def _run_student(
    teacher: ForecastAdapter,
    student: Any,
    data: dict[str, Windows],
    h: int,
    cfg: DistillConfig,
    cache: tuple[torch.Tensor, torch.Tensor],
    info: list[str],
    method: str,
) -> ForecastAdapter:
    res = distill(teacher, student, data["train"], data["val"], h, cfg, teacher_outputs=cache)
    info.append(
        f"{method} val MSE {res.fit.val_history[0]:.4f} -> {res.fit.val_history[res.fit.best_epoch]:.4f} "
        f"(epoch {res.fit.best_epoch}, {res.fit.seconds:.0f} s)"
    )
    return res.student


# ----------------------------------------------------------------------------------------------- run


def run(ctx: BenchContext) -> SuiteResult:
    result = SuiteResult()
    torch.set_num_threads(1)
    budget = QUICK if ctx.quick else FULL
    parts = ctx.select_methods(("prune", "distill"), result, NAME)
    paths = sorted(
        (p for p in find_ltsf(ctx.data_dir) if ctx.wants(p.stem)), key=lambda p: (p.stem.lower(), str(p))
    )
    if ctx.quick:
        for p in paths[1:]:
            result.skip(p.stem, "not in the --quick subset (first dataset by name only)")
        paths = paths[:1]
    result.notes += [
        "Protocol: LTSF splits scaled with train statistics, each channel its own series; horizons "
        f"{list(HORIZONS)}; train/val windows subsampled to {budget.train_windows}/{budget.val_windows}; "
        f"about {budget.test_origins} "
        "test origins per channel, forecast once at the longest horizon (shorter horizons score the prefix). "
        "mse/mae in the standardised space. --methods selects the parts: prune, distill.",
        f"Pruning settings: {budget.prune}; fine-tuning (both arms): {budget.finetune}, learning rate "
        f"chosen per arm from {list(budget.lr_grid)} by validation loss.",
        f"Latency: median of {budget.latency_repeats} interleaved timings after a warm-up (fast calls timed "
        "in blocks of >= 20 ms), one thread, a "
        "batch of "
        f"{budget.latency_batch} test contexts; the machine may be shared with other jobs.",
    ]
    for path in paths:
        try:
            table = read_ltsf_csv(path)
            ltsf_windows(table.values[:1], table.name, 512, max(HORIZONS))
        except ValueError as exc:
            result.skip(path.stem, f"no usable split for context 512 + horizon {max(HORIZONS)}: {exc}")
            continue
        if np.isnan(table.values).any():
            result.skip(table.name, "missing values")
            continue
        for part, fn in (("prune", _prune_part), ("distill", _distill_part)):
            if part in parts:
                try:
                    fn(ctx, result, table.name, table.values, budget)
                except Exception as exc:  # a failing part is recorded, never dropped silently
                    result.skip(f"{table.name} / {part}", f"failed: {type(exc).__name__}: {exc}")
    if not paths:
        result.skip(NAME, f"no LTSF csv (first header cell 'date') found under {ctx.data_dir}")
    return result
