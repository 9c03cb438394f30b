"""Deprecated alias of :mod:`tinyts.tasks.pulse.embed` (moved in the layout change).

Importing it gives the new module itself, with a ``DeprecationWarning``; see docs/architecture.md.
"""

from __future__ import annotations

import importlib
import sys
import warnings

warnings.warn(
    "tinyts.tasks.embed moved to tinyts.tasks.pulse.embed; import from there",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = importlib.import_module("tinyts.tasks.pulse.embed")
