"""Pieces shared by every ``tinyts`` command: the error exit and the output checks.

Every command that writes files checks its outputs with :func:`check_outputs` before it starts the
work, and writes them through :mod:`tinyts.fileio` (temporary file, then rename).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, NoReturn

import typer

OVERWRITE_HELP = "Replace existing outputs (always written whole: a temporary file, then a rename)."

#: the ``--overwrite`` option of every command that writes files
Overwrite = Annotated[bool, typer.Option("--overwrite", help=OVERWRITE_HELP)]


def fail(message: str) -> NoReturn:
    """Print ``error: message`` in red on stderr and exit with status 2."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


def check_outputs(
    outs: Iterable[tuple[Path | None, str, str]],
    *,
    overwrite: bool,
    inputs: Iterable[Path | str | None] = (),
) -> None:
    """Check ``(path, option, kind)`` outputs before any work; exit 2 with the reason otherwise.

    Refused: an output that is an input, two outputs with the same path, an existing output
    without ``overwrite``, a folder that cannot be created or written.
    """
    from tinyts.fileio import OutputError, check_output, same_file

    outs = [o for o in outs if o[0] is not None]
    ins = list(inputs)
    for i, (a, opt_a, _) in enumerate(outs):
        assert a is not None
        for b, opt_b, _ in outs[i + 1 :]:
            if b is not None and same_file(a, b):
                fail(f"{opt_a} and {opt_b} name the same path {a}; give each output its own path")
    for path, option, kind in outs:
        assert path is not None
        try:
            check_output(path, overwrite=overwrite, inputs=ins, kind=kind, option=option)
        except OutputError as exc:
            fail(str(exc))
