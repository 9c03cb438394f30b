"""ONNX export of TinyPulse / TinyCast and INT8 dynamic quantisation (the checks: :mod:`tinyts.export.check`).

See ``docs/export.md``. onnx, onnxscript and onnxruntime are optional (``pip install "tinyts[onnx]"``)
and imported only when a function here needs them.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tinyts.export.wrappers import CastExport, export_wrapper
from tinyts.fileio import atomic_file
from tinyts.models.base import TinyModel, resolve

ONNX_EXTRA = 'pip install "tinyts[onnx]"'
#: default ONNX opset; DFT needs >= 17 (the exporter's own opset is 18: no version conversion)
DEFAULT_OPSET = 18
MIN_OPSET = 17
OBSERVED_DTYPES = ("bool", "float32")
#: smallest MatMul weight (entries) that :func:`quantize_int8` quantises
MIN_INT8_WEIGHTS = 8192


def require_onnx(*modules: str) -> None:
    """Import the optional ONNX packages or raise an ImportError naming the ``onnx`` extra."""
    from tinyts.errors import require

    for mod in modules or ("onnx", "onnxscript", "onnxruntime"):
        require(mod, ONNX_EXTRA, "ONNX export")


def int8_path(path: str | os.PathLike[str]) -> Path:
    """Where the INT8 copy of ``path`` goes: ``model.onnx`` -> ``model.int8.onnx``."""
    p = Path(path)
    return p.with_name(p.stem + ".int8" + (p.suffix or ".onnx"))


def check_writable(path: Path) -> None:
    """Create the parent folder of ``path`` and make sure a file can be written there (clear OSError)."""
    if path.is_dir():
        raise IsADirectoryError(f"cannot write the ONNX file to {path}: it is a folder; give a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tinyts-", suffix=".tmp")
    except OSError as exc:
        raise OSError(
            f"cannot write the ONNX file to {path}: {exc.strerror or exc} ({path.parent} is not a "
            "writable folder)"
        ) from exc
    os.close(fd)
    os.unlink(tmp)


def example_inputs(
    model: TinyModel, batch: int, *, seed: int = 0, channels: int = 1, hidden: float = 0.15
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random-walk values ``(batch, channels, context_length)`` and a mask with ``hidden`` unobserved.

    Hidden points are a block of 16 plus scattered points, so interpolation, both ends and the
    DART-Norm prefixes are exercised; no NaN. ``hidden=0`` gives an all-observed mask.
    """
    t = int(model.config.context_length)
    rng = np.random.default_rng(seed)
    values = rng.standard_normal((batch, channels, t)).cumsum(-1).astype(np.float32)
    observed = np.ones((batch, channels, t), dtype=bool)
    if hidden > 0:
        observed &= rng.random((batch, channels, t)) >= hidden
        start = rng.integers(0, max(1, t - 16), size=batch)
        for i, s in enumerate(start):
            observed[i, :, s : s + 16] = False
        observed[..., -1] = True  # keep the last point: forecasts start from an observed value
    return torch.from_numpy(values), torch.from_numpy(observed)


@contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Silence the exporter's progress prints, optional-op warnings and deprecation warnings."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _rotary_caches(model: torch.nn.Module) -> list[tuple[Any, Any]]:
    return [(m, m._cache) for m in model.modules() if hasattr(m, "_cache") and hasattr(m, "inv_freq")]


def export_onnx(
    model_or_name: TinyModel | str | os.PathLike[str],
    path: str | os.PathLike[str],
    *,
    batch_dynamic: bool = True,
    int8: bool = False,
    opset: int = DEFAULT_OPSET,
    observed_dtype: str = "bool",
    channels: int | None = None,
    symmetry: bool = True,
    int8_min_weights: int = MIN_INT8_WEIGHTS,
) -> Path:
    """Export a TinyPulse or TinyCast model to one self-contained ONNX file.

    Parameters
    ----------
    model_or_name : TinyModel, str or path
        A loaded model, a bundled name (``"tinypulse"``) or a checkpoint folder.
    path : str or path
        The ``.onnx`` file to write (parent folders are created).
    batch_dynamic : bool
        Dynamic batch axis (input and output axis 0 named ``batch``); False fixes it to 1.
    int8 : bool
        Also write an INT8 copy next to it (:func:`quantize_int8`, ``model.int8.onnx``).
    opset : int
        ONNX opset, at least 17 (the ``DFT`` operator of the FFT).
    observed_dtype : {"bool", "float32"}
        Element type of the ``observed`` input (float: nonzero = observed).
    channels : int, optional
        The fixed channel axis of the inputs (default 1, or the fine-tuned channel count of a
        channel-mixing TinyPulse). Channel-independent models take multivariate data folded into the
        batch axis.
    symmetry : bool
        TinyCast only: sign-flip symmetry ensembling inside the graph (the forecasting default).
    int8_min_weights : int
        With ``int8``: the smallest MatMul weight (entries) that is quantised (see :func:`quantize_int8`).

    Returns
    -------
    Path
        The written file. Inputs ``values`` float32 and ``observed`` ``(batch, channels, T)`` with
        ``T`` the model's ``context_length``; outputs as in :mod:`tinyts.export.wrappers`.

    Raises
    ------
    CheckpointError
        Unknown model name or a bad checkpoint folder (a ValueError).
    ValueError
        Unsupported model type or options.
    OSError
        ``path`` cannot be written.
    ImportError
        onnx / onnxscript (or onnxruntime for ``int8``) are not installed.
    """
    if opset < MIN_OPSET:
        raise ValueError(f"opset must be at least {MIN_OPSET} (ONNX DFT, LayerNormalization), got {opset}")
    if observed_dtype not in OBSERVED_DTYPES:
        raise ValueError(f"observed_dtype must be one of {OBSERVED_DTYPES}, got {observed_dtype!r}")
    if channels is not None and channels < 1:
        raise ValueError(f"channels must be at least 1, got {channels}")
    model = resolve(model_or_name, TinyModel)
    was_training = model.training
    try:
        return _export(
            model.eval(),
            Path(path).expanduser(),
            int8,
            opset,
            observed_dtype,
            channels,
            symmetry,
            int8_min_weights,
            batch_dynamic,
        )
    finally:
        model.train(was_training)


def _export(
    model: TinyModel,
    target: Path,
    int8: bool,
    opset: int,
    observed_dtype: str,
    channels: int | None,
    symmetry: bool,
    int8_min_weights: int,
    batch_dynamic: bool,
) -> Path:
    wrapper, names = export_wrapper(model, symmetry=symmetry)
    mixing = int(getattr(model.config, "channel_mixing", 0) or 0)
    channels = channels or mixing or 1
    if mixing and channels != mixing:
        raise ValueError(f"this TinyPulse mixes {mixing} channels; channels must be {mixing}, got {channels}")
    check_writable(target)
    require_onnx("onnx", "onnxscript", *(("onnxruntime",) if int8 else ()))
    import onnx

    values, observed = example_inputs(model, 2 if batch_dynamic else 1, channels=channels)
    obs_in = observed if observed_dtype == "bool" else observed.float()
    dynamic = None
    if batch_dynamic:
        batch = torch.export.Dim("batch")
        dynamic = {"values": {0: batch}, "observed": {0: batch}}
    caches = _rotary_caches(model)
    with torch.no_grad():
        wrapper(values, obs_in)  # fills lazy caches (rotary cos/sin) with real tensors before tracing
    try:
        with _quiet_exporter(), torch.no_grad():
            program = torch.onnx.export(
                wrapper,
                (values, obs_in),
                None,
                dynamo=True,
                input_names=["values", "observed"],
                output_names=list(names),
                dynamic_shapes=dynamic,
                opset_version=opset,
                external_data=False,
                verbose=False,
            )
    finally:
        for module, cache in caches:
            module._cache = cache
    assert program is not None
    proto = program.model_proto
    meta = {
        "tinyts_model_type": model.model_type,
        "tinyts_config": json.dumps(_plain(model.config)),
        "context_length": str(model.config.context_length),
        "inputs": "values float32 (batch, channels, T); observed "
        + ("bool" if observed_dtype == "bool" else "float32, nonzero = observed")
        + " (batch, channels, T)",
        "outputs": ",".join(names),
    }
    if isinstance(wrapper, CastExport):
        meta["tinyts_symmetry"] = str(int(symmetry))
    from tinyts import __version__

    meta["tinyts_version"] = __version__
    onnx.helper.set_model_props(proto, meta)
    _atomic_save(proto, target)
    if int8:
        quantize_int8(target, int8_path(target), min_weight_elements=int8_min_weights)
    return target


def _plain(config: Any) -> dict[str, Any]:
    import dataclasses

    return {k: v for k, v in dataclasses.asdict(config).items() if k != "pruning"}


def _atomic_save(proto: Any, target: Path) -> None:
    import onnx

    with atomic_file(target) as tmp:
        onnx.save_model(proto, str(tmp))
        os.chmod(tmp, 0o644)


def quantize_int8(
    src: str | os.PathLike[str], dst: str | os.PathLike[str], *, min_weight_elements: int = MIN_INT8_WEIGHTS
) -> Path:
    """ONNX Runtime dynamic quantisation: QInt8 weights of the large MatMuls, activations per call.

    Only MatMuls with a constant weight of at least ``min_weight_elements`` entries are quantised: in
    TinyPulse these are exactly the token-mixing layers (MLP and gate, 87 % of the parameters). The
    small feature-mixing, gate, embedding and head matrices (and TinyCast's patch embedding) barely
    shrink the file but are where per-tensor activation quantisation costs the most accuracy
    (docs/export.md). LayerNorm, FFT (DFT), softmax and the normalisation arithmetic stay float32.
    ``min_weight_elements=0`` quantises every weight.
    """
    require_onnx("onnx", "onnxruntime")
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out = Path(dst)
    check_writable(out)
    proto = onnx.load(str(src))
    sizes = {i.name: int(np.prod(i.dims)) for i in proto.graph.initializer}
    nodes = [
        n.name
        for n in proto.graph.node
        if n.op_type in ("MatMul", "Gemm") and sizes.get(n.input[1], 0) >= max(1, min_weight_elements)
    ]
    if not nodes:
        raise ValueError(
            f"{src}: no MatMul weight has {min_weight_elements} entries or more, nothing to quantise "
            "(a very small model: pass min_weight_elements=0 to quantise every weight)"
        )
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantiser logs a pre-processing advice through the root logger
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with atomic_file(out) as tmp:  # never a half-written copy
                quantize_dynamic(
                    Path(src),
                    tmp,
                    weight_type=QuantType.QInt8,
                    nodes_to_quantize=nodes,
                    extra_options={"MatMulConstBOnly": True},
                )
    finally:
        root.setLevel(level)
    return out
