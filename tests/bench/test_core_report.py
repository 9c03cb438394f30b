"""The harness itself: rows, payload JSON shape, markdown pivot, index, data-dir resolution."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tinyts.bench.core import BenchContext, Row, SuiteResult, resolve_data_dir
from tinyts.bench.report import (
    pivot_markdown,
    suite_markdown,
    time_per_method,
    write_index,
    write_suite,
)


def _payload(rows: list[Row], suite: str = "toy", skipped=None) -> dict:
    return {
        "suite": suite,
        "quick": False,
        "machine": {
            "cpu": "x",
            "cores": 2,
            "memory_gib": 1.0,
            "torch": "t",
            "torch_threads": 1,
            "python": "3",
        },
        "command": "tinyts bench toy",
        "date": "2026-01-01 00:00 UTC",
        "wall_seconds": 1.5,
        "rows": [r.to_json() for r in rows],
        "notes": ["a note"],
        "skipped": skipped or [],
    }


def test_row_json_has_fixed_fields_and_extras() -> None:
    row = Row("ETTh1", "linear_interp", "mse", 0.25, 1.0, {"ratio": 0.125, "mask": "hybrid"})
    out = row.to_json()
    assert out == {
        "dataset": "ETTh1",
        "method": "linear_interp",
        "metric": "mse",
        "value": 0.25,
        "seconds": 1.0,
        "ratio": 0.125,
        "mask": "hybrid",
    }


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"metric": "bogus"}, "unknown metric"),
        ({"method": "MiniRocket"}, "lower case"),
    ],
)
def test_row_rejects_bad_names(kwargs: dict, match: str) -> None:
    base = {"dataset": "d", "method": "m", "metric": "mse", "value": 1.0}
    with pytest.raises(ValueError, match=match):
        Row(**{**base, **kwargs})


def test_row_rejects_clashing_extra() -> None:
    with pytest.raises(ValueError, match="clashes"):
        Row("d", "m", "mse", 1.0, extra={"value": 3}).to_json()


def test_pivot_has_method_columns_and_complete_case_means() -> None:
    rows = [
        Row("A", "m1", "mse", 1.0).to_json(),
        Row("A", "m2", "mse", 3.0).to_json(),
        Row("B", "m1", "mse", 2.0).to_json(),
        Row("B", "m2", "mse", 5.0).to_json(),
        Row("C", "m1", "mse", 100.0).to_json(),  # m2 missing: excluded from the comparable mean
    ]
    text = "\n".join(pivot_markdown(rows))
    assert "| dataset | m1 | m2 |" in text
    assert "| C | 100.00 | — |" in text
    assert "**mean** (n=2) | 1.5000 | 4.0000 |" in text


def test_suite_markdown_lists_skipped_cases() -> None:
    payload = _payload([Row("A", "m1", "mse", 1.0)], skipped=[("B", "too short")])
    text = suite_markdown(payload)
    assert "| B | too short |" in text
    assert "tinyts bench toy" in text
    assert "a note" in text


def test_time_per_method_counts_each_timed_case_once() -> None:
    # Imputation's shape: MSE and MAE of one timed call share its seconds; the "avg" rows repeat the sum.
    rows = []
    for ratio, t in ((0.25, 2.0), (0.5, 3.0)):
        for metric in ("mse", "mae"):
            rows.append(Row("A", "m1", metric, 0.1, t, {"mask": "hybrid", "ratio": ratio}))
    rows += [Row("A", "m1", m, 0.1, 5.0, {"mask": "hybrid", "ratio": "avg"}) for m in ("mse", "mae")]
    rows += [Row("B", "m1", "mse", 0.1, 1.0), Row("all", "m1", "gmean_rel_mase", 0.9, 6.0)]
    rows += [Row("A", "m2", "mse", 0.2, 0.5, {"mask": "hybrid", "ratio": 0.25}), Row("A", "m2", "mae", 0.2)]
    payload = _payload(rows)
    assert time_per_method(payload["rows"]) == {"m1": 6.0, "m2": 0.5}
    text = suite_markdown(payload)
    assert "| m1 | 6.0 |" in text
    assert "| m2 | 0.5 |" in text


def test_write_suite_and_index(tmp_path: Path) -> None:
    payload = _payload([Row("A", "m1", "accuracy", 0.9, 0.1)])
    json_path, md_path = write_suite(tmp_path, payload)
    assert json.loads(json_path.read_text())["rows"][0]["value"] == 0.9
    assert md_path.exists()
    (tmp_path / "garbage.json").write_text("{not json")
    index = write_index(tmp_path).read_text()
    assert "[toy](toy.md)" in index
    assert "garbage" not in index


def test_resolve_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TINYTS_DATA", raising=False)
    with pytest.raises(ValueError, match="--data-dir"):
        resolve_data_dir(None)
    with pytest.raises(ValueError, match="does not exist"):
        resolve_data_dir(tmp_path / "nope")
    monkeypatch.setenv("TINYTS_DATA", str(tmp_path))
    assert resolve_data_dir(None) == tmp_path
    assert resolve_data_dir(str(tmp_path)) == tmp_path


def test_context_selection() -> None:
    ctx = BenchContext(data_dir=Path("."), out_dir=Path("."), datasets=["etth1"], methods=["Linear_Interp"])
    assert ctx.wants("ETTh1") and not ctx.wants("ETTm1")
    assert ctx.wants_method("linear_interp") and not ctx.wants_method("saits")
    assert BenchContext(data_dir=Path("."), out_dir=Path(".")).wants("anything")


def test_suite_result_records_skips() -> None:
    res = SuiteResult()
    res.skip("X", "no labels")
    res.add(Row("A", "m", "mse", 1.0))
    assert res.skipped == [("X", "no labels")] and len(res.rows) == 1


def test_pivot_mean_ignores_methods_absent_from_a_group() -> None:
    rows = [
        Row("A", "m1", "vus_pr", 0.2, extra={"family": "uni"}).to_json(),
        Row("A", "m2", "vus_pr", 0.4, extra={"family": "uni"}).to_json(),
        Row("B", "m1", "vus_pr", 0.6, extra={"family": "multi"}).to_json(),
        Row("C", "m1", "vus_pr", 0.8, extra={"family": "multi"}).to_json(),
    ]
    text = "\n".join(pivot_markdown(rows))
    assert "| **mean** (n=1) | uni | 0.2000 | 0.4000 |" in text
    assert "| **mean** (n=2) | multi | 0.7000 | — |" in text


def test_select_methods_records_unknown_names() -> None:
    ctx = BenchContext(data_dir=Path("."), out_dir=Path("."), methods=["Linear", "nope"])
    res = SuiteResult()
    assert ctx.select_methods(["linear", "saits"], res, "imputation") == ["linear"]
    assert res.skipped == [("nope", "unknown imputation method; known: linear, saits")]
