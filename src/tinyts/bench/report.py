"""Write suite results as JSON and markdown, and keep ``BENCHMARKS.md`` as the index of all suites."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tinyts.fileio import atomic_file

FIXED = ("dataset", "method", "metric", "value", "seconds")


def _fmt(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "nan"
    if isinstance(value, int):
        return f"{value:,}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.2f}"
    return f"{value:.4f}"


def _extra_keys(rows: Sequence[dict[str, Any]]) -> list[str]:
    keys: list[str] = []
    for row in rows:
        for key in row:
            if key not in FIXED and key not in keys:
                keys.append(key)
    return keys


def _table(header: list[str], body: Iterable[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return lines


def pivot_markdown(rows: Sequence[dict[str, Any]]) -> list[str]:
    """One table per metric: a line per (dataset, extra keys), a column per method, plus mean lines.

    The mean lines average over datasets within each combination of the extra keys, counting only
    datasets where every method that ran in that group has a value (so that means are comparable);
    the count is shown. A method with no value in a group gets no mean there.
    """
    lines: list[str] = []
    by_metric: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_metric[row["metric"]].append(row)
    for metric, mrows in by_metric.items():
        extras = _extra_keys(mrows)
        methods = list(dict.fromkeys(r["method"] for r in mrows))
        cells: dict[tuple[Any, ...], dict[str, float]] = defaultdict(dict)
        for r in mrows:
            key = (r["dataset"], *(str(r.get(k, "")) for k in extras))
            cells[key][r["method"]] = r["value"]
        lines += ["", f"### {metric}", ""]
        body = [
            [*map(str, key), *(_fmt(vals[m]) if m in vals else "—" for m in methods)]
            for key, vals in cells.items()
        ]
        lines += _table(["dataset", *extras, *methods], body)
        if len({k[0] for k in cells}) > 1:
            groups: dict[tuple[Any, ...], list[dict[str, float]]] = defaultdict(list)
            for key, vals in cells.items():
                groups[key[1:]].append(vals)
            mean_body = []
            for gkey, vals_list in groups.items():
                # methods that ran on no dataset of this group (not applicable there) are left out
                present = [m for m in methods if any(m in v for v in vals_list)]
                complete = [v for v in vals_list if all(m in v for m in present)]
                means = [
                    _fmt(sum(v[m] for v in complete) / len(complete)) if complete and m in present else "—"
                    for m in methods
                ]
                mean_body.append([f"**mean** (n={len(complete)})", *map(str, gkey), *means])
            lines += ["", *_table(["", *extras, *methods], mean_body)]
    return lines


def suite_markdown(payload: dict[str, Any]) -> str:
    """The markdown page of one suite run."""
    machine = payload["machine"]
    lines = [
        f"# `{payload['suite']}` benchmark",
        "",
        f"Command: `{payload['command']}`  ",
        f"Date: {payload['date']}  ",
        f"Machine: {machine.get('cpu')}, {machine.get('cores')} cores, {machine.get('memory_gib')} GiB, "
        f"torch {machine.get('torch')} ({machine.get('torch_threads')} threads), "
        + (f"BLAS {machine['blas_threads']} threads, " if machine.get("blas_threads") else "")
        + f"python {machine.get('python')}  ",
    ]
    if payload.get("options"):
        lines.append(f"Options: `{json.dumps(payload['options'], default=str)}`  ")
    lines.append(f"Wall time of the whole run: {payload['wall_seconds']:.1f} s")
    if payload.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {n}" for n in payload["notes"]]
    lines += ["", "## Results"]
    lines += pivot_markdown(payload["rows"])
    seconds = time_per_method(payload["rows"])
    if seconds:
        lines += [
            "",
            "### Time per method (sum of the rows' `seconds`, each timed case once, aggregate rows left out)",
            "",
        ]
        lines += _table(["method", "seconds"], [[m, f"{s:.1f}"] for m, s in seconds.items()])
    lines += ["", "## Skipped cases", ""]
    if payload.get("skipped"):
        lines += _table(["case", "reason"], [[c, r] for c, r in payload["skipped"]])
    else:
        lines.append("None.")
    return "\n".join(lines) + "\n"


#: Values of ``dataset`` or of an extra key that mark a row aggregating other rows (its ``seconds``, where
#: set, is the sum of theirs).
AGGREGATE_LABELS = frozenset({"all", "avg"})


def time_per_method(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Total ``seconds`` per method, counting each timed case once.

    Rows that differ only in ``metric`` and ``value`` (several metrics of one timed call, e.g. MSE and MAE
    of one imputation) share one timing and count once; rows whose ``dataset`` or any extra key is an
    aggregate label (``all``, ``avg``) repeat their parts' time and are left out.
    """
    fixed = {"dataset", "method", "metric", "value", "seconds"}
    seen: set[tuple[Any, ...]] = set()
    totals: dict[str, float] = defaultdict(float)
    for r in rows:
        if r.get("seconds") is None:
            continue
        extras = tuple(sorted((k, str(v)) for k, v in r.items() if k not in fixed))
        if str(r["dataset"]) in AGGREGATE_LABELS or any(v in AGGREGATE_LABELS for _, v in extras):
            continue
        case = (r["method"], str(r["dataset"]), extras, r["seconds"])
        if case in seen:
            continue
        seen.add(case)
        totals[r["method"]] += r["seconds"]
    return dict(totals)


def write_suite(out_dir: Path, payload: dict[str, Any]) -> tuple[Path, Path]:
    """Write ``<suite>.json`` and ``<suite>.md`` (atomically) and refresh the index."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = payload["suite"] + ("-quick" if payload.get("quick") else "")
    json_path = out_dir / f"{stem}.json"
    md_path = out_dir / f"{stem}.md"
    _atomic_write(json_path, json.dumps(payload, indent=1, default=str) + "\n")
    _atomic_write(md_path, suite_markdown(payload))
    write_index(out_dir)
    return json_path, md_path


def write_index(out_dir: Path) -> Path:
    """``BENCHMARKS.md``: one line per suite result found in ``out_dir``."""
    lines = [
        "# Benchmarks",
        "",
        "Written by `tinyts bench`; each page names the command that made it. Regenerated on every run.",
        "",
    ]
    body = []
    for path in sorted(out_dir.glob("*.json")):
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if not isinstance(payload, dict) or "suite" not in payload or "rows" not in payload:
            continue
        methods = sorted({r["method"] for r in payload["rows"]})
        body.append(
            [
                f"[{path.stem}]({path.stem}.md)",
                payload.get("date", "?"),
                str(len(payload["rows"])),
                ", ".join(methods),
                f"`{payload.get('command', '')}`",
            ]
        )
    lines += _table(["suite", "date", "rows", "methods", "command"], body)
    index = out_dir / "BENCHMARKS.md"
    _atomic_write(index, "\n".join(lines) + "\n")
    return index


def _atomic_write(path: Path, text: str) -> None:
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
