"""``tinyts classify fit|predict``: TinyPulse classification (hybrid, frozen or TSLens) from UEA/UCR files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tinyts.cli_common import Overwrite, check_outputs, fail

if TYPE_CHECKING:  # pragma: no cover
    from tinyts.data.types import ClassificationSplit

classify_app = typer.Typer(
    help="Fit a TinyPulse classifier (hybrid with MiniRocket, frozen features or TSLens) and predict.",
    no_args_is_help=True,
)

_FILE_HELP = "UEA/UCR classification file (.ts, .arff, .tsv, .txt or label-first .csv)."


def register(app: typer.Typer) -> None:
    """Add the ``classify`` commands to the root app."""
    app.add_typer(classify_app, name="classify")


_fail = fail


def _read(path: Path) -> ClassificationSplit:
    from tinyts._errors import DataFormatError
    from tinyts.data.io_classification import read_classification

    if not path.is_file():
        _fail(f"{path} does not exist or is not a file")
    try:
        return read_classification(path)
    except (DataFormatError, ValueError, OSError) as exc:
        _fail(str(exc))


@classify_app.command("fit")
def fit_cmd(
    train: Annotated[Path, typer.Argument(help="TRAIN file. " + _FILE_HELP)],
    out: Annotated[Path, typer.Option("--out", help="Folder for the fitted classifier (config + weights).")],
    model: Annotated[str, typer.Option(help="Bundled TinyPulse name or checkpoint folder.")] = "tinypulse",
    method: Annotated[
        str,
        typer.Option(
            help="hybrid (frozen TinyPulse features + MiniRocket, seconds; the default) | frozen "
            "(TinyPulse features + ridge, seconds) | tslens (fine-tuning, minutes)."
        ),
    ] = "hybrid",
    pooling: Annotated[str, typer.Option(help="tslens only: lens (TSLens) | flat | avg | max")] = "lens",
    max_steps: Annotated[
        int,
        typer.Option("--max-steps", min=1, help="tslens only: upper bound on optimisation steps (fit time)."),
    ] = 800,
    seed: Annotated[int, typer.Option(help="Seed of MiniRocket's kernels and TSLens's split and masks.")] = 0,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", help="tslens: no progress lines (epoch, validation accuracy, time left)."),
    ] = False,
    overwrite: Overwrite = False,
) -> None:
    """Fit a classifier on a TRAIN file and save it (config.json + model.safetensors, no pickle)."""
    import time

    from tinyts.fileio import atomic_dir
    from tinyts.models.base import CheckpointError
    from tinyts.tasks.classify import PulseClassifier

    split = _read(train)
    check_outputs([(out, "--out", "dir")], overwrite=overwrite, inputs=[train])
    t0 = time.perf_counter()
    try:
        clf = PulseClassifier(
            model, method=method, pooling=pooling, max_steps=max_steps, seed=seed, verbose=not quiet
        )
        clf.fit(split.X, split.y)
    except (ValueError, TypeError, CheckpointError) as exc:
        _fail(str(exc))
    seconds = time.perf_counter() - t0
    with atomic_dir(out) as tmp:
        clf.save_pretrained(tmp)
    kept = f", kept step {clf.best_step_}" if clf.best_step_ is not None else ""
    typer.echo(
        f"{method}: fitted on {len(split.y)} cases, {clf.n_channels_} channel(s), {len(clf.classes_)} "
        f"classes in {seconds:.1f} s{kept} -> {out}"
    )


@classify_app.command("predict")
def predict_cmd(
    model_dir: Annotated[Path, typer.Argument(help="Folder written by `tinyts classify fit`.")],
    test: Annotated[Path, typer.Argument(help="File to classify. " + _FILE_HELP)],
    out: Annotated[
        Path | None, typer.Option("--out", help="Output csv (default TEST.predictions.csv).")
    ] = None,
    overwrite: Overwrite = False,
) -> None:
    """Predict every case of a file; writes one row per case (label and class probabilities).

    When the file has labels, the accuracy is printed too.
    """
    import numpy as np
    import pandas as pd

    from tinyts.fileio import atomic_file
    from tinyts.models.base import CheckpointError
    from tinyts.tasks.classify import PulseClassifier

    try:
        clf = PulseClassifier.from_pretrained(model_dir)
    except CheckpointError as exc:
        _fail(str(exc))
    target = out or test.with_suffix(".predictions.csv")
    check_outputs([(target, "--out", "file")], overwrite=overwrite, inputs=[test])
    split = _read(test)
    try:
        proba = clf.predict_proba(split.X)
    except (ValueError, TypeError) as exc:
        _fail(str(exc))
    pred = clf.classes_[proba.argmax(axis=1)]
    frame = pd.DataFrame({"case": np.arange(len(pred)), "prediction": pred})
    for k, label in enumerate(clf.classes_):
        frame[f"proba_{label}"] = proba[:, k]
    with atomic_file(target) as tmp:
        frame.to_csv(tmp, index=False)
    truth = np.asarray(split.y).astype(str)
    msg = f"predicted {len(pred)} cases -> {target}"
    if truth.size and (truth != "").all():
        msg += f"; accuracy {float(np.mean(pred.astype(str) == truth)):.4f}"
    typer.echo(msg)
