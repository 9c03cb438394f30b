"""Deprecated alias of :mod:`tinyts.data.io.discover` (moved in the layout change).

Importing it gives the new module itself, with a ``DeprecationWarning``; see docs/architecture.md.
"""

from __future__ import annotations

import importlib
import sys
import warnings

warnings.warn(
    "tinyts.data.discover moved to tinyts.data.io.discover; import from there",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = importlib.import_module("tinyts.data.io.discover")
