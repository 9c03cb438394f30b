"""The ``tinyts`` command line (typer)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import typer

from tinyts import __version__
from tinyts.bench.runner import SUITES
from tinyts.cli.common import Overwrite, check_outputs, fail
from tinyts.cli.distributed import EngineOpt, WorkersOpt, check_engine, run_frame
from tinyts.errors import CheckpointError, ModelTypeError

if TYPE_CHECKING:
    from tinyts.cli.files import WideTable
    from tinyts.models.cast import TinyCast
    from tinyts.models.pulse import TinyPulse

app = typer.Typer(
    name="tinyts",
    help="Tiny pre-trained time-series models that run fast on a plain CPU.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain click help: no "<bool>" type column, wraps in any terminal
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tinyts {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """tinyts: forecasting, imputation, anomaly detection, classification and search on a CPU."""


_fail = fail


@app.command()
def bench(
    suite: Annotated[
        str,
        typer.Argument(help="|".join(SUITES)),
    ],
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Folder laid out like shared/data (default: $TINYTS_DATA)."),
    ] = None,
    datasets: Annotated[
        list[str] | None, typer.Option("--datasets", "-d", help="Only these datasets (repeatable).")
    ] = None,
    methods: Annotated[
        list[str] | None, typer.Option("--methods", "-m", help="Only these methods (repeatable).")
    ] = None,
    quick: Annotated[bool, typer.Option("--quick", help="A small subset that runs in minutes.")] = False,
    out: Annotated[Path, typer.Option("--out", help="Where to write markdown and JSON.")] = Path(
        "benchmarks"
    ),
    seed: Annotated[int, typer.Option(help="Seed for masks, subsets and peers.")] = 0,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option",
            "-o",
            help="A setting of the suite, KEY=VALUE (repeatable); an unknown KEY lists the suite's settings.",
        ),
    ] = None,
) -> None:
    """Run a benchmark suite: tinyts and its peers on the same data, splits and metrics."""
    from tinyts.bench import run_suite
    from tinyts.bench.registry import parse_assignments

    try:
        payload = run_suite(
            suite,
            data_dir,
            datasets=datasets,
            methods=methods,
            quick=quick,
            out_dir=out,
            seed=seed,
            options=parse_assignments(option or []),
        )
    except (ValueError, FileNotFoundError) as exc:
        _fail(str(exc))
        return
    stem = suite + ("-quick" if quick else "")
    typer.echo(
        f"{suite}: {len(payload['rows'])} rows, {len(payload['skipped'])} skipped cases, "
        f"{payload['wall_seconds']:.1f} s -> {out / (stem + '.md')}"
    )


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for the report and plots.")] = Path(
        "tinyts-demo"
    ),
    seed: Annotated[int, typer.Option(help="Seed of the synthetic data.")] = 0,
) -> None:
    """The main job on bundled data: every task that exists so far, a short report and plots."""
    from tinyts.cli.demo import run_demo

    report = run_demo(out, seed=seed)
    typer.echo(f"demo report: {report}")


@app.command("datasets")
def datasets_cmd(
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Folder laid out like shared/data (default: $TINYTS_DATA)."),
    ] = None,
    load: Annotated[bool, typer.Option("--load", help="Also read every file and print its shape.")] = False,
) -> None:
    """List the datasets found in a data folder, by family (and check they load with --load)."""
    from tinyts.bench.core import resolve_data_dir
    from tinyts.data.io.discover import describe_data_dir

    try:
        root = resolve_data_dir(data_dir)
    except ValueError as exc:
        _fail(str(exc))
        return
    for line in describe_data_dir(root, load=load):
        typer.echo(line)


@app.command()
def pretrain(
    recipe: Annotated[str, typer.Argument(help="Bundled recipe name (tinypulse) or a YAML file.")],
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

    try:
        spec = load_recipe(recipe)
    except ValueError as exc:
        _fail(str(exc))
        return
    folder = run_dir or Path("runs") / Path(recipe).stem
    overrides: dict[str, object] = {"max_seconds": max_seconds, "progress": progress}
    if steps is not None:
        overrides["steps"] = steps
    if threads is not None:
        overrides["threads"] = threads
    trainer = build_trainer(spec, folder, overrides)
    if (folder / "checkpoint").exists() and not resume:
        _fail(f"{folder} already holds a checkpoint: pass --resume to continue it, or use another --run-dir")
    if cooldown is not None and (not resume or steps is not None):
        _fail("--cooldown continues a run: pass it with --resume and without --steps")
    if resume and trainer.resume() and trainer.info.is_main:
        typer.echo(f"resumed at step {trainer.step} ({trainer.samples:,} samples)")
    if cooldown is not None:
        try:
            trainer.config = trainer.config.cooldown(trainer.step, cooldown)
        except ValueError as exc:
            _fail(str(exc))
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
            typer.echo(f"exported to {export_run(folder, export)}")
    from tinyts.train.dist import shutdown

    shutdown(trainer.info)


def _load_pulse(name: str) -> TinyPulse:
    from tinyts.models.base import resolve
    from tinyts.models.pulse import TinyPulse

    try:
        return resolve(name, TinyPulse, what="--model")
    except (CheckpointError, ModelTypeError) as exc:
        _fail(str(exc))


def _pulse_frame(
    fn: Any,
    model: str,
    frame: Any,
    opts: dict[str, Any],
    engine: str | None,
    workers: int,
    id_col: str | None,
) -> Any:
    """``fn(model, frame, **opts)`` in memory, or on ``engine`` with each worker loading ``model`` by name."""
    pulse = _load_pulse(model)  # fails with the CLI's message before any cluster starts
    if engine is None:
        return fn(pulse, frame, **opts)
    assert id_col is not None
    return run_frame(engine, workers, lambda f: fn(model, f, **opts), frame, id_col, per_row=True)


def _load_cast(name: str) -> TinyCast:
    from tinyts.models.base import bundled_names, resolve
    from tinyts.models.cast import TinyCast

    if name == "tinycast" and "tinycast" not in bundled_names() and not Path(name).is_dir():
        _fail(
            "no bundled 'tinycast' checkpoint in this installation yet; train one with "
            "`tinyts pretrain tinycast --run-dir runs/tinycast` and pass its exported folder "
            "(config.json + model.safetensors) with --model FOLDER"
        )
    try:
        return resolve(name, TinyCast, what="--model")
    except (CheckpointError, ModelTypeError) as exc:
        _fail(str(exc))


_LONG_HELP = "Long-format csv (one row per series and time step): the {} column."

IdCol = Annotated[str | None, typer.Option("--id-col", help=_LONG_HELP.format("series id"))]
TimeCol = Annotated[str | None, typer.Option("--time-col", help=_LONG_HELP.format("time"))]
TargetCol = Annotated[str | None, typer.Option("--target-col", help=_LONG_HELP.format("value"))]


def _outputs(file: Path, outs: list[tuple[Path | None, str]], overwrite: bool) -> None:
    """Check every output path before any work (exists, is the input, not writable)."""
    check_outputs([(p, opt, "file") for p, opt in outs], overwrite=overwrite, inputs=[file])


def _long_mode(id_col: str | None, time_col: str | None, target_col: str | None) -> bool:
    if id_col is None and time_col is None and target_col is None:
        return False
    if time_col is None or target_col is None:
        _fail("a long-format csv needs --time-col and --target-col (and --id-col for several series)")
    return True


def _engine_mode(engine: str | None, long: bool, id_col: str | None) -> None:
    check_engine(engine)
    if engine is not None and (not long or id_col is None):
        _fail("--engine needs a long-format csv with several series: --id-col, --time-col, --target-col")


def _sorted_note(table: WideTable) -> None:
    if table.sorted_rows:
        typer.echo(
            f"note: the rows were not in time order; they were sorted by {table.time_name!r} "
            "(the output is in time order)",
            err=True,
        )


@app.command()
def impute(
    file: Annotated[Path, typer.Argument(help="Wide csv: one column per channel, optional date column.")],
    out: Annotated[Path | None, typer.Option(help="Output csv (default FILE.imputed.csv).")] = None,
    plot: Annotated[Path | None, typer.Option(help="Also plot observed vs filled values here.")] = None,
    model: Annotated[str, typer.Option(help="Bundled model name or checkpoint folder.")] = "tinypulse",
    overwrite: Overwrite = False,
    id_col: IdCol = None,
    time_col: TimeCol = None,
    target_col: TargetCol = None,
    engine: EngineOpt = None,
    workers: WorkersOpt = 2,
) -> None:
    """Fill the missing values (empty cells, NaN) of a csv with TinyPulse; observed values are kept.

    Rows not in time order are sorted by the date column (and it says so); duplicate dates are an
    error. Every row of the file is a row of the output.
    """
    from tinyts.cli.files import plot_imputation, read_long_csv, read_wide_csv, write_frame, write_wide_csv
    from tinyts.tasks.frames import impute_df
    from tinyts.tasks.pulse.impute import impute as run

    target = out or file.with_suffix(".imputed.csv")
    long = _long_mode(id_col, time_col, target_col)
    if long and plot is not None:
        _fail("--plot is available for wide csv files only")
    _engine_mode(engine, long, id_col)
    _outputs(file, [(target, "--out"), (plot, "--plot")], overwrite)
    try:
        if long:
            assert time_col is not None and target_col is not None
            frame = read_long_csv(file, id_col=id_col, time_col=time_col, target_col=target_col)
            n_missing = int(frame[target_col].isna().sum())
            cols: dict[str, Any] = {"id_col": id_col, "time_col": time_col, "target_col": target_col}
            result = _pulse_frame(impute_df, model, frame, cols, engine, workers, id_col)
        else:
            table = read_wide_csv(file)
            filled = run(_load_pulse(model), table.values)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        _fail(str(exc))
    if long:
        write_frame(target, result)
        typer.echo(f"filled {n_missing} missing values -> {target}")
        return
    _sorted_note(table)
    write_wide_csv(target, table, filled)
    typer.echo(f"filled {int(np.isnan(table.values).sum())} missing values -> {target}")
    if plot is not None:
        typer.echo(f"plot -> {plot_imputation(plot, table, filled)}")


@app.command()
def detect(
    file: Annotated[Path, typer.Argument(help="Wide csv: one column per channel, optional date column.")],
    out: Annotated[
        Path | None, typer.Option(help="Output csv with a score column (default FILE.scores.csv).")
    ] = None,
    plot: Annotated[Path | None, typer.Option(help="Also plot series, score and labels here.")] = None,
    mode: Annotated[str, typer.Option(help="time | fft | forecast | ensemble")] = "ensemble",
    label_col: Annotated[
        str | None, typer.Option(help="Label column: 0, 1 or empty (not scored; shown in the plot).")
    ] = None,
    model: Annotated[str, typer.Option(help="Bundled model name or checkpoint folder.")] = "tinypulse",
    threshold: Annotated[
        float,
        typer.Option(
            help="Flag rows whose score exceeds this many robust standard deviations of the "
            "series' own scores (column anomaly_flag)."
        ),
    ] = 6.0,
    overwrite: Overwrite = False,
    id_col: IdCol = None,
    time_col: TimeCol = None,
    target_col: TargetCol = None,
    engine: EngineOpt = None,
    workers: WorkersOpt = 2,
) -> None:
    """Score every time point of a csv for anomalies with TinyPulse (zero-shot) and flag the ones to act on.

    The score is in robust standard deviations above the series' typical score (0 = typical); rows
    above --threshold get anomaly_flag = True.
    """
    from tinyts.cli.files import (
        label_column,
        plot_scores,
        read_long_csv,
        read_wide_csv,
        write_frame,
        write_wide_csv,
    )
    from tinyts.tasks.frames import detect_df
    from tinyts.tasks.pulse.anomaly import anomaly_flags, anomaly_scores

    target = out or file.with_suffix(".scores.csv")
    long = _long_mode(id_col, time_col, target_col)
    if long and (plot is not None or label_col is not None):
        _fail("--plot and --label-col are available for wide csv files only")
    _engine_mode(engine, long, id_col)
    _outputs(file, [(target, "--out"), (plot, "--plot")], overwrite)
    try:
        if long:
            assert time_col is not None and target_col is not None
            frame = read_long_csv(file, id_col=id_col, time_col=time_col, target_col=target_col)
            opts: dict[str, Any] = {"id_col": id_col, "time_col": time_col, "target_col": target_col}
            opts.update(mode=mode, threshold=threshold)
            result = _pulse_frame(detect_df, model, frame, opts, engine, workers, id_col)
        else:
            table = read_wide_csv(file, label_col=label_col)
            scores = anomaly_scores(_load_pulse(model), table.values, mode=mode)
            flags = anomaly_flags(scores, threshold)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        _fail(str(exc))
    if long:
        write_frame(target, result)
        typer.echo(
            f"scored {len(result)} rows ({mode}), {int(result['anomaly_flag'].sum())} flagged "
            f"(score > {threshold:g}) -> {target}"
        )
        return
    _sorted_note(table)
    extra = {
        "anomaly_score": scores,
        "anomaly_flag": flags,
        **({"label": label_column(table.labels)} if table.labels is not None else {}),
    }
    write_wide_csv(target, table, table.values, extra)
    typer.echo(
        f"scored {scores.size} time points ({mode}), {int(flags.sum())} flagged "
        f"(score > {threshold:g}) -> {target}"
    )
    if plot is not None:
        shown = plot_scores(plot, table, scores, labels=table.labels, threshold=threshold, flags=flags)
        typer.echo(f"plot -> {shown}")


def _parse_freq(freq: str | None) -> object:
    """``--freq``: a pandas offset alias (``h``, ``D``, ``W-SUN``, ``MS``) or a number (numeric time)."""
    if freq is None:
        return None
    try:
        return float(freq) if "." in freq else int(freq)
    except ValueError:
        pass
    import pandas as pd

    try:
        return pd.tseries.frequencies.to_offset(freq)
    except ValueError:
        _fail(f"--freq {freq!r} is not a pandas frequency (e.g. h, 15min, D, W-SUN, MS) nor a number")


def _parse_levels(quantiles: str) -> list[float]:
    try:
        levels = [float(q) for q in quantiles.split(",") if q.strip()]
    except ValueError:
        _fail(f"--quantiles must be comma-separated numbers such as 0.1,0.5,0.9, got {quantiles!r}")
    if not levels:
        _fail("--quantiles must name at least one level (of 0.1 ... 0.9)")
    if len(set(levels)) != len(levels):
        _fail(f"--quantiles lists a level more than once: {quantiles!r}")
    return levels


@app.command()
def forecast(
    file: Annotated[Path, typer.Argument(help="Wide csv: one column per channel, optional date column.")],
    horizon: Annotated[int, typer.Option("--horizon", help="Steps to forecast.")],
    out: Annotated[
        Path | None, typer.Option(help="Output csv of future rows (default FILE.forecast.csv).")
    ] = None,
    plot: Annotated[Path | None, typer.Option(help="Also plot history, median and 80% band here.")] = None,
    quantiles: Annotated[
        str, typer.Option(help="Comma-separated quantile levels to write (of 0.1 ... 0.9).")
    ] = "0.1,0.5,0.9",
    freq: Annotated[
        str | None,
        typer.Option(
            "--freq",
            help="Time step of the future rows: a pandas frequency (h, 15min, D, W-SUN, MS) or a number "
            "for numeric time; default: inferred from the dates.",
        ),
    ] = None,
    model: Annotated[str, typer.Option(help="Bundled model name or checkpoint folder.")] = "tinycast",
    overwrite: Overwrite = False,
    id_col: IdCol = None,
    time_col: TimeCol = None,
    target_col: TargetCol = None,
    engine: EngineOpt = None,
    workers: WorkersOpt = 2,
) -> None:
    """Forecast every channel of a csv with TinyCast (zero-shot): mean and quantile columns.

    Rows not in time order are sorted by the date column (and it says so); duplicate dates are an
    error.
    """
    import pandas as pd

    from tinyts.cli.files import read_long_csv, read_wide_csv, write_frame
    from tinyts.cli.forecast_plot import plot_forecast
    from tinyts.data.convert.frames import future_timestamps
    from tinyts.tasks.forecast.api import forecast as run
    from tinyts.tasks.forecast.api import forecast_df

    levels = _parse_levels(quantiles)
    step = _parse_freq(freq)
    target = out or file.with_suffix(".forecast.csv")
    long = _long_mode(id_col, time_col, target_col)
    if long and plot is not None:
        _fail("--plot is available for wide csv files only")
    _engine_mode(engine, long, id_col)
    _outputs(file, [(target, "--out"), (plot, "--plot")], overwrite)
    if long:
        assert time_col is not None and target_col is not None
        try:
            frame_in = read_long_csv(file, id_col=id_col, time_col=time_col, target_col=target_col)
            opts: dict[str, Any] = {"id_col": id_col, "time_col": time_col, "target_col": target_col}
            opts.update(quantiles=levels, freq=step)
            if engine is not None:
                assert id_col is not None
                _load_cast(model)  # the command's own checks, before the cluster starts
                result_df = run_frame(
                    engine,
                    workers,
                    lambda f: forecast_df(model, f, horizon, **opts),
                    frame_in,
                    id_col,
                    per_row=False,
                )
            else:
                result_df = forecast_df(_load_cast(model), frame_in, horizon, **opts)
        except (ValueError, TypeError, FileNotFoundError) as exc:
            _fail(str(exc))
        write_frame(target, result_df)
        typer.echo(f"forecast {len(result_df)} future rows -> {target}")
        return
    try:
        table = read_wide_csv(file)
        cast = _load_cast(model)
        result = run(cast, table.values, horizon)
        picked = [np.reshape(result.quantile(q), (len(table.columns), horizon)) for q in levels]
        band = [np.reshape(result.quantile(q), (len(table.columns), horizon)) for q in (0.1, 0.5, 0.9)]
        if table.time is not None:
            future: object = future_timestamps(pd.DatetimeIndex(table.time), horizon, step)
        elif isinstance(step, (int, float)):
            future = table.n_rows - 1 + step * np.arange(1, horizon + 1)
        else:
            future = np.arange(table.n_rows, table.n_rows + horizon)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        _fail(str(exc))
    _sorted_note(table)
    frame = pd.DataFrame({table.time_name or "step": np.asarray(future)})
    mean = np.reshape(result.mean, (len(table.columns), horizon))
    for i, col in enumerate(table.columns):
        frame[f"{col}_mean"] = mean[i]
        for q, values in zip(levels, picked, strict=True):
            frame[f"{col}_{q:g}"] = values[i]
    write_frame(target, frame)
    typer.echo(f"forecast {len(table.columns)} channel(s) x {horizon} steps -> {target}")
    if plot is not None:
        png = plot_forecast(
            plot,
            table.values,
            band[1],
            band[0],
            band[2],
            names=table.columns,
            history_time=None if table.time is None else table.time.to_numpy(),
            future_time=np.asarray(future),
        )
        typer.echo(f"plot -> {png}")


def _register_subcommands() -> None:
    from tinyts.cli import classify as cli_classify
    from tinyts.cli import compress as cli_compress
    from tinyts.cli import export as cli_export
    from tinyts.cli import search as cli_search
    from tinyts.cli import serve as cli_serve

    cli_classify.register(app)
    cli_search.register(app)
    cli_compress.register(app)
    cli_serve.register(app)
    cli_export.register(app)


_register_subcommands()


def _terminate(signum: int, frame: object) -> None:
    # SIGTERM unwinds like Ctrl-C, so that temporary output files are removed on the way out
    raise SystemExit(128 + signum)


def main() -> None:
    """Entry point of the ``tinyts`` console script.

    SIGTERM ends the command through normal unwinding (exit status 143): an output being written is
    left as it was before (see :mod:`tinyts.fileio`), never half-written. ``tinyts pretrain`` installs
    its own handler (finish the step, checkpoint, stop) while it trains.
    """
    import signal

    signal.signal(signal.SIGTERM, _terminate)
    app()


if __name__ == "__main__":
    main()
