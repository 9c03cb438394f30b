"""The ``tinyts`` command line (typer): the root app, its ``--version`` option and the command list.

Each command group lives in its own module and adds its commands with ``register(app)``
(:func:`tinyts.cli.common.command`, which also gives every command the one error handler).
"""

from __future__ import annotations

from typing import Annotated

import typer

from tinyts import __version__
from tinyts.cli import bench, classify, compress, data, demo, export, search, serve, tasks, train

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


# the commands, in the order `tinyts --help` lists them
for _group in (bench, demo, data, train, tasks, classify, search, compress, serve, export):
    _group.register(app)


def _terminate(signum: int, frame: object) -> None:
    # SIGTERM unwinds like Ctrl-C, so that temporary output files are removed on the way out
    raise SystemExit(128 + signum)


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: object = None,
    line: str | None = None,
) -> None:
    # a library warning reads as one line, like the commands' notes (no source file, no code line)
    typer.echo(f"warning: {message}", err=True)


def main() -> None:
    """Entry point of the ``tinyts`` console script.

    SIGTERM ends the command through normal unwinding (exit status 143): an output being written is
    left as it was before (see :mod:`tinyts.fileio`), never half-written. ``tinyts pretrain`` installs
    its own handler (finish the step, checkpoint, stop) while it trains. Warnings print as
    ``warning: MESSAGE`` lines on stderr.
    """
    import signal
    import warnings

    signal.signal(signal.SIGTERM, _terminate)
    warnings.showwarning = _show_warning
    app()


if __name__ == "__main__":
    main()
