"""Running exported files with ONNX Runtime, and the parity check against PyTorch."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from tinyts.export.onnx_export import example_inputs, require_onnx
from tinyts.export.wrappers import reference_outputs
from tinyts.models.base import TinyModel, resolve


def onnx_session(path: str | os.PathLike[str], threads: int = 1) -> Any:
    """An ONNX Runtime CPU session with ``threads`` intra-op threads (one inter-op thread)."""
    require_onnx("onnxruntime")
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = int(threads)
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def run_onnx(session: Any, values: Any, observed: Any) -> dict[str, np.ndarray]:
    """Run an exported model: ``values`` and ``observed`` ``(batch, channels, T)`` -> named outputs.

    ``observed`` is cast to the graph's input type (bool or float32); NaN values at unobserved
    points are harmless (the graph ignores them).
    """
    feeds = {"values": np.ascontiguousarray(np.asarray(values, dtype=np.float32))}
    kind = next(i.type for i in session.get_inputs() if i.name == "observed")
    obs = np.asarray(observed, dtype=bool)
    feeds["observed"] = obs if kind == "tensor(bool)" else obs.astype(np.float32)
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds), strict=True))


def compare_onnx(
    model_or_name: TinyModel | str | os.PathLike[str],
    path: str | os.PathLike[str],
    *,
    batches: tuple[int, ...] = (1, 3),
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """ONNX Runtime against PyTorch (:func:`reference_outputs`) on random walks with hidden points.

    The channel count and (for a fixed batch axis) the batch come from the file; so does TinyCast's
    symmetry switch (its metadata).

    Returns
    -------
    dict
        ``output -> {"max_abs", "max_rel", "mean_rel"}`` over ``batches``: the largest absolute
        difference, and the largest and mean absolute difference in units of the scale of the
        output: the standard deviation of each input series for outputs in raw units, the standard
        deviation of the PyTorch output for ``embedding``.
    """
    model = resolve(model_or_name, TinyModel).eval()
    session = onnx_session(path)
    shape = session.get_inputs()[0].shape
    channels = shape[1] if isinstance(shape[1], int) else 1
    if isinstance(shape[0], int):
        batches = (shape[0],)
    symmetry = session.get_modelmeta().custom_metadata_map.get("tinyts_symmetry", "1") == "1"
    acc: dict[str, list[np.ndarray]] = {}
    max_abs: dict[str, float] = {}
    for k, b in enumerate(batches):
        values, observed = example_inputs(model, b, seed=seed + k, channels=channels)
        ref = reference_outputs(model, values, observed, symmetry=symmetry)
        got = run_onnx(session, values.numpy(), observed.numpy())
        obs = observed.numpy()
        vals = values.numpy()
        n = obs.sum(-1, keepdims=True).clip(1)
        mu = (vals * obs).sum(-1, keepdims=True) / n
        series_std = np.sqrt((((vals - mu) * obs) ** 2).sum(-1, keepdims=True) / n).clip(1e-6)
        for name, r in ref.items():
            rn = r.numpy()
            diff = np.abs(got[name] - rn)
            if name == "embedding":
                scaled = diff / max(float(rn.std()), 1e-6)
            else:
                scale = series_std.reshape(series_std.shape[:2] + (1,) * (diff.ndim - 2))
                scaled = diff / scale
            acc.setdefault(name, []).append(scaled.ravel())
            max_abs[name] = max(max_abs.get(name, 0.0), float(diff.max()))
    return {
        name: {
            "max_abs": max_abs[name],
            "max_rel": float(np.concatenate(parts).max()),
            "mean_rel": float(np.concatenate(parts).mean()),
        }
        for name, parts in acc.items()
    }
