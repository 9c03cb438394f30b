"""``tinyts datasets``: the datasets of a data folder (laid out like shared/data), by family."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tinyts.cli.common import command


def register(app: typer.Typer) -> None:
    """Add the ``datasets`` command to the root app."""
    command(app, datasets_cmd, "datasets")


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

    root = resolve_data_dir(data_dir)
    for line in describe_data_dir(root, load=load):
        typer.echo(line)
