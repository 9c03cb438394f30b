"""The ``tinyts`` command line (typer): the root app, its ``--version`` option and the command list.

Each command group lives in its own module and adds its commands with ``register(app)``
(:func:`tinyts.cli.common.command`, which also gives every command the one error handler).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tinyts import __version__
from tinyts.bench.runner import SUITES
from tinyts.cli import classify, compress, data, demo, export, search, serve, tasks, train

# `bench` below keeps its own try/except and `_fail` (it is being changed elsewhere at the same time)
from tinyts.cli.common import fail as _fail

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


# the commands after `bench`, in the order `tinyts --help` lists them
for _group in (demo, data, train, tasks, classify, search, compress, serve, export):
    _group.register(app)


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
