import sys, time, json, numpy as np, torch
torch.set_num_threads(1)
from tinyts.data.discover import find_classification
from tinyts.nn.interp import resample_cases
from tinyts.tasks.classify.data import as_cases, check_labels
from tinyts.tasks.classify.frozen import layer_summaries, standardise, fit_ridge, rocket_length_for
from tinyts.models.base import load
from aeon.transformations.collection.convolution_based import MiniRocket
pulse = load("tinypulse").eval()
ALL = list(range(14))
res = {}
only = sys.argv[1:]
for p in find_classification("/work/shared/data"):
    if only and p.name not in only: continue
    tr, te = p.load()
    classes, ytr = check_labels(np.asarray(tr.y).astype(str), len(tr.y))
    yte = np.searchsorted(classes, np.asarray(te.y).astype(str))
    vtr, otr, ltr = as_cases(tr.X); vte, ote, lte = as_cases(te.X)
    xtr, obtr = resample_cases(vtr, otr, ltr, 512); xte, obte = resample_cases(vte, ote, lte, 512)
    t0 = time.perf_counter()
    ftr = layer_summaries(pulse, xtr, obtr, ALL).numpy(); t_enc = time.perf_counter() - t0
    fte = layer_summaries(pulse, xte, obte, ALL).numpy()
    L = rocket_length_for(ltr)
    rtr, _ = resample_cases(vtr, otr, ltr, L); rte, _ = resample_cases(vte, ote, lte, L)
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    mr = MiniRocket(n_jobs=1, random_state=0).fit(rtr.numpy())
    mtr = np.asarray(mr.transform(rtr.numpy()), np.float32); t_mr = time.perf_counter() - t0
    mte = np.asarray(mr.transform(rte.numpy()), np.float32)
    torch.set_num_threads(1)
    np.savez(f"/tmp/cls/{p.name}.npz", ftr=ftr, fte=fte, mtr=mtr, mte=mte, ytr=ytr, yte=yte, C=vtr.shape[1], t_enc=t_enc, t_mr=t_mr)
    print(p.name, vtr.shape, L, f"enc {t_enc:.2f}s mr {t_mr:.2f}s", flush=True)
