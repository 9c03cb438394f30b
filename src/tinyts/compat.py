"""Deprecated module paths: an old path imports as the new module, with a ``DeprecationWarning``.

The layout change of issue 16 moved modules (docs/architecture.md); the paths users were most likely to
import keep working through a two-line module that calls :func:`alias`.
"""

from __future__ import annotations

import importlib
import sys
import warnings

__all__ = ["alias"]


def alias(old: str, new: str) -> None:
    """Make the module being imported as ``old`` the module ``new``, warning that it moved."""
    warnings.warn(f"{old} moved to {new}; import from there", DeprecationWarning, stacklevel=3)
    sys.modules[old] = importlib.import_module(new)
