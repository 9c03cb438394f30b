"""Every exception tinyts defines derives from ``tinyts.TinytsError`` and from the built-in users catch."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import tinyts
from tinyts import errors

SRC = Path(__file__).resolve().parents[1] / "src" / "tinyts"


def test_the_base_is_exported_from_tinyts() -> None:
    assert tinyts.TinytsError is errors.TinytsError
    assert "TinytsError" in tinyts.__all__


def test_each_error_of_the_errors_module_keeps_its_builtin_base() -> None:
    builtin = {
        "CheckpointError": ValueError,
        "DataFormatError": ValueError,
        "OutputError": ValueError,
        "NoHiddenStates": ValueError,
        "ModelTypeError": TypeError,
        "MissingDependencyError": ImportError,
    }
    for name, base in builtin.items():
        cls = getattr(errors, name)
        assert issubclass(cls, errors.TinytsError) and issubclass(cls, base), name
    assert issubclass(errors.NotApplicable, errors.TinytsError)


def _exception_classes() -> list[tuple[str, str]]:
    """``(module, class)`` of every class in src/tinyts whose bases name an Error/Exception."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = [ast.unparse(b) for b in node.bases]
                if any(b.endswith(("Error", "Exception", "NotApplicable", "States")) for b in bases):
                    found.append((module, node.name))
    return found


def test_every_exception_class_in_the_package_derives_from_tinytserror() -> None:
    classes = _exception_classes()
    assert ("tinyts.errors", "CheckpointError") in classes  # the scan sees the errors module
    for module, name in classes:
        cls = getattr(importlib.import_module(module), name)
        assert issubclass(cls, errors.TinytsError), f"{module}.{name}"


def test_old_module_paths_are_deprecated_aliases_of_the_new_modules() -> None:
    import sys
    import warnings

    for old, new in {
        "tinyts.data.discover": "tinyts.data.io.discover",
        "tinyts.tasks.impute": "tinyts.tasks.pulse.impute",
        "tinyts.tasks.anomaly": "tinyts.tasks.pulse.anomaly",
        "tinyts.tasks.embed": "tinyts.tasks.pulse.embed",
        "tinyts.tasks.retrieve": "tinyts.tasks.search.retrieve",
        "tinyts.data.kernel_synth": "tinyts.data.synth.kernel",
    }.items():
        sys.modules.pop(old, None)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            module = importlib.import_module(old)
        assert any(issubclass(w.category, DeprecationWarning) and new in str(w.message) for w in caught), old
        if old != "tinyts.data.kernel_synth":
            assert module is importlib.import_module(new)
        else:
            assert module.kernel_synth is importlib.import_module(new).kernel_synth
