"""Export tinyts models to ONNX (``tinyts export onnx``): graphs, INT8 copies, parity and speed checks.

:func:`export_onnx` writes a TinyPulse or TinyCast model as one self-contained ONNX file (FFT included,
as ONNX ``DFT``), optionally with an INT8 copy; :func:`compare_onnx` measures ONNX Runtime against
PyTorch; :func:`onnx_speed_case` (in :mod:`tinyts.export.speed`) is a speed-suite builder. See
``docs/export.md``. torch is needed; onnx, onnxscript and onnxruntime are imported only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tinyts.export.check import compare_onnx, onnx_session, run_onnx
from tinyts.export.onnx_export import (
    DEFAULT_OPSET,
    ONNX_EXTRA,
    example_inputs,
    export_onnx,
    int8_path,
    quantize_int8,
)

if TYPE_CHECKING:  # pragma: no cover
    from tinyts.export.speed import onnx_speed_case, torch_speed_case

__all__ = [
    "DEFAULT_OPSET",
    "ONNX_EXTRA",
    "compare_onnx",
    "example_inputs",
    "export_onnx",
    "int8_path",
    "onnx_session",
    "onnx_speed_case",
    "quantize_int8",
    "run_onnx",
    "torch_speed_case",
]


def __getattr__(name: str) -> Any:
    # lazy, so that `python -m tinyts.export.speed` does not import its own module twice
    if name in ("onnx_speed_case", "torch_speed_case"):
        from tinyts.export import speed

        return getattr(speed, name)
    raise AttributeError(f"module 'tinyts.export' has no attribute {name!r}")
