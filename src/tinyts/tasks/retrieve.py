"""Deprecated alias of :mod:`tinyts.tasks.search.retrieve` (moved; docs/architecture.md)."""

from tinyts.compat import alias

alias(__name__, "tinyts.tasks.search.retrieve")
