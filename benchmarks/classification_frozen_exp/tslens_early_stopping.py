import sys, time, numpy as np, torch
torch.set_num_threads(1)
import tinyts.tasks.classify as C
print(C.__file__)
from tinyts.data.discover import find_classification
from tinyts.models.base import load
pulse = load("tinypulse")
for p in find_classification("/work/shared/data"):
    if p.name not in sys.argv[1:]: continue
    tr, te = p.load()
    kw = {"method": "tslens"} if "method" in C.PulseClassifier.__init__.__code__.co_varnames else {}
    t = time.perf_counter(); clf = C.PulseClassifier(pulse, seed=0, **kw).fit(tr.X, np.asarray(tr.y).astype(str)); ft = time.perf_counter() - t
    last = int(clf.history_[-1]["step"]) if clf.history_ else 0
    print(p.name, "acc %.4f fit %.1f s best_step %s checks %d last_step %d" % (clf.score(te.X, np.asarray(te.y).astype(str)), ft, clf.best_step_, len(clf.history_), last), flush=True)
