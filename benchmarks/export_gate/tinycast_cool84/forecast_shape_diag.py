"""How the forecasts of the bundled TinyCast (b84) and a cool-down (cool84c) differ on ETT validation windows."""
import numpy as np
from pathlib import Path
from tinyts.bench.core import BenchContext, SuiteResult
import tinyts.bench.suites._pretrain_val_cast as val
from tinyts.bench.ours import cast_forecaster
from tinyts.bench.peers.forecasters import ForecastSetup
from tinyts.models.base import resolve
from tinyts.models.cast import TinyCast
from tinyts.train.state import load_checkpoint
import json
ctx = BenchContext(data_dir=Path("../shared/data"), quick=False, seed=0, out_dir=Path("/tmp/diagout"), datasets=(), options={})
res = SuiteResult("x")
sets = val.ltsf_val_data(ctx, ("ETTh1", "ETTm1"), res)
from tinyts.train.recipes import model_from_meta
def load(run):
    st = json.loads((Path(run) / "checkpoint/state.json").read_text())
    m = model_from_meta(st["meta"])
    from safetensors.torch import load_file
    m.load_state_dict(load_file(Path(run) / "checkpoint/model.safetensors")); m.eval(); return m
models = {"b84": load("/tmp/gates/b84"), "cool84c": load("/tmp/gates/cool84c")}
for name, data in sets:
    c, t, _ = data.series(data.starts, 96)
    out = {}
    for m, net in models.items():
        fn = cast_forecaster(ForecastSetup(period=data.period, seed=0), net)
        o = fn(c, 96)
        out[m] = (np.asarray(o.point), np.asarray(o.quantiles))
    last = c[:, -1:]
    for m, (p, q) in out.items():
        mae = np.abs(p - t).mean()
        amp = np.std(p, axis=1).mean() / np.std(c[:, -96:], axis=1).mean()
        drift = np.abs(p.mean(1) - c[:, -96:].mean(1)).mean()
        width = (q[:, :, -1] - q[:, :, 0]).mean() if q.ndim == 3 else float("nan")
        print(f"{name} {m}: MAE {mae:.4f}  forecast std / last-96 std {amp:.3f}  |mean shift| {drift:.3f}  80% width {width:.3f} qshape {q.shape}")
    d = out["cool84c"][0] - out["b84"][0]
    print(f"{name}: mean |cool - b84| {np.abs(d).mean():.4f}; corr of errors {np.corrcoef((out['b84'][0]-t).ravel(), (out['cool84c'][0]-t).ravel())[0,1]:.3f}")
