"""TinyCast pre-training objective: seeded batches, finite losses, ablation switches, learning, the recipe."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from tinyts.models.cast import CastConfig, TinyCast
from tinyts.testing import TINY_CAST
from tinyts.train.cast_objective import CastObjective, pinball
from tinyts.train.recipes import build_trainer, load_recipe

CFG = CastConfig(**{**TINY_CAST, "num_layers": 3, "coarse_horizon": 48})


def _model(cfg: CastConfig = CFG) -> TinyCast:
    torch.manual_seed(0)
    return TinyCast(cfg)


def test_batches_are_seeded_and_shaped() -> None:
    obj = CastObjective(batch_size=8, mv_batch_size=2, mv_channels=3)
    a, b = obj.batch(5, 0, CFG), obj.batch(5, 0, CFG)
    assert a.keys() == {"x", "observed", "x_mv", "observed_mv"}
    assert a["x"].shape == (8, 1, 64 + 48) and a["observed"].shape == (8, 1, 64)
    assert a["x_mv"].shape == (2, 3, 112) and a["observed_mv"].shape == (2, 3, 64)
    assert a["observed"].dtype == torch.bool and bool(a["observed"][..., -1].all())
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["x"], obj.batch(5, 1, CFG)["x"])
    assert not torch.equal(a["x"], obj.batch(6, 0, CFG)["x"])
    assert torch.isfinite(a["x"]).all() and torch.isfinite(a["x_mv"]).all()
    assert "x_mv" not in CastObjective(batch_size=4, mv_batch_size=0).batch(0, 0, CFG)
    # without a coarse head the window is context + one patch
    assert CastObjective(batch_size=2).batch(0, 0, CastConfig(**{**CFG.__dict__, "coarse_horizon": 0}))[
        "x"
    ].shape == (2, 1, 72)


def test_augmentations_produce_missing_points_and_short_histories() -> None:
    obj = CastObjective(batch_size=64, missing_prob=1.0, missing_max_ratio=0.3, short_prob=0.5)
    obs = obj.batch(0, 0, CFG)["observed"][:, 0]
    assert (~obs).any(1).all()  # every series lost some points
    assert (~obs[:, :8]).all(1).sum() > 10  # some have an unobserved prefix of at least a patch
    none = CastObjective(batch_size=16, missing_prob=0.0, short_prob=0.0).batch(0, 0, CFG)["observed"]
    assert bool(none.all())


def test_short_prefixes_can_leave_fewer_points_than_a_patch_and_default_draws_are_unchanged() -> None:
    # CFG: context 64, patch 8. Uniform from the patch length (the first recipes' rule) ...
    old = CastObjective(batch_size=256, missing_prob=0.0, short_prob=1.0)
    kept = old.batch(3, 0, CFG)["observed"][:, 0].sum(1)
    assert int(kept.min()) >= 8
    # ... the same draws when the new fields hold their defaults
    same = CastObjective(
        batch_size=256, missing_prob=0.0, short_prob=1.0, short_min_keep=0, short_keep="uniform"
    )
    assert torch.equal(same.batch(3, 0, CFG)["observed"], old.batch(3, 0, CFG)["observed"])
    # log-uniform from 2 points: histories shorter than a patch are common, and every length stays < 56
    new = CastObjective(
        batch_size=256, missing_prob=0.0, short_prob=1.0, short_min_keep=2, short_keep="log_uniform"
    )
    kept = new.batch(3, 0, CFG)["observed"][:, 0].sum(1)
    assert int(kept.min()) >= 2 and int(kept.max()) < 56
    assert int((kept < 8).sum()) > 64  # P(keep < 8) = log(4) / log(28), about 42 %
    with pytest.raises(ValueError, match="short_keep"):
        CastObjective(short_keep="normal")
    with pytest.raises(ValueError, match="short_min_keep"):
        CastObjective(short_min_keep=-1)


def test_min_points_scores_positions_with_few_observed_points() -> None:
    model = _model()
    batch = CastObjective(
        batch_size=16, missing_prob=0.0, short_prob=1.0, short_min_keep=2, short_keep="log_uniform"
    )
    b = batch.batch(0, 0, CFG)
    losses = {}
    for m in (16, 2):
        obj = CastObjective(batch_size=16, min_points=m)
        losses[m] = obj._sums(model, b["x"], b["observed"], CFG)["fine"]
    assert float(losses[2][1]) > float(losses[16][1])  # more positions scored
    assert torch.isfinite(losses[2][0])


def _corpus(tmp_path: Path) -> Path:
    import numpy as np

    d = tmp_path / "corpus"
    d.mkdir()
    rng = np.random.default_rng(0)
    rows = [
        f"s{i}:2020-01-01 00-00-00:" + ",".join(f"{v:.4f}" for v in rng.standard_normal(n).cumsum())
        for i, n in enumerate((20, 35, 60, 90, 400))
    ]
    head = "@relation c\n@attribute series_name string\n@attribute start_timestamp date\n@frequency monthly\n"
    (d / "c.tsf").write_text(head + "@missing false\n@equallength false\n@data\n" + "\n".join(rows) + "\n")
    return d


def test_real_short_windows_mask_the_missing_targets(tmp_path: Path) -> None:
    """``real_short_share``: short real series cut at an origin; targets after their end are not scored."""
    corpus = str(_corpus(tmp_path))
    obj = CastObjective(
        batch_size=8, mv_batch_size=2, short_horizon=24, real_dir=corpus, real_short_share=0.25
    )
    a = obj.batch(3, 0, CFG)
    assert a.keys() == {"x", "observed", "target_ok", "x_mv", "observed_mv"}
    ok = a["target_ok"][:, 0]
    assert ok.shape == (8, 112) and bool(ok[:6].all())  # the synthetic rows are whole
    assert not bool(ok[6:].all(1).any())  # the 2 short rows have padding or an early end
    assert bool(a["observed"][..., -1].all()) and not bool((a["observed"][:, 0] & ~ok[:, :64]).any())
    assert torch.isfinite(a["x"]).all() and bool((a["x"][:, 0][~ok] == 0).all())
    assert all(torch.equal(a[k], obj.batch(3, 0, CFG)[k]) for k in a)
    model = _model()
    torch.manual_seed(0)
    loss, parts = obj.loss(model, a, CFG)
    assert torch.isfinite(loss) and set(parts) == {"fine", "coarse_short", "coarse_long"}
    loss.backward()
    # values after a series' end do not matter: change them, the loss stays the same
    b = dict(a, x=torch.where(a["target_ok"], a["x"], torch.full_like(a["x"], 1e6)))
    torch.manual_seed(0)
    assert torch.equal(obj.loss(model, b, CFG)[0], loss)
    # a mask that keeps every point gives the unmasked loss
    plain = CastObjective(batch_size=8, mv_batch_size=2, short_horizon=24)
    c = plain.batch(3, 0, CFG)
    torch.manual_seed(0)
    ref = plain.loss(model, c, CFG)[0]
    torch.manual_seed(0)
    masked = plain.loss(model, dict(c, target_ok=torch.ones_like(c["x"], dtype=torch.bool)), CFG)[0]
    assert torch.allclose(masked, ref, rtol=1e-6)
    assert "target_ok" not in c
    with pytest.raises(ValueError, match="real_dir"):
        CastObjective(real_short_share=0.1)
    with pytest.raises(ValueError, match="real_short_share"):
        CastObjective(real_short_share=1.0, real_dir=corpus)
    with pytest.raises(ValueError, match="real_short_balance"):
        CastObjective(real_short_share=0.25, real_dir=corpus, real_short_balance=2.0)
    # the balance only changes which short series are drawn; 0 is the default batch, bit for bit
    kw: dict[str, Any] = dict(
        batch_size=8, mv_batch_size=2, short_horizon=24, real_dir=corpus, real_short_share=0.25
    )
    zero = CastObjective(**kw, real_short_balance=0.0).batch(3, 0, CFG)
    assert all(torch.equal(zero[k], a[k]) for k in a)
    even = CastObjective(**kw, real_short_balance=1.0).batch(3, 0, CFG)
    assert torch.equal(even["x"][:6], a["x"][:6]) and torch.isfinite(even["x"]).all()


def test_pinball_is_the_quantile_loss() -> None:
    levels = torch.tensor([0.1, 0.5, 0.9])
    loss = pinball(torch.zeros(3), torch.tensor(2.0), levels)
    assert torch.allclose(loss, torch.tensor([0.2, 1.0, 1.8]))
    loss = pinball(torch.zeros(3), torch.tensor(-2.0), levels)
    assert torch.allclose(loss, torch.tensor([1.8, 1.0, 0.2]))


def test_loss_is_finite_with_every_part() -> None:
    obj = CastObjective(batch_size=8, mv_batch_size=2, short_horizon=24)
    batch = obj.batch(0, 0, CFG)
    total, parts = obj.loss(_model(), batch, CFG)
    assert torch.isfinite(total) and total.requires_grad
    assert parts.keys() == {"fine", "coarse_short", "coarse_long"}
    expect = parts["fine"] + 0.5 * parts["coarse_short"] + 0.5 * parts["coarse_long"]
    assert abs(total.item() - expect) < 1e-4
    total.backward()


@pytest.mark.parametrize(
    ("model_kw", "obj_kw", "keys"),
    [
        ({}, {"dense": False}, {"fine", "coarse_short", "coarse_long"}),
        ({"norm": "instance"}, {}, {"fine", "coarse_short", "coarse_long"}),
        ({"coarse_horizon": 0}, {}, {"fine"}),
        ({}, {"coarse_every": 3, "coarse_points": 0}, {"fine", "coarse_short", "coarse_long"}),
        ({}, {"short_horizon": 200}, {"fine", "coarse_short"}),
    ],
)
def test_ablation_switches(model_kw: dict[str, object], obj_kw: dict[str, object], keys: set[str]) -> None:
    cfg = CastConfig(**{**CFG.__dict__, **model_kw})  # type: ignore[arg-type]
    obj = CastObjective(**{"batch_size": 6, "mv_batch_size": 1, "short_horizon": 24, **obj_kw})  # type: ignore[arg-type]
    total, parts = obj.loss(_model(cfg), obj.batch(0, 0, cfg), cfg)
    assert torch.isfinite(total) and parts.keys() == keys


def test_dense_and_last_only_losses_differ() -> None:
    batch = CastObjective(batch_size=8, mv_batch_size=0).batch(1, 0, CFG)
    m = _model()
    dense = CastObjective(batch_size=8, mv_batch_size=0).loss(m, batch, CFG)[1]
    last = CastObjective(batch_size=8, mv_batch_size=0, dense=False).loss(m, batch, CFG)[1]
    assert dense["fine"] != pytest.approx(last["fine"])


def test_a_few_steps_reduce_the_loss() -> None:
    obj = CastObjective(batch_size=16, mv_batch_size=2, missing_prob=0.0, short_prob=0.0)
    batch = obj.batch(0, 0, CFG)
    m = _model()
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    torch.manual_seed(0)
    first = None
    for _ in range(25):
        loss, _ = obj.loss(m, batch, CFG)
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert first is not None and obj.loss(m, batch, CFG)[0].item() < 0.8 * first


def test_objective_validation() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        CastObjective(batch_size=0)
    with pytest.raises(ValueError, match="missing_prob"):
        CastObjective(missing_prob=1.5)
    with pytest.raises(ValueError, match="coarse_points"):
        CastObjective(coarse_points=-1)


def test_recipe_builds_a_trainer_and_runs_two_steps(tmp_path: Path) -> None:
    recipe = load_recipe("tinycast")
    assert recipe["model"] == "tinycast" and recipe["data_sources"]
    recipe["objective"] = {**recipe["objective"], "batch_size": 4, "mv_batch_size": 1}
    trainer = build_trainer(recipe, tmp_path, {"steps": 2, "progress": False, "log_every": 1})
    assert isinstance(trainer.model, TinyCast) and trainer.model.num_parameters() == 1_884_992
    summary = trainer.fit()
    assert summary["step"] == 2 and summary["samples"] == 8
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert {"loss", "fine", "coarse_short", "coarse_long"} <= log[-1].keys()
    state = json.loads((tmp_path / "checkpoint" / "state.json").read_text())
    assert state["meta"]["model"] == "tinycast" and state["meta"]["model_config"]["d_model"] == 128
    base = load_recipe("tinycast-base")
    assert (
        base["model"] == "tinycast"
        and base["data_sources"] == recipe["data_sources"][:-2] + base["data_sources"][-2:]
    )


def test_unknown_recipe_model_names_both() -> None:
    recipe = {**load_recipe("tinycast"), "model": "tinyfoo"}
    with pytest.raises(ValueError, match="tinypulse, tinycast"):
        build_trainer(recipe, "unused")
