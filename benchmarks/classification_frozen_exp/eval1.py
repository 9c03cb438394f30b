import sys, glob, numpy as np, os, time
from tinyts.tasks.classify.frozen import standardise, fit_ridge
S = 288
def sub(f, C, layers, parts=None):
    n = len(f); body = f[:, :C*14*S].reshape(n, C, 14, S)[:, :, layers]
    if parts is not None: body = body[..., parts]
    return np.concatenate([body.reshape(n, -1), f[:, C*14*S:]], 1)
def ridge_acc(Xtr, ytr, Xte, yte, ret_scores=False):
    loc, sc = standardise(Xtr)
    coef, b, a = fit_ridge((Xtr-loc)/sc, ytr)
    s = ((Xte-loc)/sc) @ coef.T + b
    pred = (s[:,0] > 0).astype(int) if s.shape[1]==1 else s.argmax(1)
    return (pred == yte).mean(), s
def hybrid(ptr, pte, mtr, mte, ytr, yte, w):
    lp, sp = standardise(ptr); lm, sm = standardise(mtr)
    wp = w*np.sqrt(mtr.shape[1]/ptr.shape[1])
    ztr = np.concatenate([(ptr-lp)/sp*wp, (mtr-lm)/sm],1); zte = np.concatenate([(pte-lp)/sp*wp, (mte-lm)/sm],1)
    coef,b,a = fit_ridge(ztr, ytr); s = zte@coef.T+b
    pred = (s[:,0] > 0).astype(int) if s.shape[1]==1 else s.argmax(1)
    return (pred==yte).mean()
V = {
 "L13": [13], "L11": [11], "L8": [8], "L4": [4], "L0": [0],
 "4-8-11-13": [4,8,11,13], "even": [2,4,6,8,10,12,13], "all": list(range(14)), "6-13": [6,13], "3-6-9-13":[3,6,9,13],
}
names = sys.argv[1:] or sorted(os.path.basename(f)[:-4] for f in glob.glob("/tmp/cls/*.npz"))
tab = {}
for name in names:
    d = np.load(f"/tmp/cls/{name}.npz"); C = int(d["C"])
    ytr, yte = d["ytr"], d["yte"]
    r = {}
    for k, ls in V.items():
        r[k] = ridge_acc(sub(d["ftr"], C, ls), ytr, sub(d["fte"], C, ls), yte)[0]
    r["mr"] = ridge_acc(d["mtr"], ytr, d["mte"], yte)[0]
    ptr, pte = sub(d["ftr"], C, [4,8,11,13]), sub(d["fte"], C, [4,8,11,13])
    for w in (0.5, 1.0, 2.0):
        r[f"hyb{w}"] = hybrid(ptr, pte, d["mtr"], d["mte"], ytr, yte, w)
    tab[name] = r
    print(name, " ".join(f"{k}={v:.3f}" for k, v in r.items()), f"enc={float(d['t_enc']):.1f} mr={float(d['t_mr']):.1f}", flush=True)
keys = list(next(iter(tab.values())).keys())
print("MEAN", len(tab), " ".join(f"{k}={np.mean([t[k] for t in tab.values()]):.4f}" for k in keys))
