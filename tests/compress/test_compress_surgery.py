"""Gates and surgery on every adapter: gates at 1 change nothing, the physically pruned model equals the
gated model, parameter counts drop as computed, pruned models save and load with their shapes."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from compress_models import CONTEXT, T5_OPTIONS, tiny_cast, tiny_patchtst, tiny_pulse, tiny_t5

from tinyts.compress import ForecastAdapter, adapt, load_compressed
from tinyts.compress.session import GateSession
from tinyts.models import load

#: the ``disk_full`` fixture of conftest.py
DiskFull = Callable[[Any, str], None]

X = torch.randn(5, CONTEXT, generator=torch.Generator().manual_seed(3)).cumsum(-1) * 0.3 + 2.0
Y = torch.randn(5, 32, generator=torch.Generator().manual_seed(4))
X3 = torch.randn(2, 3, CONTEXT, generator=torch.Generator().manual_seed(5))


def _cast_out(ad: ForecastAdapter) -> torch.Tensor:
    m = ad.model
    obs = torch.ones(5, 1, CONTEXT, dtype=torch.bool)
    obs3 = torch.ones_like(X3, dtype=torch.bool)
    obs3[0, 1, :20] = False  # an unobserved prefix: masked keys in time and variate attention
    parts = []
    for train in (False, True):  # eval: one-channel shortcut of the variate blocks; train: full path
        m.train(train)
        for out in (m(X[:, None], obs), m(X3, obs3)):
            parts += [out["fine"].flatten(), out["coarse"].flatten()]
    m.eval()
    return torch.cat(parts)


def _pulse_out(ad: ForecastAdapter) -> torch.Tensor:
    out = ad.model(X[:, None], torch.ones(5, 1, CONTEXT, dtype=torch.bool))
    return torch.cat([out[k].flatten() for k in ("recon", "recon_fft", "forecast", "embedding")])


def _patchtst_out(ad: ForecastAdapter) -> torch.Tensor:
    return torch.cat([ad.predict(X, 16).flatten(), ad.hidden_states(X).flatten()])


def _t5_out(ad: ForecastAdapter) -> torch.Tensor:
    with torch.no_grad():
        loss = ad.per_sample_loss(X, Y[:, :16])
    return torch.cat([ad.hidden_states(X).flatten(), loss, ad.predict(X, 4).flatten()])


CASES: dict[str, tuple[Callable[[], Any], dict[str, Any], Callable[[ForecastAdapter], torch.Tensor]]] = {
    "tinycast": (tiny_cast, {}, _cast_out),
    "tinypulse": (tiny_pulse, {}, _pulse_out),
    "patchtst": (tiny_patchtst, {}, _patchtst_out),
    "chronos-t5": (tiny_t5, T5_OPTIONS, _t5_out),
    "chronos-t5-gated": (lambda: tiny_t5(gated=True), T5_OPTIONS, _t5_out),
}


def _random_masks(session: GateSession, seed: int, keep: float = 0.6) -> None:
    g = torch.Generator().manual_seed(seed)
    for group in session.groups:
        mask = (torch.rand(group.size, generator=g) < keep).float()
        mask[torch.randint(group.size, (1,), generator=g)] = 1.0  # every group keeps a unit
        group.mask.copy_(mask)


@pytest.mark.parametrize("name", list(CASES))
def test_gates_at_one_leave_outputs_unchanged(name: str) -> None:
    factory, options, out = CASES[name]
    model = factory()
    ref = out(adapt(model, **options))
    ad = adapt(copy.deepcopy(model), **options)
    session = GateSession(ad.model)
    ad.build_gates(session)
    assert session.groups and all(float(g.mask.min()) == 1.0 for g in session.groups)
    assert torch.equal(out(ad), ref)


@pytest.mark.parametrize("name", list(CASES))
def test_physically_pruned_model_matches_the_gated_model(name: str, tmp_path: Path) -> None:
    factory, options, out = CASES[name]
    model = factory()
    ref = out(adapt(model, **options))
    ad = adapt(copy.deepcopy(model), **options)
    session = GateSession(ad.model)
    ad.build_gates(session)
    _random_masks(session, seed=1)
    gated = out(ad)
    assert not torch.allclose(gated, ref, atol=1e-4)  # the gates act
    before = ad.num_parameters()
    ad.surgery(session)
    assert ad.num_parameters() < 0.8 * before
    pruned = out(ad)
    torch.testing.assert_close(pruned, gated, rtol=1e-4, atol=1e-4)
    # save / load: the record holds the pruned shapes, the reloaded model is the pruned one
    folder = ad.save(tmp_path / "pruned")
    # every file is renamed into place: nothing temporary is left beside them
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")]
    again = adapt(folder)
    assert again.pruned and again.num_parameters() == ad.num_parameters()
    torch.testing.assert_close(out(again), pruned, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="already pruned"):
        again.build_gates(GateSession(again.model))


def test_parameter_count_drops_as_computed() -> None:
    model = tiny_cast()
    d, heads = model.config.d_model, model.config.num_heads
    hd = d // heads
    ad = adapt(copy.deepcopy(model))
    session = GateSession(ad.model)
    ad.build_gates(session)
    with torch.no_grad():
        session.get("blocks.0.attn.heads").mask[1] = 0.0  # one head: its q, k, v rows (+bias) and o columns
        session.get("blocks.1.mlp.hidden").mask[:5] = 0.0  # five hidden units: up rows (+bias), down columns
        session.get("blocks.2.qkv.in").mask[:3] = 0.0  # three residual channels read by qkv: 3d weights each
    ad.surgery(session)
    expected = hd * (4 * d + 3) + 5 * (2 * d + 1) + 3 * 3 * d
    assert model.num_parameters() - ad.num_parameters() == expected
    rec = ad.structure()
    assert rec is not None and rec["attention"]["blocks.0"] == {"heads": 1, "qk_width": hd, "v_width": hd}
    assert rec["linears"]["blocks.1.mlp.up"]["n_out"] == model.blocks[1].mlp.up.out_features - 5
    assert rec["linears"]["blocks.2.qkv"]["gather"] and rec["linears"]["blocks.2.qkv"]["n_in"] == d - 3


def test_pruned_tinycast_loads_with_tinyts_load(tmp_path: Path) -> None:
    ad = adapt(tiny_cast(seed=2))
    session = GateSession(ad.model)
    ad.build_gates(session)
    _random_masks(session, seed=7, keep=0.5)
    ad.surgery(session)
    folder = ad.save(tmp_path / "cast")
    loaded = load(folder)
    assert loaded.config.pruning == ad.structure()
    for path, rec in loaded.config.pruning["linears"].items():
        assert tuple(loaded.get_submodule(path).weight.shape) == (rec["n_out"], rec["n_in"])
    assert type(load_compressed(folder)) is type(loaded)
    fc_a = ad.predict(X, 40)
    fc_b = adapt(loaded).predict(X, 40)
    torch.testing.assert_close(fc_a, fc_b)
    from tinyts.tasks.forecast.api import forecast

    res = forecast(loaded, X[:2].numpy(), 24)  # the public forecast API runs on the pruned model
    assert res.mean.shape == (2, 24)


def test_missing_transformers_is_a_clear_import_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from tinyts.compress.adapters.hf_common import require_transformers

    monkeypatch.setitem(sys.modules, "transformers", None)  # makes `import transformers` fail
    with pytest.raises(ImportError, match=r"tinyts\[compress\]"):
        require_transformers()


def test_interrupted_hf_save_keeps_the_saved_model(tmp_path: Path, disk_full: DiskFull) -> None:
    import safetensors.torch

    factory, options, out = CASES["patchtst"]
    ad = adapt(factory(), **options)
    folder = ad.save(tmp_path / "model")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    other = adapt(tiny_patchtst(horizon=24), **options)  # another config: must not land beside old weights
    disk_full(safetensors.torch, "save_model")
    with pytest.raises(OSError, match="disk full"):
        other.save(folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    torch.testing.assert_close(out(adapt(folder)), out(ad))
