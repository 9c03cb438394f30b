import sys, numpy as np
sys.path.insert(0, "/tmp/cls"); from eval1 import sub, ridge_acc
LAY=[4,8,11,13]; res=[]
def sm(s):
    s = np.concatenate([-s, s], 1) if s.shape[1]==1 else s
    e = np.exp(5*(s - s.max(1, keepdims=True))); return e/e.sum(1, keepdims=True)
for name in sys.argv[1:]:
    d=np.load(f"/tmp/cls/{name}.npz"); C=int(d["C"]); yte=d["yte"]
    ap, sp = ridge_acc(sub(d["ftr"],C,LAY), d["ytr"], sub(d["fte"],C,LAY), yte)
    am, smr = ridge_acc(d["mtr"], d["ytr"], d["mte"], yte)
    row=[am, ap]
    for w in (0.2, 0.35, 0.5):
        p = (1-w)*sm(smr) + w*sm(sp); row.append((p.argmax(1)==yte).mean())
    res.append(row); print(name, np.round(row,3), flush=True)
print("MEAN mr, pulse, avg0.2, avg0.35, avg0.5", np.round(np.mean(res,0),4))
