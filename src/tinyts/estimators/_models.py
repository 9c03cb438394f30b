"""Test checkpoints for the aeon wrappers.

The wrappers' ``model`` argument (a bundled name, a local folder or a loaded model) goes through
:func:`tinyts.models.resolve` with ``cache=True``: names and folders are loaded once per process and
shared (the models are only read, never modified), so that estimators which, as aeon wants, keep no
state between ``fit`` and ``predict`` calls of zero-shot models do not reload the weights on every
call. A folder is reloaded when its weights file changes.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import TypeVar

from tinyts.models.base import WEIGHTS_NAME, TinyModel
from tinyts.testing import random_tiny

M = TypeVar("M", bound=TinyModel)


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
