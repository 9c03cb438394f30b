"""The ``model`` argument of the aeon wrappers: a bundled name, a local folder or a loaded model.

Names and folders are loaded once per process and shared (the models are only read, never
modified), so that estimators which, as aeon wants, keep no state between ``fit`` and ``predict``
calls of zero-shot models do not reload the weights on every call. A folder is reloaded when its
weights file changes.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, TypeVar

from tinyts.models.base import WEIGHTS_NAME, TinyModel, load, resolve_checkpoint
from tinyts.testing import random_tiny

M = TypeVar("M", bound=TinyModel)


@functools.lru_cache(maxsize=4)
def _load_cached(folder: str, stamp: int) -> TinyModel:
    del stamp  # part of the cache key only
    return load(folder)


def resolve_model(model: Any, kind: type[M], what: str) -> M:
    """The model ``model`` names (or ``model`` itself), checked to be a ``kind``.

    Parameters
    ----------
    model : str, os.PathLike or TinyModel
        A bundled name (``"tinypulse"``, ``"tinycast"``), a checkpoint folder, or a loaded model.
    kind : type
        The model class the estimator needs.
    what : str
        The model's name in error messages, e.g. ``"a TinyPulse"``.

    Raises
    ------
    TypeError
        ``model`` is neither a name, a folder nor a ``kind``, or names a model of another kind.
    tinyts.models.base.CheckpointError
        Unknown name, missing or corrupt checkpoint files.
    """
    if isinstance(model, (str, os.PathLike)):
        folder = resolve_checkpoint(model)
        weights = folder / WEIGHTS_NAME
        stamp = weights.stat().st_mtime_ns if weights.is_file() else 0
        loaded: Any = _load_cached(str(folder.resolve()), stamp)
    else:
        loaded = model
    if not isinstance(loaded, kind):
        source = f"{os.fspath(model)!r} holds" if isinstance(model, (str, os.PathLike)) else "got"
        raise TypeError(
            f"model must be {what} (or its bundled name / checkpoint folder); {source} "
            f"a {type(loaded).__name__}"
        )
    return loaded


_TINY_FOLDERS: dict[str, Path] = {}


def tiny_checkpoint(kind: str) -> str:
    """A checkpoint folder of :func:`tinyts.testing.random_tiny` ``(kind)``, written once per process.

    The folder is removed at exit. The estimators' test parameters name this folder rather than
    holding the model object: aeon's checks compare hyper-parameters by ``joblib.hash``, which is not
    content-based for torch tensors (a deep copy of a model hashes differently), and a folder keeps the
    estimator free of model state.
    """
    folder = _TINY_FOLDERS.get(kind)
    if folder is None or not (folder / WEIGHTS_NAME).is_file():
        root = Path(tempfile.mkdtemp(prefix="tinyts-tiny-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        folder = random_tiny(kind).save_pretrained(root / f"tiny{kind}")
        _TINY_FOLDERS[kind] = folder
    return str(folder)
