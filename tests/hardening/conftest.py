"""Fixtures of the boundary suite (tiny random-initialised models) and its example count.

Every property test calls the session fixture ``tally`` once per hypothesis example with the outcome
(``"ok"``: a valid input gave a checked result; ``"error"``: an invalid one gave a checked clear
error). At the end of the session the counts per test and in total are printed (terminal summary), and
written as JSON to the file named by ``TINYTS_HARDENING_REPORT`` when that is set.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from hardening_checks import CAST_TINY, CLASSES, PULSE_TINY

from tinyts.models.cast import CastConfig, TinyCast
from tinyts.models.lens import PulseLens, lens_config_for
from tinyts.models.pulse import PulseConfig, TinyPulse
from tinyts.tasks.classify.api import PulseClassifier

_EXAMPLES: Counter[str] = Counter()
_OUTCOMES: Counter[str] = Counter()
_VALID: Counter[str] = Counter()


@pytest.fixture(scope="session")
def tally() -> Callable[[str], None]:
    """``tally(outcome)``: count one example of the running test."""

    def record(outcome: str) -> None:
        test = os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0]
        _EXAMPLES[test] += 1
        _OUTCOMES[outcome] += 1
        _VALID[test] += outcome == "ok"

    return record


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _EXAMPLES:
        return
    tr = terminalreporter
    tr.write_sep("-", "hardening: hypothesis examples per test")
    tr.write_line(f"{'examples':>8}  {'valid':>5}  test")
    for test, n in sorted(_EXAMPLES.items()):
        tr.write_line(f"{n:8d}  {_VALID[test]:5d}  {test}")
    total = sum(_EXAMPLES.values())
    tr.write_line(
        f"{total} examples in {len(_EXAMPLES)} property tests: {_OUTCOMES['ok']} valid inputs with checked "
        f"results, {_OUTCOMES['error']} invalid inputs with checked clear errors"
    )
    report = os.environ.get("TINYTS_HARDENING_REPORT")
    if report:
        Path(report).write_text(
            json.dumps(
                {
                    "total": total,
                    "outcomes": dict(_OUTCOMES),
                    "per_test": dict(_EXAMPLES),
                    "valid_per_test": dict(_VALID),
                },
                indent=1,
            ),
            encoding="utf-8",
        )


@pytest.fixture(scope="session")
def tiny_pulse() -> TinyPulse:
    torch.manual_seed(0)
    return TinyPulse(PulseConfig(**PULSE_TINY)).eval()


@pytest.fixture(scope="session")
def tiny_cast() -> TinyCast:
    torch.manual_seed(0)
    return TinyCast(CastConfig(**CAST_TINY)).eval()


@pytest.fixture(scope="session")
def tiny_classifier(tiny_pulse: TinyPulse) -> PulseClassifier:
    """A one-channel two-class classifier with a random head (fitting is tested elsewhere)."""
    torch.manual_seed(0)
    clf = PulseClassifier(tiny_pulse)
    clf.model_ = PulseLens.from_backbone(tiny_pulse, lens_config_for(tiny_pulse, 1, CLASSES, "lens", 4, 0.0))
    clf.model_.eval()
    return clf
