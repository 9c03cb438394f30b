"""``tinyts impute``, ``tinyts detect`` and ``tinyts forecast``: the csv commands (wide or long files).

The files are read and written by :mod:`tinyts.cli.files`, plotted by :mod:`tinyts.cli.plots`; with
``--engine`` the long files go through :mod:`tinyts.cli.distributed`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import numpy as np
import typer

from tinyts.cli.common import IdCol, Overwrite, TargetCol, TimeCol, check_outputs, command, fail, nixtla_long
from tinyts.cli.distributed import EngineOpt, WorkersOpt, check_engine, run_frame
from tinyts.options import AnomalyMode, choices
from tinyts.progress import report

if TYPE_CHECKING:
    import pandas as pd

    from tinyts.data.types import TableSeries
    from tinyts.models.cast import TinyCast
    from tinyts.models.pulse import TinyPulse


def register(app: typer.Typer) -> None:
    """Add the ``impute``, ``detect`` and ``forecast`` commands to the root app."""
    command(app, impute, "impute")
    command(app, detect, "detect")
    command(app, forecast, "forecast")


def _load_pulse(name: str) -> TinyPulse:
    from tinyts.models.base import resolve
    from tinyts.models.pulse import TinyPulse

    return resolve(name, TinyPulse, what="--model")


def _pulse_frame(
    fn: Callable[..., pd.DataFrame],
    model: str,
    frame: pd.DataFrame,
    opts: dict[str, object],
    engine: str | None,
    workers: int,
    id_col: str | None,
) -> pd.DataFrame:
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
        fail(
            "no bundled 'tinycast' checkpoint in this installation yet; train one with "
            "`tinyts pretrain tinycast --run-dir runs/tinycast` and pass its exported folder "
            "(config.json + model.safetensors) with --model FOLDER"
        )
    return resolve(name, TinyCast, what="--model")


def _outputs(file: Path, outs: list[tuple[Path | None, str]], overwrite: bool) -> None:
    """Check every output path before any work (exists, is the input, not writable)."""
    check_outputs([(p, opt, "file") for p, opt in outs], overwrite=overwrite, inputs=[file])


LongCols = tuple[bool, str | None, str | None, str | None]


def _long_mode(file: Path, id_col: str | None, time_col: str | None, target_col: str | None) -> LongCols:
    """``(long, id_col, time_col, target_col)``: the options, or the Nixtla columns a header names.

    Without any of the three options a file whose header is exactly ``unique_id,ds,y`` is read as long
    format (a note says so); any other file without them is wide.
    """
    if id_col is None and time_col is None and target_col is None:
        found = nixtla_long(file)
        return (False, None, None, None) if found is None else (True, *found)
    if time_col is None or target_col is None:
        fail("a long-format csv needs --time-col and --target-col (and --id-col for several series)")
    return True, id_col, time_col, target_col


def _first_series(
    frame: pd.DataFrame, id_col: str | None, time_col: str, target_col: str
) -> tuple[TableSeries, Any, str]:
    """The first series of a long frame (in the file's order), as a one-channel table for the plots.

    Returns the table (rows in time order), the id (None for a frame of one series) and the words that
    say which series was drawn.
    """
    from tinyts.data.types import TableSeries

    if id_col is None:
        sid, shown = None, "the file's series"
    else:
        ids = frame[id_col].drop_duplicates()
        sid = ids.iloc[0]
        shown = f"series {sid!r}" + (f", the first of {len(ids)}" if len(ids) > 1 else "")
    sub = _rows_of(frame, id_col, sid, time_col)
    table = TableSeries(
        name=str(sid if sid is not None else target_col),
        values=sub[target_col].to_numpy(dtype=np.float64)[None, :],
        columns=[str(sid if sid is not None else target_col)],
        time=sub[time_col].reset_index(drop=True),
        time_name=time_col,
    )
    return table, sid, shown


def _rows_of(result: pd.DataFrame, id_col: str | None, sid: Any, time_col: str) -> pd.DataFrame:
    """A result frame's rows of series ``sid`` in time order (all rows for a frame of one series)."""
    sub = result if id_col is None else result[result[id_col] == sid]
    return sub.sort_values(time_col, kind="stable")


def _engine_mode(engine: str | None, long: bool, id_col: str | None) -> None:
    check_engine(engine)
    if engine is not None and (not long or id_col is None):
        fail("--engine needs a long-format csv with several series: --id-col, --time-col, --target-col")


_FREQ_HELP = (
    "Time step of the dates: a pandas frequency (h, 15min, D, B, W-SUN, MS, QE); dates missing from "
    "that grid are inserted as missing values. Default: inferred from the dates"
)
FreqOpt = Annotated[str | None, typer.Option("--freq", help=_FREQ_HELP + ".")]


def _on_grid(table: TableSeries, step: object, *, dates_ahead: bool = False) -> tuple[TableSeries, object]:
    """The table with its missing time steps inserted as NaN rows (said on stderr), and the step used.

    Without a date column the table and ``step`` are returned as given. ``dates_ahead``: the command
    must write future dates (forecast), so dates that fit no regular step are an error here, before
    any model runs, instead of a note.
    """
    from tinyts.data.io.wide import fill_missing_steps

    if table.time is None:
        return table, step
    if isinstance(step, (int, float)):
        fail(f"--freq {step!r}: the file has dates, so the step is a pandas frequency (D, h, MS, ...)")
    grid, used = fill_missing_steps(table, step)
    if grid.inserted is not None:
        assert grid.time is not None
        k = int(grid.inserted.sum())
        first = grid.time[grid.inserted].iloc[0]
        typer.echo(
            f"note: {k} time step(s) missing from the dates (step {getattr(used, 'freqstr', used)}, "
            f"the first at {first}) were inserted as missing values",
            err=True,
        )
    elif used is None and table.n_time >= 3 and dates_ahead:
        fail(
            "the dates are not evenly spaced and fit no regular step, so the forecast's dates cannot be "
            "set: pass --freq with a pandas frequency (h, D, W-SUN, MS, SMS, QS, YS, ...)"
        )
    elif used is None and table.n_time >= 3:
        typer.echo(
            "note: the dates are not evenly spaced and fit no regular step; the rows are used as "
            "consecutive time steps (pass --freq to set the step)",
            err=True,
        )
    return grid, used


def _table_notes(table: TableSeries) -> None:
    """What the wide reader decided about the file's layout, on stderr."""
    from tinyts.data.io.wide import YEAR_FORMAT

    if table.index_column is not None:
        typer.echo(
            "note: the first column has no header and holds row numbers (a pandas index, as "
            "DataFrame.to_csv() writes without index=False): it is left out, not read as a channel",
            err=True,
        )
    if table.time_format == YEAR_FORMAT:
        typer.echo(
            f"note: column {table.time_name!r} holds years: it is the time axis (one row per year), "
            "not a channel",
            err=True,
        )
    if table.sorted_rows:
        typer.echo(
            f"note: the rows were not in time order; they were sorted by {table.time_name!r} "
            "(the output is in time order)",
            err=True,
        )


def impute(
    file: Annotated[Path, typer.Argument(help="Wide csv: one column per channel, optional date column.")],
    out: Annotated[Path | None, typer.Option(help="Output csv (default FILE.imputed.csv).")] = None,
    plot: Annotated[Path | None, typer.Option(help="Also plot observed vs filled values here.")] = None,
    model: Annotated[str, typer.Option(help="Bundled model name or checkpoint folder.")] = "tinypulse",
    overwrite: Overwrite = False,
    freq: FreqOpt = None,
    id_col: IdCol = None,
    time_col: TimeCol = None,
    target_col: TargetCol = None,
    engine: EngineOpt = None,
    workers: WorkersOpt = 2,
) -> None:
    """Fill the missing values (empty cells, NaN) of a csv with TinyPulse; observed values are kept.

    Rows not in time order are sorted by the date column (and it says so); duplicate dates are an
    error. Every row of the file is a row of the output; in a wide csv with dates, time steps
    missing from the dates are inserted as rows and filled too (and it says so).
    """
    from tinyts.cli.files import read_long_csv, read_wide_csv, write_frame, write_wide_csv
    from tinyts.cli.plots import plot_imputation
    from tinyts.tasks.frames import impute_df
    from tinyts.tasks.pulse.impute import impute as run

    target = out or file.with_suffix(".imputed.csv")
    long, id_col, time_col, target_col = _long_mode(file, id_col, time_col, target_col)
    if long and freq is not None:
        fail("--freq is available for wide csv files only (long files: each series' own step)")
    _engine_mode(engine, long, id_col)
    _outputs(file, [(target, "--out"), (plot, "--plot")], overwrite)
    if long:
        assert time_col is not None and target_col is not None
        frame = read_long_csv(file, id_col=id_col, time_col=time_col, target_col=target_col)
        n_missing = int(frame[target_col].isna().sum())
        cols: dict[str, object] = {"id_col": id_col, "time_col": time_col, "target_col": target_col}
        with report("imputing"):
            result = _pulse_frame(impute_df, model, frame, cols, engine, workers, id_col)
        write_frame(target, result)
        typer.echo(f"filled {n_missing} missing values -> {target}")
        if plot is not None:
            table, sid, which = _first_series(frame, id_col, time_col, target_col)
            filled_rows = _rows_of(result, id_col, sid, time_col)[target_col].to_numpy(dtype=np.float64)
            typer.echo(f"plot -> {plot_imputation(plot, table, filled_rows[None, :])} ({which})")
        return
    table = read_wide_csv(file)
    _table_notes(table)
    table, _ = _on_grid(table, _parse_freq(freq))
    pulse = _load_pulse(model)
    with report("imputing"):
        filled = run(pulse, table.values)
    write_wide_csv(target, table, filled)
    k = 0 if table.inserted is None else int(table.inserted.sum())
    added = f", {k * table.n_channels} of them in {k} inserted rows" if k else ""
    typer.echo(f"filled {int(np.isnan(table.values).sum())} missing values{added} -> {target}")
    if plot is not None:
        typer.echo(f"plot -> {plot_imputation(plot, table, filled)}")


def detect(
    file: Annotated[Path, typer.Argument(help="Wide csv: one column per channel, optional date column.")],
    out: Annotated[
        Path | None, typer.Option(help="Output csv with a score column (default FILE.scores.csv).")
    ] = None,
    plot: Annotated[Path | None, typer.Option(help="Also plot series, score and labels here.")] = None,
    mode: Annotated[str, typer.Option(help=" | ".join(choices(AnomalyMode)))] = "ensemble",
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
    ] = 8.0,
    overwrite: Overwrite = False,
    freq: FreqOpt = None,
    id_col: IdCol = None,
    time_col: TimeCol = None,
    target_col: TargetCol = None,
    engine: EngineOpt = None,
    workers: WorkersOpt = 2,
) -> None:
    """Score every time point of a csv for anomalies with TinyPulse (zero-shot) and flag the ones to act on.

    The score is in robust standard deviations above the series' typical score (0 = typical); rows
    above --threshold get anomaly_flag = True. In a wide csv with dates, time steps missing from the
    dates are scored as unobserved steps (and it says so); the output has the file's rows.
    """
    from tinyts.cli.files import label_column, read_long_csv, read_wide_csv, write_frame, write_wide_csv
    from tinyts.cli.plots import plot_scores
    from tinyts.tasks.frames import detect_df
    from tinyts.tasks.pulse.anomaly import anomaly_flags, anomaly_scores

    target = out or file.with_suffix(".scores.csv")
    long, id_col, time_col, target_col = _long_mode(file, id_col, time_col, target_col)
    if long and (label_col is not None or freq is not None):
        fail("--label-col and --freq are available for wide csv files only")
    _engine_mode(engine, long, id_col)
    _outputs(file, [(target, "--out"), (plot, "--plot")], overwrite)
    if long:
        assert time_col is not None and target_col is not None
        frame = read_long_csv(file, id_col=id_col, time_col=time_col, target_col=target_col)
        opts: dict[str, object] = {"id_col": id_col, "time_col": time_col, "target_col": target_col}
        opts.update(mode=mode, threshold=threshold)
        with report("scoring"):
            result = _pulse_frame(detect_df, model, frame, opts, engine, workers, id_col)
        write_frame(target, result)
        typer.echo(
            f"scored {len(result)} rows ({mode}), {int(result['anomaly_flag'].sum())} flagged "
            f"(score > {threshold:g}) -> {target}"
        )
        if plot is not None:
            table, sid, which = _first_series(frame, id_col, time_col, target_col)
            rows = _rows_of(result, id_col, sid, time_col)
            png = plot_scores(
                plot,
                table,
                rows["anomaly_score"].to_numpy(dtype=np.float64),
                threshold=threshold,
                flags=rows["anomaly_flag"].to_numpy(dtype=bool),
            )
            typer.echo(f"plot -> {png} ({which})")
        return
    table = read_wide_csv(file, label_col=label_col)
    _table_notes(table)
    grid, _ = _on_grid(table, _parse_freq(freq))
    pulse = _load_pulse(model)
    with report("scoring"):
        scores = anomaly_scores(pulse, grid.values, mode=cast(AnomalyMode, mode))
    scores = scores[grid.file_rows]  # the file's rows; inserted steps were only context
    flags = anomaly_flags(scores, threshold)
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
        fail(f"--freq {freq!r} is not a pandas frequency (e.g. h, 15min, D, W-SUN, MS) nor a number")


def _parse_levels(quantiles: str) -> list[float]:
    try:
        levels = [float(q) for q in quantiles.split(",") if q.strip()]
    except ValueError:
        fail(f"--quantiles must be comma-separated numbers such as 0.1,0.5,0.9, got {quantiles!r}")
    if not levels:
        fail("--quantiles must name at least one level (of 0.1 ... 0.9)")
    if len(set(levels)) != len(levels):
        fail(f"--quantiles lists a level more than once: {quantiles!r}")
    return levels


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
    from tinyts.cli.plots import plot_forecast
    from tinyts.data.convert.frames import future_timestamps
    from tinyts.tasks.forecast.api import forecast as run
    from tinyts.tasks.forecast.api import forecast_df

    levels = _parse_levels(quantiles)
    step = _parse_freq(freq)
    target = out or file.with_suffix(".forecast.csv")
    long, id_col, time_col, target_col = _long_mode(file, id_col, time_col, target_col)
    _engine_mode(engine, long, id_col)
    _outputs(file, [(target, "--out"), (plot, "--plot")], overwrite)
    if long:
        assert time_col is not None and target_col is not None
        frame_in = read_long_csv(file, id_col=id_col, time_col=time_col, target_col=target_col)
        opts: dict[str, Any] = {"id_col": id_col, "time_col": time_col, "target_col": target_col}
        opts.update(quantiles=levels, freq=step)  # None: each series' own step (missing steps warned)
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
            tinycast = _load_cast(model)
            with report("forecasting", unit="call"):
                result_df = forecast_df(tinycast, frame_in, horizon, **opts)
        write_frame(target, result_df)
        typer.echo(f"forecast {len(result_df)} future rows -> {target}")
        if plot is not None:
            table, sid, which = _first_series(frame_in, id_col, time_col, target_col)
            drawn = (0.1, 0.5, 0.9)  # the plot's band, whatever --quantiles asked for
            band_df = _rows_of(result_df, id_col, sid, time_col)
            if not all(f"{q:g}" in band_df.columns for q in drawn):  # not written: forecast that series again
                one = _rows_of(frame_in, id_col, sid, time_col)
                band_df = forecast_df(_load_cast(model), one, horizon, **{**opts, "quantiles": drawn})
                band_df = band_df.sort_values(time_col, kind="stable")
            lo, mid, hi = (band_df[f"{q:g}"].to_numpy(dtype=np.float64)[None, :] for q in drawn)
            png = plot_forecast(
                plot,
                table.values,
                mid,
                lo,
                hi,
                names=table.columns,
                history_time=table.time_column(),
                time_label=time_col,
                future_time=band_df[time_col].to_numpy(),
            )
            typer.echo(f"plot -> {png} ({which})")
        return
    table = read_wide_csv(file)
    _table_notes(table)
    table, step = _on_grid(table, step, dates_ahead=True)
    tinycast = _load_cast(model)
    with report("forecasting", unit="call"):
        result = run(tinycast, table.values, horizon)
    picked = [np.reshape(result.quantile(q), (len(table.columns), horizon)) for q in levels]
    band = [np.reshape(result.quantile(q), (len(table.columns), horizon)) for q in (0.1, 0.5, 0.9)]
    if table.time is not None:
        stamps = future_timestamps(pd.DatetimeIndex(table.time), horizon, step)
        future, shown = np.asarray(stamps), table.time_column(stamps)
    else:
        if isinstance(step, (int, float)):
            future = table.n_rows - 1 + step * np.arange(1, horizon + 1)
        else:
            future = np.arange(table.n_rows, table.n_rows + horizon)
        shown = future
    frame = pd.DataFrame({table.time_name or "step": shown})
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
            time_label=table.time_name,
            future_time=future,
        )
        typer.echo(f"plot -> {png}")
