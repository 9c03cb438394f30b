"""Pieces shared by every ``tinyts`` command: registration with the one error handler, the error exit
and the output checks.

Every command is a plain function registered by its module's ``register(app)`` through
:func:`command` (or :func:`group` for ``tinyts GROUP SUBCOMMAND``), which wraps it in
:func:`exit_on_error`: what a command raises on purpose for a bad input, option, file or checkpoint
(:data:`COMMAND_ERRORS`) ends it with ``error: <message>`` on stderr and exit status 2, wherever the
command runs (``tinyts``, ``python -m tinyts.cli.serve``, a test's own ``typer.Typer``). Commands
therefore raise, or call :func:`fail` for a check of their own; they do not catch to print.

Every command that writes files checks its outputs with :func:`check_outputs` before it starts the
work, and writes them through :mod:`tinyts.fileio` (temporary file, then rename).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, NoReturn, ParamSpec, TypeVar

import typer

from tinyts.errors import OutputError, TinytsError

OVERWRITE_HELP = "Replace existing outputs (always written whole: a temporary file, then a rename)."

#: the ``--overwrite`` option of every command that writes files
Overwrite = Annotated[bool, typer.Option("--overwrite", help=OVERWRITE_HELP)]

_LONG_HELP = "Long-format csv (one row per series and time step): the {} column."
IdCol = Annotated[str | None, typer.Option("--id-col", help=_LONG_HELP.format("series id"))]
TimeCol = Annotated[str | None, typer.Option("--time-col", help=_LONG_HELP.format("time"))]
TargetCol = Annotated[str | None, typer.Option("--target-col", help=_LONG_HELP.format("value"))]

#: What a command raises on purpose, turned into ``error: <message>`` and exit status 2: tinyts's own
#: errors (bad file, checkpoint, model kind, output path, missing extra), bad values or types of the
#: input (``ValueError`` / ``TypeError``, as the library raises them), files that cannot be read or
#: written (``OSError``, ``FileNotFoundError``) and optional packages that are not installed
#: (``ImportError``). Anything else (a bug) keeps its traceback.
COMMAND_ERRORS: tuple[type[BaseException], ...] = (TinytsError, ValueError, TypeError, OSError, ImportError)

_P = ParamSpec("_P")
_R = TypeVar("_R")


def fail(message: str) -> NoReturn:
    """Print ``error: message`` in red on stderr and exit with status 2."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


def nixtla_long(path: Path) -> tuple[str, str, str] | None:
    """``("unique_id", "ds", "y")`` when a csv's header is exactly those names (said on stderr), else None.

    Used when none of ``--id-col`` / ``--time-col`` / ``--target-col`` is given: such a file is long format
    without doubt, and reading it as wide would fail on its id column.
    """
    from tinyts.data.io.wide import NIXTLA_LONG, nixtla_long_header

    if path.suffix.lower() != ".csv" or not nixtla_long_header(path):
        return None
    typer.echo(
        f"note: {path.name} is read as long format (one row per series and time step), as "
        "--id-col unique_id --time-col ds --target-col y would",
        err=True,
    )
    return NIXTLA_LONG


def exit_on_error(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """``fn`` with the error handler of every command: :data:`COMMAND_ERRORS` -> :func:`fail`.

    A closed pipe (``tinyts ... | head``) is left to click, which exits quietly.
    """

    @functools.wraps(fn)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return fn(*args, **kwargs)
        except BrokenPipeError:
            raise
        except COMMAND_ERRORS as exc:
            fail(str(exc))

    return run


def command(app: typer.Typer, fn: Callable[..., None], name: str | None = None) -> None:
    """Add ``fn`` to ``app`` as the command ``name`` (default: typer's name for ``fn``), with the handler."""
    app.command(name)(exit_on_error(fn))


def group(app: typer.Typer, name: str, help: str, commands: dict[str, Callable[..., None]]) -> None:
    """Add the command group ``tinyts NAME SUBCOMMAND`` (``commands``: sub-command name -> function)."""
    sub = typer.Typer(help=help, no_args_is_help=True)
    for sub_name, fn in commands.items():
        command(sub, fn, sub_name)
    app.add_typer(sub, name=name)


def check_outputs(
    outs: Iterable[tuple[Path | None, str, str]],
    *,
    overwrite: bool,
    inputs: Iterable[Path | str | None] = (),
) -> None:
    """Check ``(path, option, kind)`` outputs before any work.

    Refused: an output that is an input, two outputs with the same path, an existing output
    without ``overwrite``, a folder that cannot be created or written.

    Raises
    ------
    OutputError
        With the reason (a command exits 2 with it).
    """
    from tinyts.fileio import check_output, same_file

    outs = [o for o in outs if o[0] is not None]
    ins = list(inputs)
    for i, (a, opt_a, _) in enumerate(outs):
        assert a is not None
        for b, opt_b, _ in outs[i + 1 :]:
            if b is not None and same_file(a, b):
                raise OutputError(
                    f"{opt_a} and {opt_b} name the same path {a}; give each output its own path"
                )
    for path, option, kind in outs:
        assert path is not None
        check_output(path, overwrite=overwrite, inputs=ins, kind=kind, option=option)
