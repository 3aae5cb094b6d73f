"""Independent NumPy/SciPy reference implementations of ByzSim's aggregation rules.

Run: python3 reference.py  → writes inputs.csv (13 x 40, float32-exact) and expected.json.
These implementations follow the papers directly in d-space (covariance eigenvectors, SVD,
Weiszfeld in R^d), not ByzSim's n-space/Gram formulations, so agreement is a real check.
"""
import itertools, json
import numpy as np
from scipy.cluster.hierarchy import linkage

rng = np.random.default_rng(20260101)
n, d, f = 13, 40, 3
honest = rng.normal(0.5, 1.0, size=(n - f, d))
byz = rng.normal(-4.0, 3.0, size=(f, d))
X = np.vstack([honest, byz]).astype(np.float32).astype(np.float64)
samples = rng.integers(16, 64, size=n)

def mean(X, s): return (X * s[:, None]).sum(0) / s.sum()
def median(X): return np.median(X, axis=0)
def trimmed(X, f): return np.sort(X, axis=0)[f:len(X) - f].mean(0)
def sqd(X): return ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
def krum_scores(X, f):
    D = sqd(X); m = len(X)
    return np.array([np.sort(np.delete(D[i], i))[:m - f - 2].sum() for i in range(m)])
def rank(sc, X):
    # ascending score; near-ties (relative 1e-6) broken by the lexicographically smaller row
    import functools
    def cmp(a, b):
        if abs(sc[a] - sc[b]) > 1e-6 * max(abs(sc[a]), abs(sc[b])): return -1 if sc[a] < sc[b] else 1
        for x, y in zip(X[a], X[b]):
            if x != y: return -1 if x < y else 1
        return a - b
    return sorted(range(len(sc)), key=functools.cmp_to_key(cmp))
def krum(X, f): return X[rank(krum_scores(X, f), X)[0]]
def multikrum(X, f, m): return X[sorted(rank(krum_scores(X, f), X)[:m])].mean(0)
def geomed(X, s, nu=1e-6, iters=100, tol=1e-10):
    a = s / s.sum(); z = (X * a[:, None]).sum(0)
    obj = (a * np.linalg.norm(X - z, axis=1)).sum()
    for _ in range(iters):
        b = a / np.maximum(nu, np.linalg.norm(X - z, axis=1))
        z = (X * b[:, None]).sum(0) / b.sum()
        new = (a * np.linalg.norm(X - z, axis=1)).sum()
        if abs(obj - new) <= tol * max(new, 1e-30): break
        obj = new
    return z
def closest_to_median(X, keep):
    med = np.median(X, axis=0)
    idx = np.argsort(np.abs(X - med), axis=0, kind="stable")[:keep]
    return np.take_along_axis(X, idx, axis=0).mean(0)
def meamed(X, f): return closest_to_median(X, len(X) - f)
def bulyan(X, f):
    rem = list(range(len(X))); sel = []
    D = sqd(X)
    while len(sel) < len(X) - 2 * f:
        m = len(rem); sub = D[np.ix_(rem, rem)]
        sc = [np.sort(np.delete(sub[i], i))[:max(1, m - f - 2)].sum() for i in range(m)]
        sel.append(rem.pop(rank(sc, X[rem])[0]))
    S = X[sorted(sel)]
    return closest_to_median(S, len(S) - 2 * f)
def cc(X, v, tau, L=1):
    for _ in range(L):
        diff = X - v; nr = np.linalg.norm(diff, axis=1)
        v = v + (diff * np.minimum(1, tau / nr)[:, None]).mean(0)
    return v
def mda(X, f):
    D = np.sqrt(sqd(X)); best, bs = np.inf, None
    for S in itertools.combinations(range(len(X)), len(X) - f):
        dia = max(D[i, j] for i, j in itertools.combinations(S, 2))
        if dia < best: best, bs = dia, S
    return X[list(bs)].mean(0)
def monna(X, f, pivot=0):
    dist = np.linalg.norm(X - X[pivot], axis=1)
    return X[np.sort(np.argsort(dist, kind="stable")[:len(X) - f])].mean(0)
def caf(X, f):
    m = len(X); c = np.ones(m); best, bl = None, np.inf
    while c.sum() > m - 2 * f:
        mu = (c[:, None] * X).sum(0) / c.sum(); Z = X - mu
        cov = (c[:, None, None] * np.einsum("ij,ik->ijk", Z, Z)).sum(0) / c.sum()
        w, V = np.linalg.eigh(cov); lam, v = w[-1], V[:, -1]
        if lam < bl: bl, best = lam, mu
        tau = (Z @ v) ** 2
        live = c > 0  # tau_max over rows that still carry weight (ByzSim's stated variant)
        c = np.where(live, c * np.clip(1 - tau / tau[live].max(), 0, None), 0)
    return best
def fltrust(X, g0):
    cos = X @ g0 / (np.linalg.norm(X, axis=1) * np.linalg.norm(g0)); ts = np.maximum(cos, 0)
    Xn = X * (np.linalg.norm(g0) / np.linalg.norm(X, axis=1))[:, None]
    return (ts[:, None] * Xn).sum(0) / ts.sum()
def foolsgold_alpha(H, kappa=1.0):
    m = len(H); Hn = H / np.linalg.norm(H, axis=1)[:, None]
    cs = Hn @ Hn.T - np.eye(m)
    v = cs.max(1)
    for i in range(m):
        for j in range(m):
            if i != j and v[j] > v[i]: cs[i, j] *= v[i] / v[j]
    a = np.clip(1 - cs.max(1), 0, 1); a = a / a.max(); a[a == 1] = 0.99
    with np.errstate(divide="ignore"):
        a = kappa * (np.log(a / (1 - a)) + 0.5)
    a[np.isinf(a)] = 0
    return np.clip(a, 0, 1)
def dnc(X, f, niters=5, c=1.0):
    good = set(range(len(X)))
    for _ in range(niters):
        Z = X - X.mean(0); _, _, Vt = np.linalg.svd(Z, full_matrices=False)
        s = (Z @ Vt[0]) ** 2
        good &= set(np.argsort(s, kind="stable")[:len(X) - int(c * f)].tolist())
    return X[sorted(good)].mean(0)
def norm_bounding(X, s, M):
    nr = np.linalg.norm(X, axis=1); Y = X * np.minimum(1, M / nr)[:, None]
    return (Y * s[:, None]).sum(0) / s.sum()
def flame(X):
    m = len(X); Xn = X / np.linalg.norm(X, axis=1)[:, None]
    C = np.clip(1 - Xn @ Xn.T, 0, None)
    cond = C[np.triu_indices(m, 1)]
    Z = linkage(cond, method="single")
    clusters = {i: [i] for i in range(m)}; need = m // 2 + 1; adm = list(range(m))
    for k, (a, b, _, size) in enumerate(Z):
        clusters[m + k] = clusters.pop(int(a)) + clusters.pop(int(b))
        if size >= need: adm = sorted(clusters[m + k]); break
    nr = np.linalg.norm(X, axis=1); S = np.median(nr)
    return (X[adm] * np.minimum(1, S / nr[adm])[:, None]).mean(0)
def signguard(X, lower=0.1, upper=3.0):
    # coordinate_fraction = 1 → features over every coordinate; mean shift with flat kernel
    nr = np.linalg.norm(X, axis=1); M = np.median(nr)
    s1 = set(np.where((nr / M >= lower) & (nr / M <= upper))[0].tolist())
    F = np.stack([(X > 0).mean(1), (X == 0).mean(1), (X < 0).mean(1)], 1)
    m = len(F); k = max(1, int(m * 0.3))
    h = np.mean([np.sort(np.linalg.norm(F - F[i], axis=1))[k - 1] for i in range(m)])
    modes = []
    for p in F:
        c = p.copy()
        for _ in range(300):
            near = F[np.linalg.norm(F - c, axis=1) <= h]; nxt = near.mean(0)
            moved = np.linalg.norm(nxt - c); c = nxt
            if moved < 1e-3 * h: break
        modes.append((c, int((np.linalg.norm(F - c, axis=1) <= h).sum())))
    order = sorted(range(m), key=lambda i: (-modes[i][1], i)); kept = []
    for i in order:
        if not any(np.linalg.norm(q - modes[i][0]) < h for q in kept): kept.append(modes[i][0])
    lab = [int(np.argmin([np.linalg.norm(q - p) for q in kept])) for p in F]
    counts = {l: lab.count(l) for l in set(lab)}
    big = max(sorted(counts), key=lambda l: counts[l])
    s2 = {i for i in range(m) if lab[i] == big}
    S = sorted(s1 & s2) or sorted(s1)
    return (X[S] * np.minimum(1, M / nr[S])[:, None]).mean(0)
def nnm(X, f):
    D = sqd(X); k = len(X) - f
    return np.stack([X[np.argsort(D[i], kind="stable")[:k]].mean(0) for i in range(len(X))])
def arc(X, f):
    m = len(X); k = int(2 * f / m * (m - f)); nr = np.linalg.norm(X, axis=1)
    order = np.argsort(nr, kind="stable"); thr = nr[order[m - k - 1]]; Y = X.copy()
    for i in order[m - k:]: Y[i] *= thr / nr[i]
    return Y

g0 = X[:n - f].mean(0) + 0.1
H2 = X + X[::-1]  # FoolsGold: histories after two rounds (X, then X reversed)
expected = {
    "mean": mean(X, samples), "median": median(X), "trimmed_mean": trimmed(X, f),
    "krum": krum(X, f), "multi_krum": multikrum(X, f, n - f), "geometric_median": geomed(X, samples),
    "bulyan_f2": bulyan(X, 2), "centered_clipping_round1": cc(X, np.zeros(d), 5.0),
    "mda": mda(X, f), "meamed": meamed(X, f), "monna": monna(X, f), "caf": caf(X, f),
    "fltrust": fltrust(X, g0), "dnc": dnc(X, f), "norm_bounding": norm_bounding(X, samples, 2.0),
    "flame": flame(X), "signguard": signguard(X),
    "nnm_then_mean": nnm(X, f).mean(0), "arc_then_mean": arc(X, f).mean(0),
}
expected["centered_clipping_round2"] = cc(X[::-1].copy(), expected["centered_clipping_round1"], 5.0)
a1 = foolsgold_alpha(X); expected["foolsgold_round1"] = (a1[:, None] * X).sum(0) / a1.sum()
a2 = foolsgold_alpha(H2); Xr = X[::-1]; expected["foolsgold_round2"] = (a2[:, None] * Xr).sum(0) / a2.sum()
np.savetxt("inputs.csv", X, delimiter=",", fmt="%.9g")
with open("expected.json", "w") as fh:
    json.dump({"samples": samples.tolist(), "reference": g0.tolist(),
               "expected": {k: np.asarray(v).tolist() for k, v in expected.items()}}, fh, indent=1)
print("wrote", len(expected), "reference vectors")
