"""Every exception tinyts defines, in one place; all derive from :class:`TinytsError`.

Each also derives from the built-in exception users already catch for that kind of problem
(``ValueError`` for bad files and checkpoints, ``TypeError`` for a model of the wrong kind,
``ImportError`` for a missing optional package), so ``except ValueError`` keeps working and
``except tinyts.TinytsError`` catches everything tinyts raises on purpose.
"""

from __future__ import annotations

from types import ModuleType

__all__ = [
    "CheckpointError",
    "DataFormatError",
    "IrregularStepError",
    "MissingDependencyError",
    "ModelTypeError",
    "NoHiddenStates",
    "NotApplicable",
    "OutputError",
    "TinytsError",
    "require",
]


class TinytsError(Exception):
    """Base class of the exceptions tinyts raises on purpose."""


class DataFormatError(TinytsError, ValueError):
    """A file could not be read as the format it claims to be (malformed, truncated, unknown)."""


class IrregularStepError(TinytsError, ValueError):
    """The time step of a series cannot be inferred (one timestamp, or uneven steps) and none was given."""


class MissingDependencyError(TinytsError, ImportError):
    """An optional dependency is not installed; the message names the extra that provides it."""


class CheckpointError(TinytsError, ValueError):
    """A checkpoint folder is missing files, corrupt, or does not match its config; or an unknown name."""


class ModelTypeError(TinytsError, TypeError):
    """A model (or the checkpoint a name points to) of another kind than the task needs."""


class OutputError(TinytsError, ValueError):
    """An output path that cannot or must not be written (exists, is an input, not writable)."""


class NoHiddenStates(TinytsError, ValueError):
    """The model exposes no hidden states (the distillation alignment loss needs them)."""


class NotApplicable(TinytsError):
    """A benchmark method has no setting for this case; the message says why (the row is skipped and
    reported as such, never silently)."""


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
