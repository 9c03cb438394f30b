"""``tinyts bench SUITE``: run a benchmark suite (suites are found by :mod:`tinyts.bench.registry`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tinyts.bench.runner import SUITES
from tinyts.cli.common import command


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
    stem = suite + ("-quick" if quick else "")
    typer.echo(
        f"{suite}: {len(payload['rows'])} rows, {len(payload['skipped'])} skipped cases, "
        f"{payload['wall_seconds']:.1f} s -> {out / (stem + '.md')}"
    )


def register(app: typer.Typer) -> None:
    """Add the ``bench`` command to the root app."""
    command(app, bench, "bench")
