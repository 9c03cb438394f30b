"""Exceptions raised by tinyts, all subclasses of the built-in ones users already catch."""

from __future__ import annotations

from types import ModuleType


class DataFormatError(ValueError):
    """A file could not be read as the format it claims to be (malformed, truncated, unknown)."""


class MissingDependencyError(ImportError):
    """An optional dependency is not installed; the message names the extra that provides it."""


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import an optional module or raise :class:`MissingDependencyError` naming the extra.

    Parameters
    ----------
    module : str
        Importable module name, e.g. ``"aeon"``.
    extra : str
        Name of the ``pip install tinyts[EXTRA]`` extra (or requirements file) that provides it.
    purpose : str
        What the module is needed for, shown in the error message.

    Returns
    -------
    module
        The imported module object.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - exercised only when the extra is missing
        raise MissingDependencyError(
            f"{purpose} needs the optional package '{module}'. Install it with: {extra}"
        ) from exc
