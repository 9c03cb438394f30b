"""Development comparison (issue 18): TinyCast checkpoints on short histories of held-back corpus series.

The cases of ``cast_short_upsample_dev.py`` (corpus series held back from pre-training, never the M3 /
NN3 / NN5 evaluation files; origins at the end and every ``h`` steps before it, ``L`` history points),
here with ``L`` from 6 to 45 so that histories shorter than one 16-point patch are included, scored
for each checkpoint given: relative MASE to seasonal naive (geometric mean over cases) and relative WQL,
per frequency and per history length.

Run: ``python benchmarks/experiments/cast_short_dev.py OUT.json MODEL [MODEL ...]`` (bundled names or
checkpoint folders).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
import cast_short_upsample_dev as dev

from tinyts.models.base import resolve
from tinyts.models.cast import TinyCast
from tinyts.tasks.forecast.api import forecast

dev.LENGTHS = (6, 10, 14, 20, 30, 45)


def main() -> None:
    out_path = Path(sys.argv[1])
    names = sys.argv[2:]
    torch.set_num_threads(1)
    data_by_freq = dev.cases(Path("../shared/corpus"))
    out: dict = {"lengths": dev.LENGTHS, "origins": dev.ORIGINS, "models": names, "results": {}}
    for name in names:
        model = resolve(name, TinyCast)
        for freq, data in data_by_freq.items():
            h, m = dev.HORIZON[freq], dev.PERIOD[freq]
            q = np.asarray(forecast(model, [x for x, _ in data], h, quantiles=tuple(dev.LEVELS)).quantiles)
            q = q.reshape(len(data), h, -1).astype(np.float64)
            lengths = np.array([len(x) for x, _ in data])
            r = dev.scores(data, q[:, :, 4], q, m)
            out["results"][f"{name}/{freq}"] = r
            ratio = r["rel_mase_vs_naive"]
            line = [f"{freq} all {r['gmean_case_rel_mase']:.4f} (ratio of means {ratio:.4f})"]
            for length in dev.LENGTHS:
                sel = lengths == length
                if sel.any():
                    sub = [d for d, s in zip(data, sel, strict=True) if s]
                    rl = dev.scores(sub, q[sel, :, 4], q[sel], m)
                    out["results"][f"{name}/{freq}/L{length}"] = rl
                    line.append(f"L{length} {rl['gmean_case_rel_mase']:.3f}")
            print(name, " ".join(line), flush=True)
    out_path.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
