import sys, glob, numpy as np, os
from sklearn.linear_model import RidgeClassifierCV
from tinyts.tasks.classify.frozen import standardise, ALPHAS
sys.path.insert(0, "/tmp/cls"); from eval1 import sub
LAY = [4,8,11,13]
def run(ptr, pte, mtr, mte, ytr, yte, ws):
    lp, sp = standardise(ptr); lm, sm = standardise(mtr)
    best = None
    out = {}
    for w in ws:
        wp = w*np.sqrt(mtr.shape[1]/ptr.shape[1])
        ztr = np.concatenate([(ptr-lp)/sp*wp, (mtr-lm)/sm],1) if w else (mtr-lm)/sm
        zte = np.concatenate([(pte-lp)/sp*wp, (mte-lm)/sm],1) if w else (mte-lm)/sm
        r = RidgeClassifierCV(alphas=np.asarray(ALPHAS)).fit(ztr, ytr)
        acc = (r.predict(zte) == yte).mean()
        out[w] = (r.best_score_, acc)
    wbest = max(out, key=lambda w: out[w][0])
    return out, wbest
names = sys.argv[1:]
accs = []
for name in names:
    d = np.load(f"/tmp/cls/{name}.npz"); C = int(d["C"])
    out, wb = run(sub(d["ftr"], C, LAY), sub(d["fte"], C, LAY), d["mtr"], d["mte"], d["ytr"], d["yte"], [0, 0.25, 0.5, 1.0, 2.0])
    accs.append((out[0][1], out[wb][1]))
    print(name, "chosen", wb, out[wb][1], " ".join(f"w{w}:{s:.3f}/{a:.3f}" for w,(s,a) in out.items()), flush=True)
print("MEAN mr %.4f cv-hybrid %.4f" % tuple(np.mean(accs, 0)))
