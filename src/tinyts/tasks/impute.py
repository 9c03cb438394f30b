"""Deprecated alias of :mod:`tinyts.tasks.pulse.impute` (moved; docs/architecture.md)."""

from tinyts.compat import alias

alias(__name__, "tinyts.tasks.pulse.impute")
