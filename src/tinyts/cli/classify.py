"""``tinyts classify fit|predict``: TinyPulse classification (hybrid, frozen or TSLens) from UEA/UCR files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from tinyts.cli.common import Overwrite, check_outputs, fail, group
from tinyts.cli.distributed import EngineOpt, WorkersOpt, cases_frame, check_engine, run_frame
from tinyts.options import ClassifyMethod, LensPooling, choices

if TYPE_CHECKING:  # pragma: no cover
    from tinyts.data.types import ClassificationSplit

_FILE_HELP = (
    "UEA/UCR classification file (.ts, .arff, .tsv, .txt or .csv: labels first, or a header row with a "
    "column named label / class / target / y)."
)


def register(app: typer.Typer) -> None:
    """Add the ``classify fit|predict`` commands to the root app."""
    group(
        app,
        "classify",
        "Fit a TinyPulse classifier (hybrid with MiniRocket, frozen features or TSLens) and predict.",
        {"fit": fit_cmd, "predict": predict_cmd},
    )


def _read(path: Path) -> ClassificationSplit:
    from tinyts.data.io.classification import read_classification

    if not path.is_file():
        fail(f"{path} does not exist or is not a file")
    return read_classification(path)


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
    pooling: Annotated[
        str, typer.Option(help="tslens only: " + " | ".join(choices(LensPooling)) + " (lens: TSLens)")
    ] = "lens",
    max_steps: Annotated[
        int,
        typer.Option("--max-steps", min=1, help="tslens only: upper bound on optimisation steps (fit time)."),
    ] = 800,
    seed: Annotated[int, typer.Option(help="Seed of MiniRocket's kernels and TSLens's split and masks.")] = 0,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            help="No progress lines on stderr (stages with time left; tslens: step, epoch, validation "
            "accuracy, time left).",
        ),
    ] = False,
    plot: Annotated[
        Path | None,
        typer.Option(
            help="tslens only: plot the training curve and the confusion matrix of the held-out "
            "validation cases here (png)."
        ),
    ] = None,
    overwrite: Overwrite = False,
) -> None:
    """Fit a classifier on a TRAIN file and save it (config.json + model.safetensors, no pickle).

    Progress goes to stderr, one line per stage; the summary to stdout.
    """
    import sys
    import time

    from tinyts.fileio import atomic_dir
    from tinyts.tasks.classify.api import PulseClassifier

    if plot is not None and method != "tslens":
        fail(
            f"--plot draws the training curve of --method tslens; {method} trains no curve. The "
            "confusion matrix of a labelled TEST file: tinyts classify predict MODEL TEST --plot FILE.png"
        )
    split = _read(train)
    check_outputs([(out, "--out", "dir"), (plot, "--plot", "file")], overwrite=overwrite, inputs=[train])
    if not quiet:
        print(
            f"[{method}] fitting on {len(split.y)} cases of {train.name} ({len(set(map(str, split.y)))} "
            "classes)",
            file=sys.stderr,
            flush=True,
        )
    t0 = time.perf_counter()
    clf = PulseClassifier(  # the option values are checked there (ValueError naming the choices)
        model,
        method=cast(ClassifyMethod, method),
        pooling=cast(LensPooling, pooling),
        max_steps=max_steps,
        seed=seed,
        verbose=not quiet,
    )
    clf.fit(split.X, split.y)
    seconds = time.perf_counter() - t0
    with atomic_dir(out) as tmp:
        clf.save_pretrained(tmp)
    kept = f", kept step {clf.best_step_}" if clf.best_step_ is not None else ""
    typer.echo(
        f"{method}: fitted on {len(split.y)} cases, {clf.n_channels_} channel(s), {len(clf.classes_)} "
        f"classes in {seconds:.1f} s{kept} -> {out}"
    )
    if plot is not None:
        from tinyts.cli.plots import plot_classification

        if clf.validation_ is None:
            typer.echo("no plot: this run held out no validation cases")
            return
        truth, pred = clf.validation_
        png = plot_classification(
            plot,
            list(clf.classes_),
            truth,
            pred,
            history=clf.history_,
            best_step=clf.best_step_,
            title=f"tinyts classify fit --method tslens on {train.name}",
            matrix_title=f"validation cases, unmasked: accuracy "
            f"{float((truth.astype(str) == pred.astype(str)).mean()):.3f}",
        )
        typer.echo(f"plot -> {png}")


def predict_cmd(
    model_dir: Annotated[Path, typer.Argument(help="Folder written by `tinyts classify fit`.")],
    test: Annotated[Path, typer.Argument(help="File to classify. " + _FILE_HELP)],
    out: Annotated[
        Path | None, typer.Option("--out", help="Output csv (default TEST.predictions.csv).")
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(help="Plot the confusion matrix and per-class accuracy here (png; labelled files)."),
    ] = None,
    overwrite: Overwrite = False,
    engine: EngineOpt = None,
    workers: WorkersOpt = 2,
) -> None:
    """Predict every case of a file; writes one row per case (label and class probabilities).

    When the file has labels, the accuracy is printed too (and ``--plot`` draws the confusion matrix).
    """
    import numpy as np
    import pandas as pd

    from tinyts.fileio import atomic_file
    from tinyts.tasks.classify.api import PulseClassifier

    clf = PulseClassifier.from_pretrained(model_dir)
    target = out or test.with_suffix(".predictions.csv")
    check_outputs([(target, "--out", "file"), (plot, "--plot", "file")], overwrite=overwrite, inputs=[test])
    split = _read(test)
    truth = np.asarray(split.y).astype(str)
    labelled = bool(truth.size) and bool((truth != "").all())
    if plot is not None and not labelled:
        fail(f"--plot draws the confusion matrix of a labelled file; {test} has cases without a label")
    check_engine(engine)
    if engine is None:
        proba = clf.predict_proba(split.X)
    else:
        from tinyts.tasks.frames import classify_df

        frame, targets = cases_frame(list(split.X), list(range(len(split.X))))
        scored = run_frame(
            engine,
            workers,
            lambda f: classify_df(str(model_dir), f, target_col=targets),
            frame,
            "unique_id",
            per_row=False,
        )
        proba = scored[[f"proba_{c}" for c in clf.classes_]].to_numpy(dtype=np.float64)
    pred = clf.classes_[proba.argmax(axis=1)]
    frame = pd.DataFrame({"case": np.arange(len(pred)), "prediction": pred})
    for k, label in enumerate(clf.classes_):
        frame[f"proba_{label}"] = proba[:, k]
    with atomic_file(target) as tmp:
        frame.to_csv(tmp, index=False)
    msg = f"predicted {len(pred)} cases -> {target}"
    if labelled:
        msg += f"; accuracy {float(np.mean(pred.astype(str) == truth)):.4f}"
    typer.echo(msg)
    if plot is not None:
        from tinyts.cli.plots import plot_classification

        png = plot_classification(
            plot,
            list(clf.classes_),
            truth,
            pred,
            title=f"classifier '{model_dir.name}' on {test.name}",
        )
        typer.echo(f"plot -> {png}")
