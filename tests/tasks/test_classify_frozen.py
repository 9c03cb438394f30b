"""PulseClassifier's frozen-feature methods (frozen, hybrid): learning, checkpoints without pickle, inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors import safe_open
from typer.testing import CliRunner

from tinyts.cli.main import app
from tinyts.models.base import load
from tinyts.models.pulse import TinyPulse
from tinyts.nn.interp import resample_cases
from tinyts.tasks.classify.api import PulseClassifier
from tinyts.tasks.classify.data import as_cases
from tinyts.tasks.classify.frozen import (
    DEFAULT_LAYERS,
    PulseFrozen,
    default_layers,
    layer_summaries,
    rocket_inputs,
    rocket_length_for,
)
from tinyts.testing import random_tiny
from tinyts.train.finetune_classify import progress_line

torch.set_num_threads(1)


def _problem(n: int, channels: int = 1, length: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three classes: 2, 5 or 9 cycles of a sine with random phase, amplitude and offset, plus noise."""
    rng = np.random.default_rng(seed)
    k = rng.integers(0, 3, n)
    y = np.array(["two", "five", "nine"])[k]
    t = np.linspace(0, 1, length)
    freq = np.array([2.0, 5.0, 9.0])[k][:, None, None]
    amp = rng.uniform(0.5, 3.0, (n, 1, 1))
    X = amp * np.sin(2 * np.pi * freq * t + rng.uniform(0, 6.3, (n, channels, 1)))
    X = X + rng.uniform(-5, 5, (n, channels, 1)) + 0.2 * rng.standard_normal((n, channels, length))
    return X, y


@pytest.fixture(scope="module")
def pulse() -> TinyPulse:
    model = load("tinypulse")
    assert isinstance(model, TinyPulse)
    return model


@pytest.mark.parametrize("method", ["frozen", "hybrid"])
def test_frozen_methods_learn_and_round_trip_without_pickle(
    pulse: TinyPulse, method: str, tmp_path: Path
) -> None:
    X, y = _problem(45, seed=0)
    Xt, yt = _problem(45, seed=1)
    clf = PulseClassifier(pulse, method=method, seed=0).fit(X, y)
    assert isinstance(clf.model_, PulseFrozen) and clf.best_step_ is None
    assert clf.score(Xt, yt) >= 0.9  # three frequencies; chance is 1/3
    proba = clf.predict_proba(Xt)
    assert proba.shape == (45, 3) and (proba >= 0).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    np.testing.assert_array_equal(clf.predict(Xt), clf.classes_[proba.argmax(axis=1)])
    folder = clf.save_pretrained(tmp_path / method)
    assert {p.name for p in folder.iterdir()} == {"config.json", "model.safetensors"}
    with safe_open(str(folder / "model.safetensors"), "pt") as fh:
        names = set(fh.keys())
    assert {"coef", "intercept", "feat_loc", "feat_scale"} <= names
    assert ("rocket_biases" in names) == (method == "hybrid")
    assert ("rocket_coef" in names) == (method == "hybrid")
    back = PulseClassifier.from_pretrained(folder)
    assert back.method == method
    np.testing.assert_array_equal(back.predict_proba(Xt), proba)
    np.testing.assert_array_equal(back.classes_, clf.classes_)


def test_stored_minirocket_matches_aeons_fitted_transformer() -> None:
    from aeon.transformations.collection.convolution_based import MiniRocket

    X, y = _problem(20, channels=2, length=40, seed=2)
    clf = PulseClassifier(random_tiny("pulse"), method="hybrid", seed=3).fit(X, y)
    model = clf.model_
    assert isinstance(model, PulseFrozen) and model.config.rocket_length == 40
    rx = X.astype(np.float32)
    reference = MiniRocket(n_jobs=1, random_state=3).fit(rx)
    for ours, theirs in zip(model.rocket_parameters(), reference.parameters, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(model.rocket_features(rx), reference.transform(rx))
    assert torch.get_num_threads() == 1  # aeon's thread reset is undone


def test_layer_summaries_are_the_token_statistics(pulse: TinyPulse) -> None:
    x = torch.randn(3, 2, 512)
    obs = torch.rand(3, 2, 512) > 0.1
    pc = pulse.config
    feats = layer_summaries(pulse, x, obs, [13, 4])
    per = (4 + pc.num_registers) * pc.d_model
    assert feats.shape == (3, 2 * (2 * per) + 4)
    with torch.no_grad():
        xin, _, spec = pulse.prepare(x, obs)
        h = pulse.encode(xin, spec, obs)  # after encoder and decoder = layer 13
    n_t, n_f = pc.num_patches, pc.num_fft_patches
    first = feats[:, :per]  # channel 0, layer 13 (the order given)
    torch.testing.assert_close(first[:, : pc.d_model], h[:, 0, :n_t].mean(1), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(
        first[:, 3 * pc.d_model : 4 * pc.d_model], h[:, 0, n_t : n_t + n_f].amax(1), rtol=1e-4, atol=1e-5
    )
    torch.testing.assert_close(
        first[:, 4 * pc.d_model :], h[:, 0, n_t + n_f :].flatten(1), rtol=1e-4, atol=1e-5
    )


def test_default_layers_follow_the_depth(pulse: TinyPulse) -> None:
    assert default_layers(pulse.config) == DEFAULT_LAYERS
    tiny = random_tiny("pulse")
    assert isinstance(tiny, TinyPulse)
    top = tiny.config.num_layers + tiny.config.decoder_layers
    got = default_layers(tiny.config)
    assert got and all(1 <= k <= top for k in got) and top in got


def test_rocket_inputs_pad_short_and_resample_long_cases() -> None:
    cases = [np.arange(5.0)[None, :], np.array([[0.0, np.nan, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]])]
    values, observed, lengths = as_cases(cases)
    assert rocket_length_for(lengths) == 9  # aeon's minimum
    out = rocket_inputs(values, observed, lengths, 9)
    np.testing.assert_allclose(out[0, 0], [0, 1, 2, 3, 4, 0, 0, 0, 0])  # zero-padded at the end
    np.testing.assert_allclose(out[1, 0], [0, 1, 2, 3, 4, 5, 6, 7, 0], atol=1e-6)  # NaN filled
    short = rocket_inputs(values, observed, lengths, 4)  # longer cases are resampled down
    assert short.shape == (2, 1, 4) and np.isfinite(short).all()
    ref, _ = resample_cases(values[:1], observed[:1], [5], 4)
    np.testing.assert_allclose(short[0], ref[0].numpy())


def test_hybrid_on_ragged_multichannel_nan_cases() -> None:
    X, y = _problem(24, channels=3, seed=4)
    rng = np.random.default_rng(0)
    cases = [x[:, : rng.integers(20, 65)].copy() for x in X]
    cases[0][1, 3:7] = np.nan
    clf = PulseClassifier(random_tiny("pulse"), seed=0).fit(cases, y)  # the default method
    assert clf.method == "hybrid" and clf.n_channels_ == 3
    proba = clf.predict_proba([cases[0], cases[1][:, :5], np.ones((3, 100))])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    with pytest.raises(ValueError, match="channel"):
        clf.predict(np.zeros((2, 2, 30)))


def test_method_and_weight_are_checked() -> None:
    with pytest.raises(ValueError, match="method must be one of"):
        PulseClassifier(method="rocket")
    with pytest.raises(ValueError, match="pulse_weight"):
        PulseClassifier(pulse_weight=1.5)
    with pytest.raises(ValueError, match="layers"):
        PulseClassifier(random_tiny("pulse"), method="frozen", layers=(99,)).fit(*_problem(9))


def test_tslens_progress_lines(capsys: pytest.CaptureFixture[str]) -> None:
    X, y = _problem(30, seed=5)
    opts = {"min_steps": 6, "max_steps": 6, "eval_every": 3, "n_views": 1, "encoder_layers": 1}
    PulseClassifier(random_tiny("pulse"), method="tslens", verbose=True, **opts).fit(X, y)
    captured = capsys.readouterr()
    out = captured.err  # progress goes to stderr; stdout stays for results
    assert captured.out == ""
    assert "[tslens: early-stopping run] step 3/6, epoch" in out
    assert "val accuracy" in out and "s left" in out and "[tslens: refit" in out
    line = progress_line("s", 5, 10, 2.0, {"train_loss": 1.0}, start=0.0)
    assert line.startswith("[s] step 5/10, epoch 2.5, train loss 1.0000") and "left" in line


def _write_tsv(path: Path, X: np.ndarray, y: np.ndarray) -> None:
    rows = ["\t".join([label, *(f"{v:.5f}" for v in case[0])]) for case, label in zip(X, y, strict=True)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_cli_method_option(tmp_path: Path) -> None:
    runner = CliRunner()
    X, y = _problem(30, seed=7)
    _write_tsv(tmp_path / "Toy_TRAIN.tsv", X, y)
    Xt, yt = _problem(20, seed=8)
    _write_tsv(tmp_path / "Toy_TEST.tsv", Xt, yt)
    for method in ("frozen", "hybrid"):
        out = tmp_path / method
        res = runner.invoke(
            app, ["classify", "fit", str(tmp_path / "Toy_TRAIN.tsv"), "--out", str(out), "--method", method]
        )
        assert res.exit_code == 0, res.output
        assert f"{method}: fitted on 30 cases" in res.stdout and "kept step" not in res.output
        # one progress line per stage on stderr, none on stdout; the library alone stays silent
        assert f"[{method}] TinyPulse features: batch" in res.stderr and "s left" in res.stderr
        assert f"[{method}] ridge fitted" in res.stderr and "[" not in res.stdout
        assert ("[hybrid] MiniRocket" in res.stderr) == (method == "hybrid")
        # the one-time numba compilation (~30 s on a fresh install) is announced, not a silent wait
        assert ("compiles its numba code" in res.stderr) == (method == "hybrid")
        target = tmp_path / f"{method}.csv"
        res = runner.invoke(
            app, ["classify", "predict", str(out), str(tmp_path / "Toy_TEST.tsv"), "--out", str(target)]
        )
        assert res.exit_code == 0 and "accuracy" in res.output, res.output
        assert len(target.read_text().splitlines()) == 21
    quiet = runner.invoke(
        app,
        ["classify", "fit", str(tmp_path / "Toy_TRAIN.tsv"), "--out", str(tmp_path / "q"), "--quiet"],
    )
    assert quiet.exit_code == 0 and quiet.stderr == "", quiet.output
    res = runner.invoke(
        app,
        [
            "classify",
            "fit",
            str(tmp_path / "Toy_TRAIN.tsv"),
            "--out",
            str(tmp_path / "x"),
            "--method",
            "nope",
        ],
    )
    assert res.exit_code == 2 and "method must be one of" in res.output


def test_frozen_fit_is_silent_unless_verbose(capsys: pytest.CaptureFixture[str]) -> None:
    X, y = _problem(20, seed=3)
    PulseClassifier(random_tiny("pulse"), method="frozen").fit(X, y)
    assert capsys.readouterr() == ("", "")
    PulseClassifier(random_tiny("pulse"), method="frozen", verbose=True).fit(X, y)
    captured = capsys.readouterr()
    assert captured.out == "" and "[frozen] TinyPulse features: batch 2/2" in captured.err


def test_predict_plot_draws_the_confusion_matrix(tmp_path: Path) -> None:
    runner = CliRunner()
    X, y = _problem(30, seed=7)
    _write_tsv(tmp_path / "Toy_TRAIN.tsv", X, y)
    Xt, yt = _problem(20, seed=8)
    _write_tsv(tmp_path / "Toy_TEST.tsv", Xt, yt)
    out = tmp_path / "frozen"
    args = ["classify", "fit", str(tmp_path / "Toy_TRAIN.tsv"), "--method", "frozen"]
    assert runner.invoke(app, [*args, "--out", str(out), "--quiet"]).exit_code == 0
    png = tmp_path / "confusion.png"
    res = runner.invoke(
        app, ["classify", "predict", str(out), str(tmp_path / "Toy_TEST.tsv"), "--plot", str(png)]
    )
    assert res.exit_code == 0, res.output
    assert f"plot -> {png}" in res.output and png.stat().st_size > 1000
    # --plot of fit belongs to tslens, which draws a training curve; the others are refused up front
    res = runner.invoke(app, [*args, "--out", str(tmp_path / "x"), "--plot", str(tmp_path / "c.png")])
    assert res.exit_code == 2 and "training curve of --method tslens" in res.output
    assert not (tmp_path / "x").exists()


def _write_long(path: Path, X: np.ndarray, y: np.ndarray | None, cols: tuple[str, str, str, str]) -> None:
    sid, time, value, label = cols
    rows = []
    for i, case in enumerate(X):
        for t, v in enumerate(case[0]):
            rows.append({sid: f"case{i}", time: t, value: v, **({label: y[i]} if y is not None else {})})
    pd.DataFrame(rows).to_csv(path, index=False)


def test_cli_long_format_csv(tmp_path: Path) -> None:
    """One row per series and time step, each series a case: what a DataFrame user has."""
    runner = CliRunner()
    X, y = _problem(30, seed=7)
    Xt, yt = _problem(20, seed=8)
    _write_long(tmp_path / "train.csv", X, y, ("unique_id", "ds", "y", "label"))
    _write_long(tmp_path / "test.csv", Xt, yt, ("unique_id", "ds", "y", "label"))
    out, target = tmp_path / "clf", tmp_path / "pred.csv"
    res = runner.invoke(app, ["classify", "fit", str(tmp_path / "train.csv"), "--out", str(out), "--quiet"])
    assert res.exit_code == 0 and "fitted on 30 cases" in res.stdout, res.output
    res = runner.invoke(
        app, ["classify", "predict", str(out), str(tmp_path / "test.csv"), "--out", str(target)]
    )
    assert res.exit_code == 0 and "predicted 20 series" in res.stdout and "accuracy" in res.stdout, res.output
    pred = pd.read_csv(target)
    assert list(pred.columns[:2]) == ["unique_id", "prediction"] and list(pred["unique_id"]) == [
        f"case{i}" for i in range(20)
    ]
    # the same fit on the same cases as the wide file: the same predictions
    _write_tsv(tmp_path / "Toy_TRAIN.tsv", X, y)
    _write_tsv(tmp_path / "Toy_TEST.tsv", Xt, yt)
    assert (
        runner.invoke(
            app, ["classify", "fit", str(tmp_path / "Toy_TRAIN.tsv"), "--out", str(tmp_path / "w"), "--quiet"]
        ).exit_code
        == 0
    )
    wide = tmp_path / "wide.csv"
    res = runner.invoke(
        app, ["classify", "predict", str(tmp_path / "w"), str(tmp_path / "Toy_TEST.tsv"), "--out", str(wide)]
    )
    assert res.exit_code == 0, res.output
    assert list(pd.read_csv(wide)["prediction"].astype(str)) == list(pred["prediction"].astype(str))
    # other names through the options; a long file read as one case per row is refused
    _write_long(tmp_path / "named.csv", X, y, ("item", "t", "value", "kind"))
    args = ["--id-col", "item", "--time-col", "t", "--target-col", "value", "--label-col", "kind"]
    res = runner.invoke(
        app, ["classify", "fit", str(tmp_path / "named.csv"), "--out", str(tmp_path / "n"), "--quiet", *args]
    )
    assert res.exit_code == 0 and "fitted on 30 cases" in res.stdout, res.output
    _write_long(tmp_path / "noid.csv", X[:1], y[:1], ("unique_id", "ds", "y", "label"))
    pd.read_csv(tmp_path / "noid.csv").drop(columns="unique_id").to_csv(tmp_path / "noid.csv", index=False)
    res = runner.invoke(app, ["classify", "fit", str(tmp_path / "noid.csv"), "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "long-format" in res.output and "--id-col" in res.output
    _write_long(tmp_path / "nolabel.csv", X, None, ("unique_id", "ds", "y", "label"))
    res = runner.invoke(app, ["classify", "fit", str(tmp_path / "nolabel.csv"), "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "--label-col" in res.output
