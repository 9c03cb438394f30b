"""The suite registry: suites found by scanning the package, their declarations, options and the CLI."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import tinyts.bench.suites as suites_pkg
from tinyts.bench.registry import (
    discover,
    load_suite,
    parse_assignments,
    suite_names,
)
from tinyts.bench.runner import SUITES, run_suite
from tinyts.bench.suites import compression, pretrain_ablation
from tinyts.cli.main import app

SUITES_DIR = Path(suites_pkg.__file__).parent
#: the suites that ran without a data folder before the registry (the runner's hard-coded tuple)
GENERATED = {"speed", "search", "service", "pretrain", "distributed"}
#: the environment variables the suites read before they took --option settings
FORMER_ENV = (
    "TINYTS_CAST_MODELS",
    "TINYTS_ABLATION_RUNS",
    "TINYTS_CORPUS",
    "TINYTS_PRUNE_MODEL",
    "TINYTS_TEACHER",
    "TINYTS_TEACHER_OPTIONS",
)

FAKE = '''"""A suite written by tests/bench/test_registry.py."""

from tinyts.bench.core import Row, SuiteResult
from tinyts.bench.registry import Option

NAME = "{name}"
DESCRIPTION = "a fake suite"
NEEDS_DATA = {needs_data}
OPTIONS = {{
    "n": Option(default=2, parse=int, help="rows to write"),
    "label": Option(default="toy", parse=str, help="the rows' dataset"),
}}


def run(ctx):
    result = SuiteResult()
    for i in range(ctx.options["n"]):
        result.add(Row(ctx.options["label"], "fake", "mse", float(i)))
    result.notes.append(f"data_dir={{ctx.data_dir}}")
    return result
'''


@pytest.fixture
def fake_suites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Drop new modules into tinyts.bench.suites (an extra folder on its ``__path__``), as a new suite is."""
    extra = tmp_path / "extra_suites"
    extra.mkdir()
    (extra / "zz_fake.py").write_text(FAKE.format(name="zz_fake", needs_data=False), encoding="utf-8")
    (extra / "zz_fake_data.py").write_text(
        FAKE.format(name="zz_fake_data", needs_data=True), encoding="utf-8"
    )
    (extra / "_zz_helper.py").write_text("VALUE = 1\n", encoding="utf-8")
    monkeypatch.setattr(suites_pkg, "__path__", [*suites_pkg.__path__, str(extra)])
    importlib.invalidate_caches()
    yield extra
    for name in ("zz_fake", "zz_fake_data", "_zz_helper", "zz_broken", "zz_misnamed"):
        sys.modules.pop(f"tinyts.bench.suites.{name}", None)


# ------------------------------------------------------------------------------------------ discovery


def test_every_module_of_the_suites_package_is_a_registered_suite() -> None:
    files = {p.stem for p in SUITES_DIR.glob("*.py") if not p.stem.startswith("_")}
    assert len(files) >= 14
    assert suite_names() == sorted(files)
    assert SUITES == {name: name for name in files}  # still importable for existing callers
    found = discover()
    assert set(found) == files
    for name, suite in found.items():
        assert suite.name == name and suite.module == f"tinyts.bench.suites.{name}"
        assert suite.description.strip()
        assert callable(suite.run)
    # NEEDS_DATA declares what the runner's hard-coded tuple said
    assert {name for name, s in found.items() if not s.needs_data} == GENERATED
    assert {name for name, s in found.items() if s.options} == {
        "compression",
        "forecasting_ablation",
        "imputation",
        "pretrain_ablation",
    }


def test_helper_modules_are_not_suites() -> None:
    assert (SUITES_DIR / "_pretrain_val_cast.py").is_file()
    assert not [name for name in suite_names() if name.startswith("_")]


def test_a_new_module_is_found_and_run_without_touching_the_runner(
    fake_suites: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = suite_names()
    assert "zz_fake" in names and "zz_fake_data" in names and "_zz_helper" not in names
    suite = load_suite("zz_fake")
    assert suite.needs_data is False and set(suite.options) == {"n", "label"}
    # runs without a data folder (NEEDS_DATA = False), options parsed and recorded
    payload = run_suite("zz_fake", quick=True, out_dir=tmp_path / "out", options={"n": "3"})
    assert [r["value"] for r in payload["rows"]] == [0.0, 1.0, 2.0]
    assert payload["options"] == {"n": 3, "label": "toy"}
    written = json.loads((tmp_path / "out" / "zz_fake-quick.json").read_text(encoding="utf-8"))
    assert written["options"] == {"n": 3, "label": "toy"}
    assert 'Options: `{"n": 3, "label": "toy"}`' in (tmp_path / "out" / "zz_fake-quick.md").read_text(
        encoding="utf-8"
    )
    # a suite that declares NEEDS_DATA = True asks for the data folder
    monkeypatch.delenv("TINYTS_DATA", raising=False)
    with pytest.raises(ValueError, match="--data-dir"):
        run_suite("zz_fake_data", out_dir=tmp_path / "out2")
    payload = run_suite("zz_fake_data", tmp_path, out_dir=tmp_path / "out2", options={"label": "other"})
    assert {r["dataset"] for r in payload["rows"]} == {"other"}
    assert payload["data_dir"] == str(tmp_path)


def test_a_module_without_its_declarations_is_a_loud_error(fake_suites: Path) -> None:
    text = FAKE.format(name="zz_broken", needs_data=False).replace("NEEDS_DATA = False\n", "")
    (fake_suites / "zz_broken.py").write_text(text, encoding="utf-8")
    misnamed = FAKE.format(name="other", needs_data=False)
    (fake_suites / "zz_misnamed.py").write_text(misnamed, encoding="utf-8")
    importlib.invalidate_caches()
    with pytest.raises(TypeError, match="does not declare NEEDS_DATA"):
        load_suite("zz_broken")
    with pytest.raises(TypeError, match="NAME is 'other'"):
        load_suite("zz_misnamed")


def test_unknown_suite_lists_every_suite() -> None:
    with pytest.raises(ValueError, match="unknown suite 'nonsense'") as err:
        load_suite("nonsense")
    for name in suite_names():
        assert name in str(err.value)


# ------------------------------------------------------------------------------------------- options


def test_options_take_defaults_and_parse_given_values(fake_suites: Path) -> None:
    suite = load_suite("zz_fake")
    assert suite.parse_options() == {"n": 2, "label": "toy"}
    assert suite.parse_options({"n": "5"}) == {"n": 5, "label": "toy"}


def test_unknown_option_names_the_suites_options(fake_suites: Path) -> None:
    with pytest.raises(ValueError, match="unknown option 'm' for suite 'zz_fake'") as err:
        load_suite("zz_fake").parse_options({"m": "1"})
    assert "n (default 2): rows to write" in str(err.value)
    assert "label (default toy): the rows' dataset" in str(err.value)
    with pytest.raises(ValueError, match="suite 'speed' takes no options"):
        load_suite("speed").parse_options({"n": "1"})


def test_a_value_that_does_not_parse_names_option_value_and_options(fake_suites: Path) -> None:
    with pytest.raises(ValueError, match="bad value 'many' for option 'n' of suite 'zz_fake'") as err:
        load_suite("zz_fake").parse_options({"n": "many"})
    assert "options of suite 'zz_fake'" in str(err.value)


def test_defaults_are_copies() -> None:
    suite = load_suite("compression")
    first = suite.parse_options()
    first["teacher_options"]["strategy"] = "changed"
    assert (
        suite.parse_options()["teacher_options"]
        == compression.TEACHER_OPTIONS
        == {
            "strategy": "hybrid",
            "symmetry": False,
        }
    )


# ----------------------------------------------------------- the former environment variables as options


def test_forecasting_ablation_models_option() -> None:
    suite = load_suite("forecasting_ablation")
    assert suite.parse_options() == {"models": {}}
    parsed = suite.parse_options({"models": "Dart_1k=runs/cast_dart/model; instance_1k=runs/inst/model;"})
    assert parsed["models"] == {"dart_1k": "runs/cast_dart/model", "instance_1k": "runs/inst/model"}
    with pytest.raises(ValueError, match="name=folder.*options of suite 'forecasting_ablation'"):
        suite.parse_options({"models": "nofolder"})
    with pytest.raises(ValueError, match="built-in variant name"):
        suite.parse_options({"models": "tinycast=/x"})


def test_pretrain_ablation_runs_and_corpus_options() -> None:
    suite = load_suite("pretrain_ablation")
    assert suite.parse_options() == {
        "runs": pretrain_ablation.DEFAULT_RUNS,
        "corpus": pretrain_ablation.DEFAULT_CORPUS,
    }
    parsed = suite.parse_options({"runs": "/tmp/abl/eval", "corpus": "~/corpus"})
    assert parsed["runs"] == Path("/tmp/abl/eval")
    assert parsed["corpus"] == Path("~/corpus").expanduser()
    with pytest.raises(ValueError, match="bad value '' for option 'runs'"):
        suite.parse_options({"runs": ""})


def test_compression_model_options() -> None:
    suite = load_suite("compression")
    assert suite.parse_options() == {
        "prune_model": None,
        "teacher": None,
        "teacher_options": compression.TEACHER_OPTIONS,
    }
    parsed = suite.parse_options(
        {"prune_model": " runs/cast/model ", "teacher": "tinycast", "teacher_options": '{"strategy": "auto"}'}
    )
    assert parsed == {
        "prune_model": "runs/cast/model",
        "teacher": "tinycast",
        "teacher_options": {"strategy": "auto"},
    }
    assert suite.parse_options({"teacher": ""})["teacher"] is None  # empty = the bundled default


def test_no_suite_reads_the_former_environment_variables() -> None:
    bench = SUITES_DIR.parent
    for path in bench.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not [var for var in FORMER_ENV if var in text], path


# --------------------------------------------------------------------------------------- command line


def test_parse_assignments() -> None:
    assert parse_assignments(["a=1", "models=x=/p;y=/q", "empty="]) == {
        "a": "1",
        "models": "x=/p;y=/q",
        "empty": "",
    }
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_assignments(["novalue"])
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_assignments(["=1"])
    with pytest.raises(ValueError, match="given twice"):
        parse_assignments(["a=1", "a=2"])


def test_cli_option_reaches_the_suite(fake_suites: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = CliRunner().invoke(
        app, ["bench", "zz_fake", "-o", "n=1", "--option", "label=cli", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    payload = json.loads((out / "zz_fake.json").read_text(encoding="utf-8"))
    assert payload["options"] == {"n": 1, "label": "cli"}
    assert [(r["dataset"], r["value"]) for r in payload["rows"]] == [("cli", 0.0)]


def test_cli_bad_options_are_clear_errors(fake_suites: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["bench", "zz_fake", "-o", "nope=1", "--out", str(tmp_path)])
    assert res.exit_code == 2
    assert "unknown option 'nope'" in res.output and "rows to write" in res.output
    res = runner.invoke(app, ["bench", "zz_fake", "-o", "n", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "KEY=VALUE" in res.output
    res = runner.invoke(app, ["bench", "zz_fake", "-o", "n=x", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "bad value 'x' for option 'n'" in res.output
    assert not list(tmp_path.glob("*.json"))  # nothing was run


def test_cli_unknown_suite_lists_the_suites(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["bench", "nonsense", "--data-dir", str(tmp_path)])
    assert res.exit_code == 2
    text = "".join(res.output.split())
    for name in SUITES:
        assert name in text
