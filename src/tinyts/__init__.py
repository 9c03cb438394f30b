"""tinyts: tiny pre-trained time-series models that run fast on a plain CPU.

The public surface is small on purpose; everything else lives in sub-packages:

- :mod:`tinyts.data` -- readers for benchmark formats, input validation and conversion, windows,
  masks and synthetic generators.
- :mod:`tinyts.bench` -- ``tinyts bench``: tinyts and real peers side by side on the same data.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
