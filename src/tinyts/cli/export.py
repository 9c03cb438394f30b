"""``tinyts export onnx MODEL --out FILE.onnx [--int8] [--opset N]``: ONNX export with a parity check.

onnx, onnxscript and onnxruntime come with ``pip install "tinyts[onnx]"`` and are imported only when
the command runs. See ``docs/export.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tinyts.cli.common import Overwrite, check_outputs, group


def _size(path: Path) -> str:
    return f"{path.stat().st_size / 2**20:.2f} MB"


def _report(label: str, diffs: dict[str, dict[str, float]]) -> None:
    typer.echo(
        f"{label}: ONNX Runtime vs PyTorch at batch 1 and 3 (random walks with hidden points); relative = "
        "in units of each series' std (embedding: of its own std)"
    )
    for name, d in diffs.items():
        rel = f"relative max {d['max_rel']:.2e}, mean {d['mean_rel']:.2e}"
        typer.echo(f"  {name:<10} max abs {d['max_abs']:.2e}   {rel}")


def onnx_command(
    model: Annotated[str, typer.Argument(help="Bundled model name (tinypulse) or checkpoint folder.")],
    out: Annotated[Path, typer.Option("--out", help="The .onnx file to write.")],
    int8: Annotated[
        bool, typer.Option("--int8", help="Also write an INT8 (dynamically quantised) copy, FILE.int8.onnx.")
    ] = False,
    opset: Annotated[int, typer.Option(help="ONNX opset (at least 17, for the DFT operator).")] = 18,
    observed_dtype: Annotated[
        str, typer.Option(help="Type of the 'observed' input: bool | float32 (nonzero = observed).")
    ] = "bool",
    check: Annotated[
        bool, typer.Option(help="Run ONNX Runtime against PyTorch afterwards and print the differences.")
    ] = True,
    overwrite: Overwrite = False,
) -> None:
    """Export a TinyPulse or TinyCast model to ONNX (dynamic batch axis, FFT as ONNX DFT)."""
    from tinyts.export.check import compare_onnx
    from tinyts.export.onnx_export import check_writable, export_onnx, int8_path
    from tinyts.models.base import TinyModel, resolve

    check_writable(out)  # the exporter's own check (clear message) before anything else
    outs = [(out, "--out", "file"), (int8_path(out) if int8 else None, "--int8 copy", "file")]
    check_outputs(outs, overwrite=overwrite, inputs=[model if Path(model).exists() else None])

    loaded = resolve(model, TinyModel, what="MODEL")
    path = export_onnx(loaded, out, int8=int8, opset=opset, observed_dtype=observed_dtype)
    typer.echo(f"{loaded.model_type} -> {path} ({_size(path)})")
    if check:
        _report("float32 parity", compare_onnx(loaded, path))
    if int8:
        quant = int8_path(path)
        typer.echo(f"int8 -> {quant} ({_size(quant)})")
        if check:
            _report("int8 drift", compare_onnx(loaded, quant))


def register(app: typer.Typer) -> None:
    """Add the ``export onnx`` command to the root app."""
    group(app, "export", "Export models to other runtimes (ONNX).", {"onnx": onnx_command})
