"""ONNX export: ONNX Runtime parity with PyTorch, INT8, the CLI, and clear errors.

Exports are the slow part (the dynamo exporter traces for ~10-25 s on a shared 2-core machine), so
each model is exported once per module and every check reads that file.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

pytest.importorskip("onnx")
pytest.importorskip("onnxscript")
pytest.importorskip("onnxruntime")

from typer.testing import CliRunner

import tinyts
from tinyts.export import (
    compare_onnx,
    example_inputs,
    export_onnx,
    int8_path,
    onnx_session,
    run_onnx,
)
from tinyts.export.wrappers import PULSE_OUTPUTS, reference_outputs, scan_linear_fill
from tinyts.models.cast import CastConfig, TinyCast
from tinyts.models.pulse import PulseConfig, TinyPulse
from tinyts.nn.interp import linear_fill
from tinyts.testing import TINY_CAST

#: float32 parity bound of the brief (raw units, random walks of std ~10-20)
ATOL = 1e-4


@pytest.fixture(scope="module")
def pulse_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path, Path]:
    model = tinyts.load("tinypulse")
    path = export_onnx(model, tmp_path_factory.mktemp("pulse") / "tinypulse.onnx", int8=True)
    return model, path, int8_path(path)


@pytest.fixture(scope="module")
def tiny_cast() -> TinyCast:
    torch.manual_seed(0)
    return TinyCast(CastConfig(**{**TINY_CAST, "num_layers": 3})).eval()


def test_scan_linear_fill_equals_linear_fill() -> None:
    rng = np.random.default_rng(0)
    for t in (1, 2, 7, 64, 512):
        x = torch.from_numpy(rng.standard_normal((6, t)).astype(np.float32))
        obs = torch.from_numpy(rng.random((6, t)) < 0.6)
        obs[0] = False  # no observed point: zeros
        obs[1] = True  # nothing to fill
        obs[2] = False
        obs[2, t // 2] = True  # one observed point: constant
        if t > 4:
            obs[3, :2] = False  # hidden at both ends: constant extension
            obs[3, -2:] = False
        assert torch.equal(scan_linear_fill(x, obs), linear_fill(x, obs))


def test_pulse_onnx_matches_torch_at_batch_1_and_3(pulse_files: tuple[Any, Path, Path]) -> None:
    model, path, _ = pulse_files
    session = onnx_session(path)
    assert [i.name for i in session.get_inputs()] == ["values", "observed"]
    assert session.get_inputs()[0].shape == ["batch", 1, 512]
    assert session.get_inputs()[1].type == "tensor(bool)"
    assert tuple(o.name for o in session.get_outputs()) == PULSE_OUTPUTS
    for seed, batch in enumerate((1, 3)):
        values, observed = example_inputs(model, batch, seed=seed)
        assert 0 < int((~observed).sum()) < observed.numel()  # some points hidden, NaN-free values
        ref = reference_outputs(model, values, observed)
        got = run_onnx(session, values.numpy(), observed.numpy())
        assert set(got) == set(PULSE_OUTPUTS)
        for name in PULSE_OUTPUTS:
            assert got[name].shape == tuple(ref[name].shape), name
            assert got[name].shape[0] == batch
            diff = float(np.abs(got[name] - ref[name].numpy()).max())
            assert diff < ATOL, (name, batch, diff)
    # the reference is the model's own forward: raw-unit reconstructions = denormalize(forward)
    out = model(values, observed)
    np.testing.assert_allclose(
        ref["recon_fft"].numpy(), model.denormalize(out["recon_fft"], out).detach().numpy(), rtol=0, atol=0
    )


def test_pulse_onnx_ignores_values_at_hidden_points(pulse_files: tuple[Any, Path, Path]) -> None:
    model, path, _ = pulse_files
    session = onnx_session(path)
    values, observed = example_inputs(model, 2, seed=5)
    with_nan = values.numpy().copy()
    with_nan[~observed.numpy()] = np.nan
    a = run_onnx(session, with_nan, observed.numpy())
    b = run_onnx(session, values.numpy(), observed.numpy())
    for name in PULSE_OUTPUTS:
        assert np.isfinite(a[name]).all(), name
        np.testing.assert_array_equal(a[name], b[name])


def test_pulse_int8_loads_and_stays_close(pulse_files: tuple[Any, Path, Path]) -> None:
    model, path, quant = pulse_files
    assert quant.name == "tinypulse.int8.onnx" and quant.is_file()
    assert quant.stat().st_size < 0.6 * path.stat().st_size  # measured 1.70 MiB vs 3.74 MiB
    session = onnx_session(quant)
    ops = {n.op_type for n in __import__("onnx").load(str(quant)).graph.node}
    assert "DynamicQuantizeLinear" in ops and "DFT" in ops
    drift = compare_onnx(model, quant)
    # Dynamic INT8 quantises weights to 1/127 of their range and every MatMul's input per tensor per
    # call, through 13 mixer layers. Measured (in units of each series' std): mean 0.11-0.35 %, max
    # 0.7-1.1 % for the raw-unit outputs; embedding mean 0.6 %, max 9 % of its own std. The bounds
    # are about 3-5x that; the statistics pass through no quantised MatMul and stay exact.
    for name in ("recon", "recon_fft", "forecast"):
        assert drift[name]["mean_rel"] < 0.01 and drift[name]["max_rel"] < 0.05, (name, drift[name])
    assert drift["embedding"]["mean_rel"] < 0.03 and drift["embedding"]["max_rel"] < 0.5
    for name in ("mean", "std"):
        assert drift[name]["max_abs"] < ATOL
    values, observed = example_inputs(model, 4, seed=9)
    got = run_onnx(session, values.numpy(), observed.numpy())
    assert all(np.isfinite(v).all() for v in got.values())


def test_tinycast_onnx_matches_torch_and_forecast_api(tiny_cast: TinyCast, tmp_path: Path) -> None:
    from tinyts.tasks.forecast.api import forecast

    path = export_onnx(tiny_cast, tmp_path / "cast.onnx", observed_dtype="float32")
    session = onnx_session(path)
    assert session.get_inputs()[1].type == "tensor(float)"
    assert [o.name for o in session.get_outputs()] == ["quantiles", "mean", "coarse"]
    for seed, batch in enumerate((1, 3)):
        values, observed = example_inputs(tiny_cast, batch, seed=seed)
        got = run_onnx(session, values.numpy(), observed.numpy())
        assert got["quantiles"].shape == (batch, 1, 32, 9) and got["coarse"].shape == (batch, 1, 4, 9)
        ref = reference_outputs(tiny_cast, values, observed)
        for name, r in ref.items():
            assert float(np.abs(got[name] - r.numpy()).max()) < ATOL, name
        # the public API with the same strategy gives the same quantiles (it runs in float64 after
        # the model; NaN marks the hidden points there)
        x = values.numpy().astype(np.float64)
        x[~observed.numpy()] = np.nan
        res = forecast(tiny_cast, x, 32, strategy="coarse", sifi=False)
        np.testing.assert_allclose(got["quantiles"], res.quantiles, atol=ATOL, rtol=0)
        np.testing.assert_allclose(got["mean"], res.mean, atol=ATOL, rtol=0)
    assert compare_onnx(tiny_cast, path)["quantiles"]["max_abs"] < ATOL


def test_cli_exports_a_checkpoint_folder(tmp_path: Path) -> None:
    import typer

    from tinyts.cli import export as cli_export

    torch.manual_seed(1)
    # TSPulse-style mask token and a fine-tuned channel mixer: the other code paths of the wrapper
    cfg = PulseConfig(
        context_length=64, d_model=8, num_layers=1, decoder_layers=1, num_registers=2, forecast_length=4,
        fill="token", channel_mixing=2,
    )  # fmt: skip
    folder = TinyPulse(cfg).save_pretrained(tmp_path / "ckpt")
    app = typer.Typer()
    cli_export.register(app)
    out = tmp_path / "sub" / "tiny.onnx"
    res = CliRunner().invoke(app, ["export", "onnx", str(folder), "--out", str(out), "--opset", "20"])
    assert res.exit_code == 0, res.output
    assert out.is_file() and "float32 parity" in res.output and "recon_fft" in res.output
    import onnx

    proto = onnx.load(str(out))
    assert any(op.domain in ("", "ai.onnx") and op.version == 20 for op in proto.opset_import)
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["tinyts_model_type"] == "tinypulse" and meta["context_length"] == "64"
    assert onnx_session(out).get_inputs()[0].shape == ["batch", 2, 64]
    diffs = compare_onnx(folder, out)
    assert max(d["max_abs"] for d in diffs.values()) < ATOL


def test_fixed_batch_export(tmp_path: Path) -> None:
    torch.manual_seed(2)
    cfg = PulseConfig(context_length=32, d_model=4, num_layers=1, decoder_layers=1, num_registers=1)
    tiny = TinyPulse(cfg).eval()
    path = export_onnx(tiny, tmp_path / "fixed.onnx", batch_dynamic=False)
    assert onnx_session(path).get_inputs()[0].shape == [1, 1, 32]
    diffs = compare_onnx(tiny, path)  # reads the batch (1) from the file
    assert max(d["max_abs"] for d in diffs.values()) < ATOL


def _cli(args: list[str]) -> Any:
    import typer

    from tinyts.cli import export as cli_export

    app = typer.Typer()
    cli_export.register(app)
    return CliRunner().invoke(app, args)


def test_cli_unknown_model_is_a_clear_error(tmp_path: Path) -> None:
    res = _cli(["export", "onnx", "no-such-model", "--out", str(tmp_path / "x.onnx")])
    assert res.exit_code == 2
    assert "unknown model 'no-such-model'" in res.output and "tinypulse" in res.output
    assert not (tmp_path / "x.onnx").exists()


def test_unwritable_path_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    res = _cli(["export", "onnx", "tinypulse", "--out", str(blocker / "x.onnx")])
    assert res.exit_code == 2 and "cannot write the ONNX file" in res.output
    with pytest.raises(OSError, match="cannot write the ONNX file"):
        export_onnx("tinypulse", blocker / "x.onnx")
    with pytest.raises(IsADirectoryError, match="it is a folder"):
        export_onnx("tinypulse", tmp_path)


def test_bad_options_and_missing_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="opset must be at least 17"):
        export_onnx("tinypulse", tmp_path / "x.onnx", opset=16)
    with pytest.raises(ValueError, match="observed_dtype"):
        export_onnx("tinypulse", tmp_path / "x.onnx", observed_dtype="int8")
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # as if not installed
    with pytest.raises(ImportError, match=r'pip install "tinyts\[onnx\]"'):
        export_onnx("tinypulse", tmp_path / "x.onnx")
    res = _cli(["export", "onnx", "tinypulse", "--out", str(tmp_path / "x.onnx")])
    assert res.exit_code == 2 and "tinyts[onnx]" in res.output


def test_onnx_speed_case_runs_the_cached_file(pulse_files: tuple[Any, Path, Path], tmp_path: Path) -> None:
    from tinyts.export.speed import cache_path, onnx_speed_case

    _, path, quant = pulse_files
    cached = cache_path("tinypulse", cache_dir=tmp_path)  # pre-fill the cache: no second export here
    cached.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, cached)
    shutil.copy(quant, int8_path(cached))
    for int8 in (False, True):
        call, info = onnx_speed_case("tinypulse", 3, threads=1, int8=int8, cache_dir=tmp_path)
        outs = call()
        assert outs[0].shape == (3, 1, 512) and np.isfinite(outs[0]).all()
        assert info["ort_threads"] == 1 and info["int8"] is int8 and info["params"] > 0
