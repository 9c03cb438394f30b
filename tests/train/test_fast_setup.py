"""The fast pre-training setup: a bank rebuilt bit for bit, cheap augmentations, the default step
unchanged, exact resume with bank + bf16 + rand dropout, and runs that switch setups on resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from pretrain_runs import BATCH, tiny_recipe

from tinyts.data.synth.augment import BankAugment, bank_batch
from tinyts.data.synth.bank import BankSpec, open_bank
from tinyts.data.synth.corpus import synth_batch
from tinyts.train.card import model_card
from tinyts.train.loop import RandDropout, TrainConfig
from tinyts.train.recipes import RECIPE_DIR, build_trainer, load_recipe


def test_bank_is_rebuilt_bit_for_bit_and_stale_banks_are_replaced(tmp_path: Path) -> None:
    spec = BankSpec(size=50, length=64, seed=3, chunk=16, cache_dir=str(tmp_path / "a"))
    a = open_bank(spec)
    b = open_bank(BankSpec(size=50, length=64, seed=3, chunk=16, cache_dir=str(tmp_path / "b")))
    assert a.data.shape == (50, 64) and np.isfinite(a.data).all()
    assert a.path.read_bytes() == b.path.read_bytes() and a.sha256 == b.sha256
    # chunk i is synth_batch on its own stream: the bank is what the generator makes
    np.testing.assert_array_equal(a.data[16:32], spec.generate_chunk(1))
    other = open_bank(BankSpec(size=50, length=64, seed=4, chunk=16, cache_dir=str(tmp_path / "a")))
    assert not np.array_equal(other.data, a.data)
    # a bank whose first chunk no longer matches the generator is rebuilt, not used
    raw = np.load(a.path, mmap_mode="r+")
    raw[0, 0] += 1.0
    raw.flush()
    del raw
    again = open_bank(spec)
    assert again.path.read_bytes() == b.path.read_bytes()
    # a bank of one source holds only that source's series
    kern = BankSpec(size=8, length=32, mix={"kernel": 1.0}, chunk=8, cache_dir=str(tmp_path / "k"))
    expected = synth_batch(8, 32, np.random.default_rng([0, 0x62616E6B, 0]), mix={"kernel": 1.0})
    np.testing.assert_array_equal(open_bank(kern).data, expected)


def test_bank_batch_is_seeded_and_augments(tmp_path: Path) -> None:
    bank = np.cumsum(np.random.default_rng(0).standard_normal((40, 100)), axis=1).astype(np.float32)
    x1 = bank_batch(bank, 32, 60, np.random.default_rng(5))
    x2 = bank_batch(bank, 32, 60, np.random.default_rng(5))
    assert x1.shape == (32, 60) and x1.dtype == np.float32
    np.testing.assert_array_equal(x1, x2)
    # without augmentations every row is a crop of a stored series
    none = BankAugment(reverse_prob=0, mix_prob=0, scale_log10_range=(0, 0), offset_prob=0, sign_flip_prob=0)
    crops = bank_batch(bank, 16, 60, np.random.default_rng(1), none)
    windows = np.lib.stride_tricks.sliding_window_view(bank, 60, axis=1).reshape(-1, 60)
    assert all((windows == row).all(axis=1).any() for row in crops)
    # reversal: each row is a stored window read backwards
    rev = bank_batch(
        bank, 16, 60, np.random.default_rng(1), BankAugment(**{**none.__dict__, "reverse_prob": 1.0})
    )
    assert all((windows == row[::-1]).all(axis=1).any() for row in rev)
    # sign flip and scale act per row
    flip = bank_batch(
        bank, 16, 60, np.random.default_rng(1), BankAugment(**{**none.__dict__, "sign_flip_prob": 1.0})
    )
    assert all((windows == -row).all(axis=1).any() for row in flip)
    mixed = bank_batch(
        bank, 64, 60, np.random.default_rng(2), BankAugment(**{**none.__dict__, "mix_prob": 1.0})
    )
    assert not any((windows == row).all(axis=1).any() for row in mixed)
    with pytest.raises(ValueError, match="points"):
        bank_batch(bank, 4, 101, np.random.default_rng(0))
    with pytest.raises(ValueError, match="reverse_prob"):
        BankAugment(reverse_prob=2.0)


def test_default_settings_are_the_old_step(tmp_path: Path) -> None:
    """Without the new keys a recipe trains exactly as the loop did before them (re-implemented here)."""
    recipe = load_recipe(tiny_recipe(tmp_path, steps=3, checkpoint_every=3))
    assert "data" not in recipe and TrainConfig().setup() == "fp32 eager"
    trainer = build_trainer(recipe, tmp_path / "run", {"progress": False})
    trainer.fit()
    ref = build_trainer(recipe, tmp_path / "ref", {"progress": False})
    model, opt, cfg = ref.model, ref.opt, ref.config
    torch.manual_seed(cfg.seed)
    for step in range(cfg.steps):
        torch.manual_seed((cfg.seed * 1_000_003 + step) * 64)
        batch = ref.batch_fn(step, 0)
        for group in opt.param_groups:
            group["lr"] = cfg.lr_at(step)
        loss, _ = ref.loss_fn(model, batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
    for name, value in model.state_dict().items():
        assert torch.equal(trainer.model.state_dict()[name], value), name
    assert not any(isinstance(m, RandDropout) for m in trainer.model.modules())
    assert set(trainer.phase_seconds) == {"data", "forward", "backward", "optimizer"}
    assert all(len(v) == 3 and min(v) > 0 for v in trainer.phase_seconds.values())


def test_fast_recipes_keep_the_model_and_objective() -> None:
    setup_keys = ("precision", "compile", "fast_dropout")
    for name, variant in (("tinypulse", "tinypulse-bank"), ("tinycast", "tinycast-fast")):
        plain, bank = load_recipe(name), load_recipe(variant)
        assert bank["model_config"] == plain["model_config"] and bank["objective"] == plain["objective"]
        assert {k: v for k, v in bank["train"].items() if k not in setup_keys} == plain["train"]
        assert bank["data"]["bank"]["length"] >= 2 * (plain["model_config"]["context_length"])
    # tinypulse-fast: the same recipe without dropout (no parameter changes: it continues a tinypulse run)
    plain, fast = load_recipe("tinypulse"), load_recipe("tinypulse-fast")
    assert (
        fast["model_config"] == {**plain["model_config"], "dropout": 0.0}
        and plain["model_config"]["dropout"] > 0
    )
    assert fast["objective"] == plain["objective"] and "data" not in fast
    assert {k: v for k, v in fast["train"].items() if k not in setup_keys} == plain["train"]
    assert (RECIPE_DIR / "tinypulse-fast.yaml").is_file()


def test_fast_setup_resumes_exactly(tmp_path: Path) -> None:
    """Bank + augmentations + bf16 autocast + rand dropout: stopped and resumed equals straight."""
    recipe = load_recipe(tiny_recipe(tmp_path, steps=8, checkpoint_every=3, fast=True))
    straight = build_trainer(recipe, tmp_path / "straight", {"progress": False})
    straight.fit()
    assert any(isinstance(m, RandDropout) for m in straight.model.modules())
    first = build_trainer(recipe, tmp_path / "run", {"progress": False, "steps": 5})
    first.fit()
    second = build_trainer(recipe, tmp_path / "run", {"progress": False})
    assert second.resume() and second.step == 5  # the checkpoint written when steps=5 ended the fit
    second.fit()
    for name, value in straight.model.state_dict().items():
        assert torch.equal(second.model.state_dict()[name], value), name
    state = json.loads((tmp_path / "run" / "checkpoint" / "state.json").read_text(encoding="utf-8"))
    assert state["samples"] == 8 * BATCH
    assert state["meta"]["data"]["sha256"] == straight.meta["data"]["sha256"]
    assert all("bf16 eager, rand dropout, synth bank" in rec["setup"] for rec in state["history"])


def test_a_run_switches_to_the_fast_recipe_and_records_it(tmp_path: Path) -> None:
    plain = load_recipe(tiny_recipe(tmp_path, steps=4, checkpoint_every=2))
    fast = load_recipe(tiny_recipe(tmp_path, steps=8, checkpoint_every=2, fast=True))
    run = tmp_path / "run"
    build_trainer(plain, run, {"progress": False}).fit()
    state = json.loads((run / "checkpoint" / "state.json").read_text(encoding="utf-8"))
    for rec in state["history"]:  # a run from before setups were recorded
        rec.pop("recipe"), rec.pop("setup"), rec.pop("schedule")
    (run / "checkpoint" / "state.json").write_text(json.dumps(state), encoding="utf-8")
    switched = build_trainer(fast, run, {"progress": False})
    assert switched.resume() and switched.step == 4
    switched.fit()
    state = json.loads((run / "checkpoint" / "state.json").read_text(encoding="utf-8"))
    old, new = state["history"]
    assert (old["recipe"], old["setup"]) == ("tiny-pulse.yaml", "fp32 eager, on-the-fly data")
    assert new["recipe"] == "tiny-pulse-fast.yaml" and new["setup"].startswith("bf16 eager, rand dropout")
    assert (new["from_step"], new["to_step"]) == (4, 8)
    card = model_card(state)
    assert "`tinyts pretrain tiny-pulse-fast --run-dir RUN_DIR --resume`" in card
    assert "tiny-pulse.yaml, fp32 eager, on-the-fly data | 0-4" in card
    assert "tiny-pulse-fast.yaml, bf16 eager, rand dropout, synth bank" in card
    assert "; warm-up 5 steps to" in card  # the schedule of the recorded segment
    # the card keeps the sources of the earlier segment (the bank recipe lists its own first)
    assert state["meta"]["data_sources"][: len(fast["data_sources"])] == fast["data_sources"]
    for src in plain["data_sources"]:
        assert src in fast["data_sources"] or f"earlier segments: {src}" in state["meta"]["data_sources"]


def test_rand_dropout_has_the_dropout_distribution() -> None:
    torch.manual_seed(0)
    drop = RandDropout(0.25).train()
    y = drop(torch.ones(200_000))
    assert torch.equal(torch.unique(y), torch.tensor([0.0, 1.0 / 0.75]))
    assert (y == 0).float().mean().item() == pytest.approx(0.25, abs=0.005)
    assert torch.equal(drop.eval()(torch.ones(5)), torch.ones(5))


def test_a_tinypulse_run_continues_without_dropout(tmp_path: Path) -> None:
    """tinypulse-fast (dropout 0) resumes a tinypulse checkpoint: same weights in, no dropout masks after."""
    plain_path = tiny_recipe(tmp_path, steps=4, checkpoint_every=2)
    plain = load_recipe(plain_path)
    nodrop = {**plain, "model_config": {**plain["model_config"], "dropout": 0.0}, "_path": "tiny-nodrop.yaml"}
    run = tmp_path / "run"
    first = build_trainer(plain, run, {"progress": False})
    first.fit()
    saved = {k: v.clone() for k, v in first.model.state_dict().items()}
    switched = build_trainer(nodrop, run, {"progress": False, "steps": 6})
    assert switched.resume() and switched.step == 4
    for name, value in saved.items():
        assert torch.equal(switched.model.state_dict()[name], value), name
    drops = [m for m in switched.model.modules() if isinstance(m, torch.nn.Dropout)]
    assert drops and all(m.p == 0.0 for m in drops)
    switched.fit()
    state = json.loads((run / "checkpoint" / "state.json").read_text(encoding="utf-8"))
    assert [rec["recipe"] for rec in state["history"]] == ["tiny-pulse.yaml", "tiny-nodrop.yaml"]
    assert state["meta"]["model_config"]["dropout"] == 0.0 and state["step"] == 6
