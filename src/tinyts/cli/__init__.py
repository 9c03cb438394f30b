"""The ``tinyts`` command line: one module per command group, one error handler in :func:`main`."""

from __future__ import annotations

from tinyts.cli.main import main

__all__ = ["main"]
