"""Deprecated alias of :mod:`tinyts.data.io.discover` (moved; docs/architecture.md)."""

from tinyts.compat import alias

alias(__name__, "tinyts.data.io.discover")
