"""Inference switches of the bundled TinyCast on validation data only (issue 18).

``tinyts bench forecasting_ablation`` measures the inference switches on the LTSF *test* splits, which may
report them but must not choose them. This script scores the same model with several option sets on the
validation data of ``tinyts bench pretrain_ablation`` (LTSF validation windows of ETTh1 and ETTm1, and the
corpus series held back from pre-training, 4 origins each), with that suite's paired bootstrap, so that a
default can be chosen where it is allowed to be.

Run: ``python benchmarks/experiments/cast_inference_val.py DATA_DIR CORPUS OUT.json NAME=JSON_OPTIONS ...``,
e.g. ``default={} no_symmetry={"symmetry":false}``; the model is the bundled ``tinycast``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

import tinyts.bench.suites._pretrain_val_cast as val
from tinyts.bench.core import BenchContext, SuiteResult
from tinyts.bench.ours import bundled_model, cast_forecaster
from tinyts.bench.suites.pretrain_ablation import DATASETS


def main() -> None:
    data_dir, corpus, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    variants: dict[str, dict[str, Any]] = {}
    for arg in sys.argv[4:]:
        name, _, options = arg.partition("=")
        variants[name] = json.loads(options)
    torch.set_num_threads(1)
    net = bundled_model("tinycast")
    # score_cast_runs calls cast_forecaster(setup, model) per run; each "model" here is a variant's options
    val.cast_forecaster = lambda setup, opts: cast_forecaster(setup, net, **opts)  # type: ignore[assignment]
    ctx = BenchContext(data_dir=data_dir, out_dir=out.parent)
    result = SuiteResult()
    start = time.perf_counter()
    val.score_cast_runs(ctx, result, variants, DATASETS, corpus)
    rows = [
        {"dataset": r.dataset, "method": r.method, "metric": r.metric, "value": r.value, **r.extra}
        for r in result.rows
    ]
    summary = {
        "variants": variants,
        "seconds": round(time.perf_counter() - start, 1),
        "notes": result.notes,
        "rows": rows,
    }
    out.write_text(json.dumps(summary, indent=1, default=str) + "\n", encoding="utf-8")
    for r in rows:
        if r["dataset"] == "all" or r["metric"] == "val_rel_mase":
            print(r)


if __name__ == "__main__":
    main()
