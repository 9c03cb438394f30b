"""Do the frozen multi-layer TinyPulse features beat the single-pass embedding in `tinyts bench retrieval`?

Adds embedders to the retrieval suite in-process (nothing in the suite is changed) and runs it:
  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/classification_frozen_exp/retrieval_multilayer.py OUT_DIR
"""

import sys

import numpy as np
import torch

from tinyts.bench import run_suite
from tinyts.bench.ours import bundled_model
from tinyts.bench.suites import retrieval
from tinyts.tasks.classify.frozen import DEFAULT_LAYERS, layer_summaries

torch.set_num_threads(1)


def multilayer(parts: str):
    def embed(database, queries, seed):
        model = bundled_model("tinypulse").eval()
        out = []
        for X in (database, queries):
            x = torch.from_numpy(retrieval.znorm(X)).float()[:, None, :]
            f = layer_summaries(model, x, torch.ones_like(x, dtype=torch.bool), DEFAULT_LAYERS).numpy()
            f = f[:, :-2]  # drop level / log-scale (queries are rescaled copies)
            f = f.reshape(len(f), len(DEFAULT_LAYERS), -1)
            d = 24
            if parts == "pooled":
                f = f[:, :, : 4 * d]
            out.append(f.reshape(len(f), -1))
        loc, sd = out[0].mean(0), out[0].std(0) + 1e-6  # standardised with database statistics
        return tuple(((o - loc) / sd).astype(np.float32) for o in out)

    return embed


retrieval.METHODS["tinypulse_multilayer"] = multilayer("all")
retrieval.METHODS["tinypulse_multilayer_pooled"] = multilayer("pooled")
payload = run_suite(
    "retrieval",
    data_dir="/work/shared/data",
    out_dir=sys.argv[1],
    methods=["tinypulse_1pass", "tinypulse_multilayer", "tinypulse_multilayer_pooled"],
)
for r in payload["rows"]:
    if r["metric"] == "p_at_3":
        print(r["dataset"], r["method"], round(r["value"], 3))
