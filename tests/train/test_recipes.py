"""Recipe files: ``base`` inheritance (merge rules, chains, relative paths, errors)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tinyts.train.loop import TrainConfig
from tinyts.train.recipes import RECIPE_DIR, load_recipe


def _write(path: Path, recipe: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    return path


def test_a_child_overrides_keys_at_any_depth_and_replaces_lists(tmp_path: Path) -> None:
    parent = load_recipe("tinycast")
    child = _write(
        tmp_path / "child.yaml",
        {
            "base": "tinycast",
            "model_config": {"d_model": 64, "quantiles": [0.1, 0.5, 0.9]},
            "train": {"steps": 7},
            "data_sources": ["only this"],
        },
    )
    got = load_recipe(child)
    assert got["model_config"]["d_model"] == 64
    assert got["model_config"]["quantiles"] == [0.1, 0.5, 0.9]  # a list replaces, never appends
    assert got["model_config"]["num_layers"] == parent["model_config"]["num_layers"]  # untouched keys kept
    assert got["train"]["steps"] == 7 and got["train"]["lr"] == parent["train"]["lr"]
    assert got["objective"] == parent["objective"]
    assert got["data_sources"] == ["only this"]
    assert "base" not in got
    assert got["_path"] == str(child)
    assert got["_bases"] == [str(RECIPE_DIR / "tinycast.yaml")]


def test_bases_chain_and_relative_paths_are_read_from_the_recipes_folder(tmp_path: Path) -> None:
    _write(tmp_path / "lib" / "a.yaml", {"base": "tinypulse", "train": {"steps": 11, "lr": 0.5}})
    _write(tmp_path / "lib" / "b.yaml", {"base": "a.yaml", "train": {"steps": 22}})
    top = _write(tmp_path / "c.yaml", {"base": "lib/b.yaml", "objective": {"batch_size": 3}})
    got = load_recipe(top)
    assert got["train"]["steps"] == 22 and got["train"]["lr"] == 0.5
    assert got["objective"]["batch_size"] == 3
    assert got["model_config"] == load_recipe("tinypulse")["model_config"]
    assert [Path(p).name for p in got["_bases"]] == ["b.yaml", "a.yaml", "tinypulse.yaml"]


def test_bundled_recipes_resolve_and_keep_their_parents_settings() -> None:
    long, broad = load_recipe("tinypulse-long"), load_recipe("tinypulse-broad")
    assert long["model_config"] == broad["model_config"] and long["objective"] == broad["objective"]
    assert long["data_sources"] == broad["data_sources"]
    assert (long["train"]["steps"], long["train"]["schedule_start"]) == (161100, 60000)
    ets, short = load_recipe("tinycast-broad-ets"), load_recipe("tinycast-broad-short")
    # TinyCast's schedule was shortened mid-run at step 75,112: the new cosine starts at the old one's
    # rate (flat at first, below the old one from step 81,499 on) and ends where the run's 6,325,888 samples
    # plus 128 a step reach 10.24M.
    early = load_recipe("tinycast-broad-ets-early")
    before = TrainConfig(**ets["train"])
    after = TrainConfig(**early["train"])
    assert after.lr_at(75112) == before.lr_at(75112)
    assert after.lr_at(90000) < before.lr_at(90000)
    assert 6_325_888 + (after.steps - 75112) * 128 == 10_240_000
    assert after.lr_at(after.steps) == pytest.approx(after.min_lr)
    assert ets["objective"] == {**short["objective"], "mix": "broad_ets"}
    for path in sorted(RECIPE_DIR.rglob("*.yaml")):
        recipe = load_recipe(path)
        assert {"model", "model_config", "objective", "train", "data_sources"} <= set(recipe), path


def test_a_cycle_of_bases_is_refused(tmp_path: Path) -> None:
    _write(tmp_path / "x.yaml", {"base": "y.yaml", "train": {"steps": 1}})
    _write(tmp_path / "y.yaml", {"base": "x.yaml"})
    with pytest.raises(ValueError, match="cycle"):
        load_recipe(tmp_path / "x.yaml")


@pytest.mark.parametrize(
    ("base", "message"),
    [("no-such-recipe", "unknown recipe 'no-such-recipe'"), (3, "'base' names a bundled recipe")],
)
def test_a_bad_base_says_what_to_give(tmp_path: Path, base: object, message: str) -> None:
    path = _write(tmp_path / "bad.yaml", {"base": base})
    with pytest.raises(ValueError, match=message):
        load_recipe(path)


def test_a_child_still_needs_every_section_after_merging(tmp_path: Path) -> None:
    _write(tmp_path / "partial.yaml", {"model": "tinycast", "train": {"steps": 1}})
    child = _write(tmp_path / "child.yaml", {"base": "partial.yaml"})
    with pytest.raises(ValueError, match="missing keys"):
        load_recipe(child)
