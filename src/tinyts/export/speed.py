"""Speed cases for ONNX Runtime vs PyTorch, in the builder style of :mod:`tinyts.bench.suites.speed`.

A builder takes a batch size and returns ``(call, info)``: ``call()`` runs one inference on
``(batch, 1, context_length)`` random-walk inputs, all points observed. Exported files are cached
under ``$TMPDIR/tinyts-onnx`` by a hash of the checkpoint and the export options, so the second
batch size (and the next process) does not export again.

``python -m tinyts.export.speed tinypulse --batch 1 --batch 64 --threads 1`` prints median latencies
(the figures of ``docs/export.md``).
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def _model(name: str) -> Any:
    """A bundled model or a folder, loaded once per process (:func:`tinyts.models.resolve`)."""
    from tinyts.models.base import TinyModel, resolve

    return resolve(name, TinyModel, cache=True)


def _inputs(model: Any, batch: int) -> tuple[np.ndarray, np.ndarray]:
    t = int(model.config.context_length)
    x = np.random.default_rng(0).standard_normal((batch, 1, t)).cumsum(axis=-1).astype(np.float32)
    return x, np.ones_like(x, dtype=bool)


def cache_path(name: str, *, opset: int | None = None, cache_dir: Path | None = None) -> Path:
    """Where :func:`cached_export` keeps the float32 file of a model: a hash of its checkpoint files."""
    from tinyts import __version__
    from tinyts.export.onnx_export import DEFAULT_OPSET
    from tinyts.models.base import CONFIG_NAME, WEIGHTS_NAME, resolve_checkpoint

    folder = resolve_checkpoint(name)
    digest = hashlib.sha256()
    for part in (CONFIG_NAME, WEIGHTS_NAME):
        digest.update((folder / part).read_bytes())
    digest.update(f"{__version__}:{opset or DEFAULT_OPSET}".encode())
    root = cache_dir or Path(tempfile.gettempdir()) / "tinyts-onnx"
    return root / f"{folder.name}-{digest.hexdigest()[:16]}.onnx"


def cached_export(
    name: str, *, int8: bool = False, opset: int | None = None, cache_dir: Path | None = None
) -> Path:
    """The ONNX file of a bundled model or folder, exported once and cached (the INT8 copy if ``int8``)."""
    from tinyts.export.onnx_export import DEFAULT_OPSET, export_onnx, int8_path

    path = cache_path(name, opset=opset, cache_dir=cache_dir)
    quant = int8_path(path)
    if not path.is_file() or (int8 and not quant.is_file()):
        export_onnx(_model(name), path, int8=int8, opset=opset or DEFAULT_OPSET)
    return quant if int8 else path


def onnx_speed_case(
    model_name: str,
    batch: int,
    *,
    threads: int | None = None,
    int8: bool = False,
    cache_dir: Path | None = None,
) -> tuple[Callable[[], Any], dict[str, Any]]:
    """Speed-suite builder: one ONNX Runtime inference over ``(batch, 1, context_length)`` random walks.

    Parameters
    ----------
    model_name : str
        Bundled name (``"tinypulse"``) or checkpoint folder.
    batch : int
        Series per call.
    threads : int, optional
        ONNX Runtime intra-op threads; default ``torch.get_num_threads()``, so that ONNX Runtime and
        PyTorch cases in the same suite use the same number of cores.
    int8 : bool
        Time the INT8 (dynamically quantised) file instead of the float32 one.
    cache_dir : Path, optional
        Where exported files are cached (default ``$TMPDIR/tinyts-onnx``).
    """
    import torch

    from tinyts.export.check import onnx_session

    model = _model(model_name)
    path = cached_export(model_name, int8=int8, cache_dir=cache_dir)
    n_threads = int(threads or torch.get_num_threads())
    session = onnx_session(path, threads=n_threads)
    x, obs = _inputs(model, batch)
    kind = next(i.type for i in session.get_inputs() if i.name == "observed")
    feeds = {"values": x, "observed": obs if kind == "tensor(bool)" else obs.astype(np.float32)}

    def call() -> Any:
        return session.run(None, feeds)

    info = {
        "params": model.num_parameters(),
        "runtime": "onnxruntime",
        "ort_threads": n_threads,
        "int8": int8,
        "onnx_mb": round(path.stat().st_size / 2**20, 3),
    }
    return call, info


def torch_speed_case(model_name: str, batch: int) -> tuple[Callable[[], Any], dict[str, Any]]:
    """The same computation in PyTorch (the model's own forward, as the parity reference) and inputs."""
    import torch

    from tinyts.export.wrappers import reference_outputs

    model = _model(model_name)
    x, obs = (torch.from_numpy(a) for a in _inputs(model, batch))

    def call() -> Any:
        with torch.inference_mode():
            return reference_outputs(model, x, obs)

    return call, {
        "params": model.num_parameters(),
        "runtime": "torch",
        "torch_threads": torch.get_num_threads(),
    }


def median_ms(call: Callable[[], Any], warmup: int, repeats: int) -> float:
    """Median wall time of ``call()`` in milliseconds after ``warmup`` untimed calls."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def main(argv: list[str] | None = None) -> None:
    """Print median latencies of PyTorch, ONNX Runtime float32 and INT8 for each batch size."""
    parser = argparse.ArgumentParser(prog="python -m tinyts.export.speed", description=main.__doc__)
    parser.add_argument("model", nargs="?", default="tinypulse")
    parser.add_argument("--batch", type=int, action="append", help="repeatable; default 1 and 64")
    parser.add_argument("--threads", type=int, default=1, help="torch and ONNX Runtime threads")
    parser.add_argument(
        "--repeats", type=int, default=0, help="timed calls (default 200 at batch 1, 30 else)"
    )
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    for batch in args.batch or [1, 64]:
        repeats = args.repeats or (200 if batch == 1 else 30)
        cases: dict[str, Callable[[], Any]] = {
            "torch": torch_speed_case(args.model, batch)[0],
            "onnx fp32": onnx_speed_case(args.model, batch, threads=args.threads)[0],
            "onnx int8": onnx_speed_case(args.model, batch, threads=args.threads, int8=True)[0],
        }
        times: dict[str, list[float]] = {label: [] for label in cases}
        for call in cases.values():
            median_ms(call, max(3, repeats // 10), 1)  # warm-up
        rounds = 5  # interleaved, so that load from other processes hits every case alike
        for _ in range(rounds):
            for label, call in cases.items():
                times[label].append(median_ms(call, 0, max(1, repeats // rounds)))
        for label, ts in times.items():
            print(
                f"{args.model} batch {batch:>3} {label:<10} {float(np.median(ts)):8.2f} ms "
                f"(median of {rounds} x {max(1, repeats // rounds)} calls, {args.threads} thread(s))"
            )


if __name__ == "__main__":
    main()
