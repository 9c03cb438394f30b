"""``tinyts pretrain``: pre-train a model from a recipe (also under ``torchrun``); see docs/training.md."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tinyts.cli.common import command, fail


def register(app: typer.Typer) -> None:
    """Add the ``pretrain`` command to the root app."""
    command(app, pretrain, "pretrain")


def pretrain(
    recipe: Annotated[
        str,
        typer.Argument(
            help="Bundled recipe name (tinypulse) or a YAML file (`base: NAME` in it starts from another)."
        ),
    ],
    run_dir: Annotated[
        Path | None, typer.Option("--run-dir", help="Checkpoints, log and loss plot (default runs/RECIPE).")
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from the run's last checkpoint.")
    ] = False,
    steps: Annotated[int | None, typer.Option(help="Override the recipe's total steps.")] = None,
    max_seconds: Annotated[float, typer.Option(help="Stop (after a checkpoint) after this long.")] = 0.0,
    threads: Annotated[int | None, typer.Option(help="torch threads per process.")] = None,
    export: Annotated[
        Path | None, typer.Option("--export", help="Afterwards, write the checkpoint + model card here.")
    ] = None,
    ema: Annotated[
        bool,
        typer.Option(
            "--ema",
            help="With --export: export the run's weight average (recipe train.ema_decay > 0) instead of "
            "its current weights.",
        ),
    ] = False,
    tail: Annotated[
        bool,
        typer.Option(
            "--tail",
            help="With --export: export the run's uniform tail average (recipe train.tail_from > 0) "
            "instead of its current weights.",
        ),
    ] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    cooldown: Annotated[
        int | None,
        typer.Option(
            help="With --resume: anneal for this many steps instead (cosine from the current learning "
            "rate to the recipe's min_lr, no warm-up); for exporting a copy of a run mid-schedule."
        ),
    ] = None,
) -> None:
    """Pre-train a model from a recipe (also under `torchrun --nproc-per-node N -m tinyts pretrain`)."""
    from tinyts.train.card import export_run
    from tinyts.train.recipes import build_trainer, load_recipe

    spec = load_recipe(recipe)
    folder = run_dir or Path("runs") / Path(recipe).stem
    overrides: dict[str, object] = {"max_seconds": max_seconds, "progress": progress}
    if steps is not None:
        overrides["steps"] = steps
    if threads is not None:
        overrides["threads"] = threads
    trainer = build_trainer(spec, folder, overrides)
    if (folder / "checkpoint").exists() and not resume:
        fail(f"{folder} already holds a checkpoint: pass --resume to continue it, or use another --run-dir")
    if (ema or tail) and export is None:
        fail(f"--{'ema' if ema else 'tail'} chooses what --export writes: pass it with --export DIR")
    if ema and tail:
        fail("--ema and --tail are two different averages: pass one")
    if cooldown is not None and (not resume or steps is not None):
        fail("--cooldown continues a run: pass it with --resume and without --steps")
    if resume and trainer.resume() and trainer.info.is_main:
        typer.echo(f"resumed at step {trainer.step} ({trainer.samples:,} samples)")
    if cooldown is not None:
        trainer.config = trainer.config.cooldown(trainer.step, cooldown)
        if trainer.info.is_main:
            typer.echo(f"cool-down: {trainer.config.schedule()}")
    summary = trainer.fit()
    if trainer.info.is_main:
        typer.echo(
            f"step {summary['step']}, {summary['samples']:,} samples, "
            f"{summary['samples_per_second']:.0f} samples/s, run folder {folder}"
        )
        if summary["stopped_by_signal"] is not None:
            typer.echo(
                f"stopped by signal {summary['stopped_by_signal']}: checkpoint written, --resume continues"
            )
        if export is not None:
            try:
                typer.echo(f"exported to {export_run(folder, export, ema=ema, tail=tail)}")
            except ValueError as exc:
                fail(str(exc))
    from tinyts.train.dist import shutdown

    shutdown(trainer.info)
