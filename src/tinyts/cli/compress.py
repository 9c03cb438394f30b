"""``tinyts prune`` and ``tinyts distill``: structured pruning and distillation of forecasting models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tinyts.cli.common import Overwrite, check_outputs, command, fail

if TYPE_CHECKING:
    from tinyts.compress.data import Windows

_DATA_HELP = (
    "Wide csv (optional date column, one column per channel). Split like the LTSF benchmarks "
    "(ETT* names: 12/4/4 months, else 70/10/20), scaled with train statistics; each channel is a series."
)


def _windows(
    data: Path, context: int, future: int, stride: int, max_windows: int, seed: int
) -> dict[str, Windows]:
    from tinyts.cli.files import read_wide_csv
    from tinyts.compress.data import ltsf_windows

    table = read_wide_csv(data)
    strides = {"train": stride, "val": stride}
    sets = ltsf_windows(table.values, data.stem, context, future, strides=strides, splits=("train", "val"))
    if max_windows:
        sets = {k: v.sample(max_windows, seed) for k, v in sets.items()}
    for split in ("train", "val"):
        if len(sets[split]) == 0:
            fail(f"{data}: the {split} split has no complete window of {context} + {future} points")
    return sets


def prune(
    model: Annotated[
        str, typer.Argument(help="tinyts name/folder or local Hugging Face folder (PatchTST, T5).")
    ],
    data: Annotated[Path, typer.Option("--data", help=_DATA_HELP)],
    out: Annotated[Path, typer.Option("--out", help="Folder for the pruned, fine-tuned model.")],
    horizon: Annotated[int, typer.Option(help="Future points per training window (the loss' target).")] = 96,
    ratio: Annotated[float, typer.Option(help="Share of units pruned per epoch, in (0, 1).")] = 0.2,
    epochs: Annotated[int, typer.Option(help="Maximum pruning epochs.")] = 5,
    steps_per_epoch: Annotated[
        int | None, typer.Option(help="Scoring steps per epoch (default: a pass).")
    ] = None,
    macro_batch: Annotated[int, typer.Option(help="Windows per scoring step.")] = 256,
    micro_batch: Annotated[int, typer.Option(help="Windows per forward/backward.")] = 32,
    ema: Annotated[float, typer.Option(help="EMA weight of the new score, in (0, 1].")] = 0.5,
    first_order: Annotated[bool, typer.Option(help="Drop the second-order term of the score.")] = False,
    max_sparsity: Annotated[float, typer.Option(help="Cap on the pruned share of units.")] = 1.0,
    min_sparsity: Annotated[float, typer.Option(help="Target pruned share (earlier epochs not kept).")] = 0.0,
    residual: Annotated[bool, typer.Option(help="Also prune residual-side channels.")] = True,
    finetune_epochs: Annotated[int, typer.Option(help="Fine-tuning epochs after surgery (0 = none).")] = 3,
    finetune_steps: Annotated[int | None, typer.Option(help="Fine-tuning steps per epoch.")] = None,
    lr: Annotated[float, typer.Option(help="Fine-tuning learning rate.")] = 1e-4,
    batch_size: Annotated[int, typer.Option(help="Fine-tuning batch size.")] = 32,
    stride: Annotated[int, typer.Option(help="Stride of the train/val windows.")] = 1,
    max_windows: Annotated[int, typer.Option(help="At most this many train/val windows (0 = all).")] = 0,
    seed: Annotated[int, typer.Option(help="Seed of sampling and shuffling.")] = 0,
    progress: Annotated[bool, typer.Option(help="Progress bar while fine-tuning.")] = True,
    overwrite: Overwrite = False,
) -> None:
    """Prune a forecasting model on a dataset (Prune-then-Finetune), then fine-tune and save it."""
    from tinyts.compress import FitConfig, PruneConfig, adapt
    from tinyts.compress import prune as run_prune
    from tinyts.fileio import atomic_dir

    check_outputs(
        [(out, "--out", "dir")],
        overwrite=overwrite,
        inputs=[data, model if Path(model).exists() else None],
    )

    ft = None
    if finetune_epochs:
        ft = FitConfig(
            epochs=finetune_epochs,
            steps_per_epoch=finetune_steps,
            lr=lr,
            batch_size=batch_size,
            seed=seed,
            progress=progress,
        )
    cfg = PruneConfig(
        ratio=ratio,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        macro_batch=macro_batch,
        micro_batch=micro_batch,
        ema=ema,
        order=1 if first_order else 2,
        max_sparsity=max_sparsity,
        min_sparsity=min_sparsity,
        residual=residual,
        finetune=ft,
        seed=seed,
    )
    adapter = adapt(model)
    sets = _windows(data, adapter.context_length, horizon, stride, max_windows, seed)
    result = run_prune(adapter, sets["train"], sets["val"], cfg, copy_model=False)
    summary = {
        "params_before": result.params_before,
        "params_after": result.params_after,
        "units_kept": result.units_kept,
        "units_total": result.units_total,
        "val_history": result.val_history,
        "sparsity_history": result.sparsity_history,
        "best_epoch": result.best_epoch,
        "stopped": result.stopped,
        "finetune_val_history": None if result.finetune is None else result.finetune.val_history,
    }
    with atomic_dir(out) as tmp:
        result.adapter.save(tmp)
        (tmp / "compress_summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    folder = out
    final = (
        result.finetune.val_history[result.finetune.best_epoch]
        if result.finetune
        else result.val_history[result.best_epoch]
    )
    typer.echo(
        f"pruned {result.params_before:,} -> {result.params_after:,} parameters "
        f"({result.units_kept}/{result.units_total} units kept, best epoch {result.best_epoch}, "
        f"{result.stopped}); val loss {result.val_history[0]:.4f} -> "
        f"{final:.4f}"
        f" -> {folder}"
    )


def distill(
    teacher: Annotated[str, typer.Argument(help="Teacher: tinyts name/folder or Hugging Face folder.")],
    data: Annotated[Path, typer.Option("--data", help=_DATA_HELP)],
    out: Annotated[Path, typer.Option("--out", help="Folder for the student.")],
    horizon: Annotated[int, typer.Option(help="Forecast horizon of the student.")] = 96,
    student: Annotated[
        str, typer.Option(help="mlp | lowrank (MLP branch only) | linear | cast (a small TinyCast).")
    ] = "mlp",
    hidden: Annotated[int, typer.Option(help="Hidden width of the mlp / lowrank student.")] = 64,
    sup_weight: Annotated[float, typer.Option(help="Weight of the supervised MSE.")] = 1.0,
    kd_weight: Annotated[float, typer.Option(help="Weight of the horizon-weighted teacher matching.")] = 0.5,
    align_weight: Annotated[float, typer.Option(help="Weight of the temporal feature alignment.")] = 0.3,
    tau: Annotated[float, typer.Option(help="Horizon-weight temperature (0 = uniform).")] = 1.0,
    frozen_aligner: Annotated[
        bool, typer.Option(help="Do not train the aligner (the released code).")
    ] = False,
    epochs: Annotated[int, typer.Option(help="Maximum epochs.")] = 10,
    steps_per_epoch: Annotated[int | None, typer.Option(help="Steps per epoch (default: a pass).")] = None,
    lr: Annotated[float, typer.Option(help="Learning rate.")] = 1e-3,
    batch_size: Annotated[int, typer.Option(help="Batch size.")] = 32,
    patience: Annotated[int, typer.Option(help="Early-stopping patience (epochs).")] = 3,
    stride: Annotated[int, typer.Option(help="Stride of the train/val windows.")] = 1,
    max_windows: Annotated[int, typer.Option(help="At most this many train/val windows (0 = all).")] = 0,
    seed: Annotated[int, typer.Option(help="Seed of initialisation, sampling and shuffling.")] = 0,
    progress: Annotated[bool, typer.Option(help="Progress bar.")] = True,
    overwrite: Overwrite = False,
) -> None:
    """Distil a forecasting teacher into a small student (DistilTS) and save the student."""
    import torch

    from tinyts.fileio import atomic_dir

    check_outputs(
        [(out, "--out", "dir")],
        overwrite=overwrite,
        inputs=[data, teacher if Path(teacher).exists() else None],
    )

    from tinyts.compress import DistillConfig, FitConfig, LinearConfig, LinearStudent, adapt, cast_student
    from tinyts.compress import distill as run_distill

    t_ad = adapt(teacher)
    context = t_ad.context_length
    torch.manual_seed(seed)
    if student in ("mlp", "lowrank", "linear"):
        width = 0 if student == "linear" else hidden
        config = LinearConfig(context, horizon, width, linear=student != "lowrank")
        model: torch.nn.Module = LinearStudent(config)
    elif student == "cast":
        model = cast_student(context, horizon)
    else:
        raise ValueError(f"unknown student {student!r}; choose mlp, lowrank, linear or cast")
    sets = _windows(data, context, horizon, stride, max_windows, seed)
    cfg = DistillConfig(
        sup_weight=sup_weight,
        kd_weight=kd_weight,
        align_weight=align_weight,
        tau=tau,
        train_aligner=not frozen_aligner,
        fit=FitConfig(
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            lr=lr,
            batch_size=batch_size,
            patience=patience,
            seed=seed,
            progress=progress,
        ),
    )
    result = run_distill(t_ad, model, sets["train"], sets["val"], horizon, cfg)
    val = result.fit.val_history
    summary = {
        "teacher_params": t_ad.num_parameters(),
        "student_params": result.student.num_parameters(),
        "val_mse_history": val,
        "best_epoch": result.fit.best_epoch,
        "config": {
            "sup_weight": sup_weight,
            "kd_weight": kd_weight,
            "align_weight": align_weight,
            "tau": tau,
            "train_aligner": not frozen_aligner,
        },
    }
    with atomic_dir(out) as tmp:
        result.student.save(tmp)
        (tmp / "compress_summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    folder = out
    typer.echo(
        f"student {result.student.num_parameters():,} parameters (teacher {t_ad.num_parameters():,}); "
        f"val MSE {val[0]:.4f} -> {val[result.fit.best_epoch]:.4f} -> {folder}"
    )


def register(app: typer.Typer) -> None:
    """Add the ``prune`` and ``distill`` commands to the root app."""
    command(app, prune, "prune")
    command(app, distill, "distill")
