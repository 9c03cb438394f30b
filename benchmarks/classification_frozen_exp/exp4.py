import sys, numpy as np, torch
torch.set_num_threads(1)
from tinyts.tasks.classify.frozen import standardise, fit_ridge
def ridge_acc(Xtr, ytr, Xte, yte):
    loc, sc = standardise(Xtr); coef, b, a = fit_ridge((Xtr-loc)/sc, ytr); s = ((Xte-loc)/sc) @ coef.T + b
    pred = (s[:,0] > 0).astype(int) if s.shape[1]==1 else s.argmax(1)
    return (pred == yte).mean(), s
from tinyts.data.discover import find_classification
from tinyts.data.masks import block_mask
from tinyts.nn.interp import resample_cases
from tinyts.tasks.classify.data import as_cases, check_labels
from tinyts.tasks.classify.frozen import layer_summaries
from tinyts.models.base import load
pulse = load("tinypulse").eval(); LAY=[4,8,11,13]
def at_len(v,o,l,L):
    x, ob = resample_cases(v,o,l,L)
    if L == 512: return x, ob
    n,c,_ = x.shape; X = torch.zeros(n,c,512); O = torch.zeros(n,c,512,dtype=torch.bool)
    X[:,:,:L]=x; O[:,:,:L]=ob; return X, O
res=[]
for p in find_classification("/work/shared/data"):
    if p.name in ("PenDigits",): continue
    tr, te = p.load()
    classes, ytr = check_labels(np.asarray(tr.y).astype(str), len(tr.y)); yte = np.searchsorted(classes, np.asarray(te.y).astype(str))
    a = as_cases(tr.X); b = as_cases(te.X)
    f = {}
    for L in (512, 256):
        f[L] = [layer_summaries(pulse, *at_len(*s, L), LAY).numpy() for s in (a, b)]
    base = ridge_acc(f[512][0], ytr, f[512][1], yte)[0]
    ml = ridge_acc(np.concatenate([f[512][0], f[256][0]],1), ytr, np.concatenate([f[512][1], f[256][1]],1), yte)[0]
    rng = np.random.default_rng(0); tta=[]
    for (v,o,l), F0 in zip((a,b), f[512]):
        x, ob = resample_cases(v,o,l,512); acc=[F0]
        for k in range(2):
            hide = torch.from_numpy(block_mask((len(x),512), 0.3, 8, rng)); o2 = ob & ~hide[:,None,:]
            o2 = torch.where(o2.any(2, keepdim=True), o2, ob)
            acc.append(layer_summaries(pulse, x, o2, LAY).numpy())
        tta.append(np.mean(acc,0))
    t = ridge_acc(tta[0], ytr, tta[1], yte)[0]
    res.append((base, ml, t)); print(p.name, np.round(res[-1],3), flush=True)
print("MEAN base, multilength(512+256), tta(3 views)", np.round(np.mean(res,0),4), len(res))
