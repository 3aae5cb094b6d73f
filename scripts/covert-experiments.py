#!/usr/bin/env python3
"""Runs experiments/covert/*.toml (issue 6, covert channels) as processes and prints, per
experiment: final accuracy, its cost against the baseline with the same aggregator, the
receiver's figures, and whether the auditors caught the sender.

Usage: python3 scripts/covert-experiments.py [--jobs 2] [--seeds 1,2,3] [--binary .build/release/byzsim]
"""
import argparse, concurrent.futures as cf, glob, json, os, re, subprocess

p = argparse.ArgumentParser()
p.add_argument("--jobs", type=int, default=2)
p.add_argument("--binary", default=".build/release/byzsim")
p.add_argument("--seeds", default="1", help="comma-separated seeds; figures are means over them")
a = p.parse_args()
seeds = [int(s) for s in a.seeds.split(",")]
os.makedirs("runs/experiments/covert-topologies", exist_ok=True)

def run(job):
    path, seed = job
    # The experiment file with its seed replaced (a copy next to the runs, never the original).
    text = re.sub(r"(?m)^seed = \d+", f"seed = {seed}", open(path).read())
    copy = f"runs/experiments/covert-topologies/{os.path.basename(path)[:-5]}-seed{seed}.toml"
    open(copy, "w").write(text)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    out = subprocess.run([a.binary, "run", copy, "--runs-dir", "runs/experiments", "--json"], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        return path, None, out.stderr.strip().splitlines()[-1:]
    return path, json.loads(out.stdout.strip().splitlines()[-1]), None

def mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None

files = sorted(glob.glob("experiments/covert/*.toml"))
with cf.ThreadPoolExecutor(a.jobs) as ex:
    raw = list(ex.map(run, [(f, s) for f in files for s in seeds]))
results = {}
for f in files:
    runs = [(s, e) for p, s, e in raw if p == f]
    ok = [s for s, _ in runs if s is not None]
    if len(ok) < len(runs):
        results[os.path.basename(f)[:-5]] = (None, [e for _, e in runs if e])
        continue
    merged = dict(ok[0])
    merged["test_accuracy"] = mean([s["test_accuracy"] for s in ok])
    if ok[0].get("covert"):
        merged["covert"] = [dict(c, measures={k: mean([s["covert"][i]["measures"][k] for s in ok]) for k in c["measures"]})
                            for i, c in enumerate(ok[0]["covert"])]
    dets = [s.get("detection") for s in ok]
    if dets[0]:
        merged["detection"] = dict(dets[0], recall=mean([d["recall"] for d in dets]),
                                   false_positive_rate=mean([d["false_positive_rate"] for d in dets]),
                                   rounds_to_first_detection={k: [d["rounds_to_first_detection"][k] for d in dets] for k in dets[0]["rounds_to_first_detection"]})
    results[os.path.basename(f)[:-5]] = (merged, None)

def base_of(name):
    return "baseline-median" if name.endswith("-median") else "baseline"

KEYS = {
    "mantissa": ["bytes_per_round", "fraction_recovered", "secret_fraction_recovered"],
    "sign_encoding": ["bits", "bit_accuracy", "initial_bit_accuracy", "pixel_error"],
    "correlated_value": ["images", "pixel_error", "initial_pixel_error", "correlation"],
    "capacity_abuse": ["bits", "label_accuracy", "initial_label_accuracy", "bit_accuracy", "bits_recovered"],
}
print(f"seeds {seeds}; figures are means over them")
print(f"{'experiment':26} {'acc':>6} {'cost':>6}  {'caught (first rounds)':22}  receiver figures")
for name, (s, err) in sorted(results.items()):
    if s is None:
        print(f"{name:26} failed: {err}"); continue
    base = results.get(base_of(name), (None, None))[0]
    cost = f"{(base['test_accuracy'] - s['test_accuracy']) * 100:+.2f}" if base else "-"
    d = s.get("detection")
    if not d:
        caught = "-"
    elif not d["malicious"]:
        caught = f"n/a, FPR {d['false_positive_rate']:.2f}"
    else:
        firsts = [v for vs in d["rounds_to_first_detection"].values() for v in vs]
        caught = f"recall {d['recall']:.2f} (" + ",".join("-" if v is None else str(v) for v in firsts) + ")"
    figures = ""
    for c in s.get("covert") or []:
        m = c["measures"]
        figures += c["channel"] + ": " + ", ".join(f"{k} {m[k]:.4g}" for k in KEYS[c["channel"]] if k in m)
    print(f"{name:26} {s['test_accuracy']:6.4f} {cost:>6}  {caught:22}  {figures}")
print("cost: accuracy points lost against baseline.toml (baseline-median.toml for *-median).")
