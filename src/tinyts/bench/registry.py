"""The suite registry: every public module of :mod:`tinyts.bench.suites` is a suite.

A suite module declares what the runner needs at module level:

- ``NAME``: the suite's name, equal to the module's name (``tinyts bench NAME``);
- ``DESCRIPTION``: one line;
- ``NEEDS_DATA``: whether it reads the data folder (``--data-dir`` / ``$TINYTS_DATA``); suites that
  measure on generated inputs say ``False`` and run without one;
- ``OPTIONS`` (optional, default none): its settings, name -> :class:`Option`, given on the command line
  as ``--option key=value`` and read by the suite from ``ctx.options``;
- ``run(ctx: BenchContext) -> SuiteResult``.

Suites are found by scanning the package (:func:`suite_names`), so adding a suite is adding one module.
Modules whose name starts with ``_`` are helpers shared by suites, not suites. Names are listed without
importing the modules (the command line stays fast); :func:`load_suite` imports one and checks its
declarations.
"""

from __future__ import annotations

import copy
import importlib
import json
import pkgutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinyts.bench.core import BenchContext, SuiteResult

#: the package scanned for suites
PACKAGE = "tinyts.bench.suites"


@dataclass(frozen=True)
class Option:
    """One setting of a suite: its value when not given, how to read it from text, what it means.

    ``parse`` turns the text of ``--option key=text`` into the value the suite reads from
    ``ctx.options[key]``; it raises ``ValueError`` (or ``TypeError``) for text it cannot read.
    """

    default: Any
    parse: Callable[[str], Any]
    help: str


@dataclass(frozen=True)
class Suite:
    """A suite's declarations, read from its module by :func:`load_suite`."""

    name: str
    description: str
    needs_data: bool
    run: Callable[[BenchContext], SuiteResult]
    options: Mapping[str, Option] = field(default_factory=dict)
    module: str = ""

    def describe_options(self) -> str:
        """The suite's options with their defaults and meanings, for error messages."""
        if not self.options:
            return f"suite {self.name!r} takes no options"
        items = [f"{key} (default {_show(opt.default)}): {opt.help}" for key, opt in self.options.items()]
        return f"options of suite {self.name!r}: " + "; ".join(items)

    def parse_options(self, raw: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Every declared option: the parsed value of ``raw[key]`` where given, else its default.

        Raises
        ------
        ValueError
            For a key the suite does not declare or a value its option cannot parse; the message
            names the suite's options.
        """
        values = {key: copy.deepcopy(opt.default) for key, opt in self.options.items()}
        for key, text in (raw or {}).items():
            option = self.options.get(key)
            if option is None:
                raise ValueError(f"unknown option {key!r} for suite {self.name!r}; {self.describe_options()}")
            try:
                values[key] = option.parse(text)
            except (ValueError, TypeError) as exc:
                raise ValueError(
                    f"bad value {text!r} for option {key!r} of suite {self.name!r}: {exc}; "
                    f"{self.describe_options()}"
                ) from exc
        return values


def suite_names(package: str = PACKAGE) -> list[str]:
    """The suites of ``package``: its modules not starting with ``_``, by name (nothing is imported)."""
    pkg = importlib.import_module(package)
    return sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_"))


def load_suite(name: str, package: str = PACKAGE) -> Suite:
    """Import the suite ``name`` of ``package`` and read its declarations.

    Raises
    ------
    ValueError
        When ``name`` is not a suite of ``package``; the message lists the suites.
    TypeError
        When the module lacks a declaration or declares one of the wrong type (a bug in the suite).
    """
    names = suite_names(package)
    if name not in names:
        raise ValueError(f"unknown suite {name!r}; choose one of: {', '.join(names)}")
    dotted = f"{package}.{name}"
    module = importlib.import_module(dotted)
    decl = vars(module)

    def need(attr: str, kind: type) -> Any:
        if attr not in decl:
            raise TypeError(f"suite module {dotted} does not declare {attr} (see tinyts.bench.registry)")
        value = decl[attr]
        if not isinstance(value, kind):
            raise TypeError(f"{dotted}.{attr} must be a {kind.__name__}, got {type(value).__name__}")
        return value

    declared = need("NAME", str)
    if declared != name:
        raise TypeError(f"{dotted}.NAME is {declared!r}; a suite's NAME is its module's name, {name!r}")
    options = decl.get("OPTIONS", {})
    if not isinstance(options, dict) or not all(
        isinstance(k, str) and isinstance(v, Option) for k, v in options.items()
    ):
        raise TypeError(f"{dotted}.OPTIONS must be a dict of option name -> tinyts.bench.registry.Option")
    run = decl.get("run")
    if not callable(run):
        raise TypeError(f"suite module {dotted} has no run(ctx) function")
    return Suite(
        name=name,
        description=need("DESCRIPTION", str),
        needs_data=need("NEEDS_DATA", bool),
        run=run,
        options=dict(options),
        module=dotted,
    )


def discover(package: str = PACKAGE) -> dict[str, Suite]:
    """Every suite of ``package``, name -> :class:`Suite` (imports all of them)."""
    return {name: load_suite(name, package) for name in suite_names(package)}


def parse_assignments(items: Iterable[str]) -> dict[str, str]:
    """``["key=value", ...]`` (the ``--option`` arguments) as a dict; the value may contain ``=``.

    Raises
    ------
    ValueError
        For an item without ``=`` or with an empty key, or a key given twice.
    """
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"--option takes KEY=VALUE, got {item!r}")
        if key in out:
            raise ValueError(f"--option {key} given twice ({out[key]!r} and {value!r})")
        out[key] = value
    return out


# ------------------------------------------------------------------------ parsers for Option.parse


def parse_path(text: str) -> Path:
    """A path (``~`` expanded); it must not be empty."""
    if not text.strip():
        raise ValueError("expected a path, got an empty value")
    return Path(text.strip()).expanduser()


def optional_str(text: str) -> str | None:
    """The stripped text; empty text is ``None`` (the option's default behaviour)."""
    return text.strip() or None


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return str(value)
