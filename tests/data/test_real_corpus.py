"""Tests of the real-series corpus (tinyts.data.real_corpus): loading .tsf folders, windows, the
benchmark-name guard, the window-overlap leakage check, and mixing real windows into synth_batch.
Tiny folders in tmp_path; the check on the shared corpus runs only where both folders exist."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tinyts.data.real_corpus import (
    RealCorpus,
    benchmark_match,
    benchmark_names,
    corpus_origins,
    window_overlap,
)
from tinyts.data.synth.corpus import (
    BROAD_MIX,
    SOURCES,
    SyntheticCorpus,
    data_source_lines,
    resolve_mix,
    synth_batch,
)

REPO = Path(__file__).resolve().parents[2]
SHARED_CORPUS = Path(os.environ.get("TINYTS_CORPUS", REPO.parent / "shared" / "corpus"))
SHARED_DATA = Path(os.environ.get("TINYTS_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(autouse=True)
def _no_env_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TINYTS_DATA", raising=False)


def fmt(v: float) -> str:
    return "?" if np.isnan(v) else repr(float(v))


def write_tsf(path: Path, series: dict[str, np.ndarray], frequency: str = "daily") -> Path:
    lines = [
        f"@relation {path.stem}",
        "@attribute series_name string",
        "@attribute start_timestamp date",
        f"@frequency {frequency}",
        f"@missing {'true' if any(np.isnan(s).any() for s in series.values()) else 'false'}",
        "@equallength false",
        "@data",
    ]
    for name, s in series.items():
        lines.append(f"{name}:2020-01-01 00-00-00:" + ",".join(fmt(v) for v in s))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_ltsf(path: Path, cols: dict[str, np.ndarray]) -> Path:
    n = len(next(iter(cols.values())))
    rows = ["date," + ",".join(cols)]
    for i in range(n):
        stamp = f"2020-01-{1 + i // 24:02d} {i % 24:02d}:00:00"
        rows.append(stamp + "," + ",".join(repr(float(c[i])) for c in cols.values()))
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    d = tmp_path / "corpus"
    d.mkdir()
    rng = np.random.default_rng(0)
    long = np.cumsum(rng.standard_normal(600))
    gappy = np.cumsum(rng.standard_normal(400))
    gappy[100:150] = np.nan
    write_tsf(d / "alpha.tsf", {"long": long, "gappy": gappy, "tiny": np.arange(5.0)})
    write_tsf(d / "beta.tsf", {"short": rng.standard_normal(40)}, frequency="monthly")
    (d / "SOURCES.md").write_text(
        "| file | origin repo | license |\n|---|---|---|\n| `alpha.tsf` | `someone/alpha` | MIT |\n",
        encoding="utf-8",
    )
    return d


def test_load_and_metadata(corpus_dir: Path) -> None:
    c = RealCorpus(corpus_dir)
    assert len(c) == 3 and c.skipped == 1  # "tiny" (5 points) is below min_length 16
    assert c.files == ["alpha.tsf", "beta.tsf"]
    assert sorted(c.names) == ["alpha.tsf:gappy", "alpha.tsf:long", "beta.tsf:short"]
    assert c.points == 600 + 400 + 40
    assert c.frequencies == ["daily", "monthly"]
    assert len(RealCorpus(corpus_dir, min_length=2)) == 4


def is_crop(row: np.ndarray, series: list[np.ndarray]) -> bool:
    for s in series:
        for start in range(s.size - row.size + 1):
            if np.array_equal(s[start : start + row.size], row, equal_nan=True):
                return True
    return False


def test_windows_crop_and_left_pad(corpus_dir: Path) -> None:
    c = RealCorpus(corpus_dir)
    w = c.windows(np.random.default_rng(1), 60, 100)
    assert w.shape == (60, 100)
    np.testing.assert_array_equal(w, c.windows(np.random.default_rng(1), 60, 100))
    short_rows = 0
    for row in w:
        lead = int(np.argmax(~np.isnan(row))) if not np.isnan(row).all() else 100
        if lead == 60:  # the 40-point series, left-padded with 60 NaN
            short_rows += 1
            assert np.isnan(row[:60]).all() and np.isfinite(row[60:]).all()
        else:
            assert is_crop(row, c.series)
    assert short_rows > 0
    only_long = c.windows(np.random.default_rng(2), 20, 100, min_length=500)
    assert all(is_crop(r, [c.series[c.names.index("alpha.tsf:long")]]) for r in only_long)


def test_cut_windows_place_short_series_at_a_forecast_origin(corpus_dir: Path) -> None:
    c = RealCorpus(corpus_dir)
    short = c.series[c.names.index("alpha.tsf:gappy")], c.series[c.names.index("beta.tsf:short")]
    w = c.cut_windows(np.random.default_rng(4), 80, 500, 300, min_history=16)
    assert w.shape == (80, 500)
    np.testing.assert_array_equal(w, c.cut_windows(np.random.default_rng(4), 80, 500, 300, min_history=16))
    cuts = set()
    for row in w:
        assert np.isfinite(row[299])  # the origin is observed
        present = np.flatnonzero(~np.isnan(row))
        # the series' points are one contiguous run (gaps inside allowed), history then future
        span = row[present[0] : present[-1] + 1]
        assert any(is_crop(span, [s]) for s in short)  # only series shorter than the window
        hist = int(np.sum(~np.isnan(row[:300])))
        assert hist >= 16  # min_history points before the origin
        cuts.add(hist)
        # history + future never exceed the series: nothing after its end
        assert present[-1] - present[0] + 1 <= 400
    assert len(cuts) > 10  # random origins
    # the 600-point series is as long as the window: never drawn (whole windows are sample()'s job)
    for row in c.cut_windows(np.random.default_rng(0), 20, 600, 300):
        present = np.flatnonzero(~np.isnan(row))
        assert present[-1] - present[0] + 1 <= 400
    with pytest.raises(ValueError, match="between"):
        c.cut_windows(np.random.default_rng(0), 4, 30, 20)
    with pytest.raises(ValueError, match="context"):
        c.cut_windows(np.random.default_rng(0), 4, 100, 100)
    lines = c.cut_source_lines(0.1, 500)
    assert lines[0].startswith("real_short: 2 real series of 17 to 499 points, 440 points")
    assert [ln.split(":")[1].strip() for ln in lines[1:]] == ["alpha.tsf (daily)", "beta.tsf (monthly)"]


def test_sample_is_finite_whole_windows(corpus_dir: Path) -> None:
    c = RealCorpus(corpus_dir)
    x = c.sample(np.random.default_rng(3), 50, 300)
    assert x.shape == (50, 300) and np.isfinite(x).all()
    assert all(is_crop(r, c.series) for r in x)  # NaN windows were redrawn, not filled
    with pytest.raises(ValueError, match="points"):
        c.sample(np.random.default_rng(0), 4, 1000)


def test_guard_refuses_benchmark_names(tmp_path: Path) -> None:
    names = benchmark_names()
    for bad in ("ETTh1.tsf", "m4_hourly.tsf", "M3-monthly.tsf", "nn5_daily_dataset.tsf", "my_traffic.tsf"):
        assert benchmark_match(bad, names) is not None, bad
    for good in ("vic_elec.tsf", "tsdl_daily.tsf", "gefcom2012_load.tsf", "pbs.tsf", "aus_retail.tsf"):
        assert benchmark_match(good, names) is None, good
    d = tmp_path / "c"
    d.mkdir()
    write_tsf(d / "ok.tsf", {"a": np.arange(50.0)})
    write_tsf(d / "exchange_rate.tsf", {"a": np.arange(50.0)})
    with pytest.raises(ValueError, match="exchange_rate"):
        RealCorpus(d)


def test_guard_uses_discovered_names(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "UCR" / "Wafer").mkdir(parents=True)
    for split in ("TRAIN", "TEST"):
        (data / "UCR" / "Wafer" / f"Wafer_{split}.tsv").write_text("1\t0.1\t0.2\t0.3\n", encoding="utf-8")
    write_ltsf(data / "plant_load.csv", {"a": np.arange(30.0)})
    names = benchmark_names(data)
    assert {"wafer", "plant_load"} <= names
    d = tmp_path / "c"
    d.mkdir()
    write_tsf(d / "wafer_copy.tsf", {"a": np.arange(50.0)})
    RealCorpus(d)  # without the data folder the fixed list does not know "wafer"
    with pytest.raises(ValueError, match="wafer"):
        RealCorpus(d, data_dir=data)


def test_window_overlap_planted_and_clean(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    data_vals = np.round(rng.normal(10.0, 3.0, 500), 3)
    data = tmp_path / "data"
    data.mkdir()
    write_ltsf(data / "plant.csv", {"a": data_vals, "b": rng.normal(size=500)})
    clean, leaky = tmp_path / "clean", tmp_path / "leaky"
    clean.mkdir()
    leaky.mkdir()
    write_tsf(clean / "x.tsf", {"s": np.round(rng.normal(10.0, 3.0, 300), 3)})
    copied = np.concatenate([rng.normal(size=50), data_vals[200:300] * (1 + 1e-12), rng.normal(size=50)])
    write_tsf(leaky / "x.tsf", {"s": np.round(rng.normal(size=300), 3), "copy": copied})

    r0 = window_overlap(clean, data, window=64)
    assert r0.matches == [] and r0.errors == [] and r0.corpus_windows == 300 - 63
    assert r0.data_windows == 2 * (500 - 63) and r0.data_series == 2

    r1 = window_overlap(leaky, data, window=64)
    assert len(r1.matches) == 1
    m = r1.matches[0]
    assert m.corpus == "x.tsf:copy" and m.data == "plant.csv:a"
    assert m.windows == 100 - 64 + 1 and m.corpus_start == 50 and m.data_start == 200
    assert m.distinct > 50 and "1 series pairs" in r1.summary()


def test_window_overlap_sets_aside_low_information_windows(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    binary = (rng.random(300) < 0.1).astype(float)
    data, corpus = tmp_path / "data", tmp_path / "corpus"
    data.mkdir()
    corpus.mkdir()
    write_ltsf(data / "cmd.csv", {"a": binary})
    write_tsf(corpus / "counts.tsf", {"s": binary[100:200]})
    r = window_overlap(corpus, data, window=64)
    assert r.matches == [] and len(r.trivial) == 1 and r.trivial[0].distinct == 2
    assert len(window_overlap(corpus, data, window=64, min_distinct=2).matches) == 1


def test_corpus_origins(corpus_dir: Path) -> None:
    assert corpus_origins(corpus_dir) == {"alpha.tsf": "someone/alpha (license: MIT)"}
    lines = RealCorpus(corpus_dir).source_lines(share=0.2)
    assert "20 % of each batch" in lines[0]
    assert lines[1].startswith("real: alpha.tsf (daily): 2 series") and "someone/alpha" in lines[1]
    assert "origin not documented" in lines[2]


def test_synth_batch_with_real(corpus_dir: Path) -> None:
    mix = {"synth": 0.5, "real": 0.5}
    x = synth_batch(64, 200, seed=0, mix=mix, real=corpus_dir)
    assert x.shape == (64, 200) and x.dtype == np.float32 and np.isfinite(x).all()
    np.testing.assert_array_equal(x, synth_batch(64, 200, seed=0, mix=mix, real=RealCorpus(corpus_dir)))
    series32 = [s.astype(np.float32) for s in RealCorpus(corpus_dir).series]
    real_rows = sum(is_crop(r, series32) for r in x)
    assert 15 < real_rows < 50
    with pytest.raises(ValueError, match="real"):
        synth_batch(8, 64, seed=0, mix=mix)
    corpus = SyntheticCorpus(100, batch_size=8, seed=1, mix=mix, real=corpus_dir)
    assert np.isfinite(corpus.sample()).all()


def test_resolve_mix_and_source_lines(corpus_dir: Path) -> None:
    assert resolve_mix() is None and resolve_mix(None, 0.0) is None
    broad = resolve_mix("broad")
    assert broad == BROAD_MIX and set(broad) == set(SOURCES) - {"real", "ets"}  # 'broad' is frozen
    assert len(set(broad.values())) == 1  # equal weights
    with_real = resolve_mix("broad", 0.2)
    assert with_real is not None and with_real["real"] == pytest.approx(0.2)
    assert sum(with_real.values()) == pytest.approx(1.0)
    old = resolve_mix(None, 0.25)
    assert old is not None and old["synth"] == pytest.approx(0.45) and old["real"] == 0.25
    with pytest.raises(ValueError, match="unknown mix"):
        resolve_mix("nope")
    with pytest.raises(ValueError):
        resolve_mix("broad", 1.0)
    lines = data_source_lines("broad")
    assert len(lines) == len(BROAD_MIX) and all("%" in line for line in lines)
    assert lines[3].startswith("cauker: causal kernel graphs")
    real_lines = data_source_lines(with_real, real=corpus_dir)
    assert any(line.startswith("real: alpha.tsf") for line in real_lines)
    with pytest.raises(ValueError, match="real"):
        data_source_lines(with_real)


@pytest.mark.slow
def test_shared_corpus_has_no_benchmark_windows() -> None:
    """The real leakage check on the shared corpus vs the shared benchmark data (about 40 s here)."""
    if not (SHARED_CORPUS.is_dir() and SHARED_DATA.is_dir()):
        pytest.skip(
            f"needs the shared corpus ({SHARED_CORPUS}) and benchmark data ({SHARED_DATA}); "
            "set TINYTS_CORPUS / TINYTS_DATA to run it"
        )
    report = window_overlap(SHARED_CORPUS, SHARED_DATA, window=64)
    assert report.errors == []
    assert report.corpus_windows > 1_000_000 and report.data_windows > 1_000_000
    assert report.matches == [], report.summary()


def test_ablation_recipes_differ_only_in_data_keys(tmp_path: Path) -> None:
    import torch

    from tinyts.train.recipes import build_trainer, load_recipe

    base = load_recipe("tinypulse")
    data_keys = {"mix", "real_dir", "real_share"}
    recipes = {n: load_recipe(f"ablations/{n}") for n in ("pulse_oldmix", "pulse_broad", "pulse_broad_real")}
    for r in recipes.values():
        assert r["model_config"] == base["model_config"]
        assert r["train"] == {**base["train"], "steps": 7813}  # 7,813 x 64 = 500,032 samples
        assert {k: v for k, v in r["objective"].items() if k not in data_keys} == base["objective"]
        assert all(isinstance(line, str) for line in r["data_sources"])
    assert recipes["pulse_oldmix"]["objective"]["mix"] == "default"
    assert recipes["pulse_broad"]["objective"]["mix"] == "broad"
    assert recipes["pulse_broad_real"]["objective"]["real_share"] == 0.2
    assert any(s.startswith("real: ") for s in recipes["pulse_broad_real"]["data_sources"])
    # the old-mix recipe draws exactly the batches of the bundled recipe; the broad one does not
    ref = build_trainer(base, tmp_path / "a").batch_fn(3, 0)
    old = build_trainer(recipes["pulse_oldmix"], tmp_path / "b").batch_fn(3, 0)
    broad = build_trainer(recipes["pulse_broad"], tmp_path / "c").batch_fn(3, 0)
    assert all(torch.equal(ref[k], old[k]) for k in ref)
    assert not torch.equal(ref["x"], broad["x"]) and torch.isfinite(broad["x"]).all()


def test_objectives_take_real_windows(corpus_dir: Path) -> None:
    from tinyts.models.cast import CastConfig
    from tinyts.models.pulse import PulseConfig
    from tinyts.train.cast_objective import CastObjective
    from tinyts.train.pulse_objective import PulseObjective

    pcfg = PulseConfig(context_length=128, forecast_length=16, d_model=8, num_layers=1)
    pulse = PulseObjective(batch_size=16, mix="broad", real_dir=str(corpus_dir), real_share=0.5)
    b = pulse.batch(0, 0, pcfg)
    assert b["x"].shape == (16, 1, 144) and bool(b["x"].isfinite().all())
    ccfg = CastConfig(context_length=128, patch_length=16, coarse_horizon=64, d_model=16, num_layers=1)
    cast = CastObjective(batch_size=8, mv_batch_size=0, real_dir=str(corpus_dir), real_share=0.3)
    assert bool(cast.batch(0, 0, ccfg)["x"].isfinite().all())
    with pytest.raises(ValueError, match="real"):
        PulseObjective(batch_size=4, real_share=0.5).batch(0, 0, pcfg)


def test_holdout_split_is_fixed_and_disjoint(tmp_path: Path) -> None:
    """Held-back series: chosen by a hash of the name, disjoint from training, never in a training batch."""
    from tinyts.data.real_corpus import HOLDOUT, is_held_back
    from tinyts.data.synth.corpus import _load_real

    rng = np.random.default_rng(3)
    d = tmp_path / "c"
    d.mkdir()
    # a constant level per series identifies which series a window came from
    write_tsf(d / "many.tsf", {f"s{i}": 1000.0 * i + rng.standard_normal(300) for i in range(60)})
    names = [f"many.tsf:s{i}" for i in range(60)]
    held = {n for n in names if is_held_back(n, HOLDOUT)}
    assert 0 < len(held) < 20  # about 10 % of 60
    assert held == {n for n in names if is_held_back(n, HOLDOUT)}  # deterministic
    train = RealCorpus(d, holdout=HOLDOUT)
    back = RealCorpus(d, holdout=HOLDOUT, split="heldout")
    assert set(back.names) == held and set(train.names) == set(names) - held
    assert train.other_side == len(held) and back.other_side == 60 - len(held)
    assert len(RealCorpus(d)) == 60  # holdout 0 = every series
    assert "held back for validation" in train.source_lines()[0]
    # the folder form used by pre-training holds the same series back
    loaded = _load_real(str(d.resolve()))
    assert loaded.names == train.names
    level = np.round(loaded.sample(np.random.default_rng(0), 500, 64).mean(axis=1) / 1000.0)
    held_ids = {int(n.split(":s")[1]) for n in held}
    assert not held_ids & set(level.astype(int).tolist())
    with pytest.raises(ValueError, match="holdout must be"):
        RealCorpus(d, holdout=1.0)
    with pytest.raises(ValueError, match="split must be"):
        RealCorpus(d, split="test")


def test_real_recipe_card_lines_match_the_corpus() -> None:
    """The model-card lines written in the real-data recipe are what the corpus loader states today."""
    if not SHARED_CORPUS.is_dir():
        pytest.skip(f"needs the shared corpus ({SHARED_CORPUS}); set TINYTS_CORPUS to run it")
    from tinyts.data.synth.corpus import data_source_lines, real_corpus, resolve_mix
    from tinyts.train.recipes import load_recipe

    for name in ("ablations/pulse_broad_real", "tinypulse-broad", "tinypulse-long"):
        r = load_recipe(name)
        o, cfg = r["objective"], r["model_config"]
        mix = resolve_mix(o["mix"], o["real_share"])
        length = cfg["context_length"] + cfg["forecast_length"]
        assert r["data_sources"] == data_source_lines(mix, real=SHARED_CORPUS, length=length), name
    # TinyCast: its windows are context + coarse horizon long; the multivariate and augmentation
    # lines of the objective follow the mix's lines
    r = load_recipe("tinycast-broad")
    o, cfg = r["objective"], r["model_config"]
    length = cfg["context_length"] + cfg["coarse_horizon"]
    lines = data_source_lines(resolve_mix(o["mix"], o["real_share"]), real=SHARED_CORPUS, length=length)
    assert r["data_sources"][: len(lines)] == lines
    assert [s.split(":")[0] for s in r["data_sources"][len(lines) :]] == [
        "tinyts.data.synth.synth_multivariate",
        "augmentations",
    ]
    # with short real series: their lines first (from the loader), a note, then tinycast-broad's lines
    short = load_recipe("tinycast-broad-short")
    o = short["objective"]
    n_short = round(o["batch_size"] * o["real_short_share"])
    cut = real_corpus(SHARED_CORPUS).cut_source_lines(n_short / o["batch_size"], length)
    assert short["data_sources"][: len(cut)] == cut
    assert short["data_sources"][len(cut)].startswith("note: the shares of the sources below are of the 54")
    assert short["data_sources"][len(cut) + 1 :] == r["data_sources"]
    # with simulated ETS models besides: the same short-series lines and note, then its own mix's lines
    ets = load_recipe("tinycast-broad-ets")
    o = ets["objective"]
    assert (
        o["mix"] == "broad_ets"
        and ets["data_sources"][: len(cut) + 1] == short["data_sources"][: len(cut) + 1]
    )
    mixed = data_source_lines(resolve_mix(o["mix"], o["real_share"]), real=SHARED_CORPUS, length=length)
    assert ets["data_sources"][len(cut) + 1 :] == [*mixed, *r["data_sources"][len(lines) :]]
    assert any(line.startswith("ets: ") for line in mixed)


def test_cut_windows_can_even_out_frequencies(corpus_dir: Path) -> None:
    c = RealCorpus(corpus_dir)
    eligible = (c.lengths > 16) & (c.lengths < 500)  # gappy (400, daily) and short (40, monthly)
    plain = c.frequency_shares(eligible)
    assert plain["daily"] == pytest.approx(20 / (20 + 40**0.5))  # weights: points ** 0.5
    assert c.frequency_shares(eligible, 1.0) == pytest.approx({"daily": 0.5, "monthly": 0.5})
    half = c.frequency_shares(eligible, 0.5)
    assert 0.5 < half["daily"] < plain["daily"]
    # balance 0 draws exactly as before; 1 draws each frequency about as often
    np.testing.assert_array_equal(
        c.cut_windows(np.random.default_rng(5), 50, 500, 300),
        c.cut_windows(np.random.default_rng(5), 50, 500, 300, balance=0.0),
    )
    w = c.cut_windows(np.random.default_rng(5), 2000, 500, 300, balance=1.0)
    monthly = np.isnan(w[:, : 300 - 39]).all(axis=1) & (np.isnan(w[:, 300:]).sum(axis=1) > 150)
    assert 0.45 < monthly.mean() < 0.55
    with pytest.raises(ValueError, match="balance"):
        c.cut_windows(np.random.default_rng(5), 5, 500, 300, balance=1.5)
