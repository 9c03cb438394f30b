"""``tinyts classify fit|predict``: TinyPulse classification (hybrid, frozen or TSLens) from UEA/UCR files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from tinyts.cli.common import IdCol, Overwrite, TargetCol, TimeCol, check_outputs, fail, group
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


_FILE_HELP += (
    " Or a long-format csv, one row per series and time step (a header with unique_id, ds, y is read so; "
    "else --id-col / --time-col / --target-col), each series one case."
)

LabelCol = Annotated[
    str | None,
    typer.Option(
        "--label-col",
        help="Long-format csv: the column of each series' label (default: label, class or target if "
        "the file has one).",
    ),
]

#: column names that mark a csv as long format (one row per time step), not one case per row
_TIME_NAMES = ("unique_id", "ds", "date", "time", "timestamp", "datetime")
_LABEL_NAMES = ("label", "class", "target")


def _long_cols(
    path: Path, id_col: str | None, time_col: str | None, target_col: str | None, label_col: str | None
) -> tuple[str | None, str, str, str | None] | None:
    """``(id, time, target, label)`` columns when ``path`` is read as long format, else None (wide).

    Long format: any of the column options given, or a csv header holding ``unique_id``, ``ds`` and ``y``
    (said on stderr). A header with a time-like column (ds, date, time, ...) but no options is an error
    rather than a wide file of one case per row, which it is not.
    """
    from tinyts.data.io.wide import csv_header

    head = csv_header(path) if path.suffix.lower() == ".csv" else []
    if id_col is None and time_col is None and target_col is None:
        if not {"unique_id", "ds", "y"} <= set(head):
            timeish = [c for c in head if c.lower() in _TIME_NAMES]
            if timeish:
                fail(
                    f"{path.name} has a {timeish[0]!r} column: it looks like a long-format csv (one row per "
                    "series and time step), not one case per row; pass --id-col, --time-col and "
                    "--target-col (and --label-col)"
                )
            if label_col is not None:
                fail("--label-col is for long-format csv files: pass --time-col and --target-col too")
            return None
        id_col, time_col, target_col = "unique_id", "ds", "y"
        typer.echo(
            f"note: {path.name} is read as long format (one row per series and time step), as --id-col "
            "unique_id --time-col ds --target-col y would; each series is one case",
            err=True,
        )
    if time_col is None or target_col is None:
        fail("a long-format csv needs --time-col and --target-col (and --id-col for several series)")
    if label_col is None:
        label_col = next((c for c in head if c.lower() in _LABEL_NAMES and c != target_col), None)
    return id_col, time_col, target_col, label_col


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
    id_col: IdCol = None,
    time_col: TimeCol = None,
    target_col: TargetCol = None,
    label_col: LabelCol = None,
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
    long = _long_cols(train, id_col, time_col, target_col, label_col)
    frame = None
    if long is not None:
        from tinyts.cli.files import read_long_csv

        lid, ltime, ltarget, llabel = long
        if llabel is None:
            fail(f"{train.name}: no label column (label, class or target): name it with --label-col")
        if not train.is_file():
            fail(f"{train} does not exist or is not a file")
        frame = read_long_csv(train, id_col=lid, time_col=ltime, target_col=ltarget)
        if llabel not in frame.columns:
            fail(
                f"{train.name}: no column named --label-col {llabel!r}; its columns are {list(frame.columns)}"
            )
        n_cases = int(frame[lid].nunique()) if lid is not None else 1
        n_classes = int(frame[llabel].nunique())
    else:
        split = _read(train)
        n_cases, n_classes = len(split.y), len(set(map(str, split.y)))
    check_outputs([(out, "--out", "dir"), (plot, "--plot", "file")], overwrite=overwrite, inputs=[train])
    if not quiet:
        print(
            f"[{method}] fitting on {n_cases} cases of {train.name} ({n_classes} classes)",
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
    if long is not None:
        lid, ltime, ltarget, llabel = long
        clf.fit_df(frame, labels=llabel, id_col=lid, time_col=ltime, target_col=ltarget)
    else:
        clf.fit(split.X, split.y)
    seconds = time.perf_counter() - t0
    with atomic_dir(out) as tmp:
        clf.save_pretrained(tmp)
    kept = f", kept step {clf.best_step_}" if clf.best_step_ is not None else ""
    typer.echo(
        f"{method}: fitted on {n_cases} cases, {clf.n_channels_} channel(s), {len(clf.classes_)} "
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
    id_col: IdCol = None,
    time_col: TimeCol = None,
    target_col: TargetCol = None,
    label_col: LabelCol = None,
) -> None:
    """Predict every case of a file; writes one row per case (label and class probabilities).

    When the file has labels, the accuracy is printed too (and ``--plot`` draws the confusion matrix).
    A long-format csv gives one row per series, named by its id.
    """
    import numpy as np
    import pandas as pd

    from tinyts.fileio import atomic_file
    from tinyts.tasks.classify.api import PulseClassifier

    clf = PulseClassifier.from_pretrained(model_dir)
    target = out or test.with_suffix(".predictions.csv")
    long = _long_cols(test, id_col, time_col, target_col, label_col)
    if long is not None:
        _predict_long(clf, model_dir, test, target, plot, overwrite, engine, workers, long)
        return
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
    _report(clf, model_dir, test, target, plot, pred, truth if labelled else None, "cases")


def _report(
    clf: Any, model_dir: Path, test: Path, target: Path, plot: Path | None, pred: Any, truth: Any, what: str
) -> None:
    """The summary line (with the accuracy when the file has labels) and the ``--plot`` figure."""
    import numpy as np

    msg = f"predicted {len(pred)} {what} -> {target}"
    if truth is not None:
        msg += f"; accuracy {float(np.mean(np.asarray(pred).astype(str) == truth)):.4f}"
    typer.echo(msg)
    if plot is not None:
        from tinyts.cli.plots import plot_classification

        png = plot_classification(
            plot,
            list(clf.classes_),
            truth,
            np.asarray(pred),
            title=f"classifier '{model_dir.name}' on {test.name}",
        )
        typer.echo(f"plot -> {png}")


def _predict_long(
    clf: Any,
    model_dir: Path,
    test: Path,
    target: Path,
    plot: Path | None,
    overwrite: bool,
    engine: str | None,
    workers: int,
    cols: tuple[str | None, str, str, str | None],
) -> None:
    """``classify predict`` on a long-format csv: one row per series (id, prediction, probabilities)."""
    import numpy as np

    from tinyts.cli.files import read_long_csv, write_frame
    from tinyts.tasks.frames import classify_df

    lid, ltime, ltarget, llabel = cols
    if not test.is_file():
        fail(f"{test} does not exist or is not a file")
    check_outputs([(target, "--out", "file"), (plot, "--plot", "file")], overwrite=overwrite, inputs=[test])
    frame = read_long_csv(test, id_col=lid, time_col=ltime, target_col=ltarget)
    has_labels = llabel is not None and llabel in frame.columns and bool(frame[llabel].notna().all())
    if plot is not None and not has_labels:
        fail(f"--plot draws the confusion matrix of a labelled file; {test} has no complete label column")
    check_engine(engine)
    opts: dict[str, Any] = {
        "id_col": lid,
        "time_col": ltime,
        "target_col": ltarget,
        "label_col": "prediction",
    }
    data = frame.drop(columns=[llabel]) if llabel is not None and llabel in frame.columns else frame
    if engine is None:
        scored = classify_df(clf, data, **opts)
    else:
        if lid is None:
            fail("--engine needs several series: --id-col")
        scored = run_frame(
            engine, workers, lambda f: classify_df(str(model_dir), f, **opts), data, lid, per_row=False
        )
    truth = None
    if has_labels:  # each series' label: its first row's
        assert llabel is not None
        if lid is None:
            truth = np.asarray([frame[llabel].iloc[0]]).astype(str)
        else:
            first = frame.groupby(lid, sort=False)[llabel].first()
            truth = first.loc[scored[lid].to_numpy()].to_numpy().astype(str)
    write_frame(target, scored)
    _report(clf, model_dir, test, target, plot, scored["prediction"].to_numpy(), truth, "series")
