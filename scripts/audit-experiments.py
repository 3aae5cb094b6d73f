#!/usr/bin/env python3
"""Runs experiments/audit/*.toml (issue 6) and prints detection figures per attack.

Usage: python3 scripts/audit-experiments.py [--jobs 2]
"""
import argparse, concurrent.futures as cf, glob, json, os, subprocess

p = argparse.ArgumentParser()
p.add_argument("--jobs", type=int, default=2)
p.add_argument("--binary", default=".build/release/byzsim")
a = p.parse_args()

def run(path):
    out = subprocess.run([a.binary, "run", path, "--runs-dir", "runs/experiments", "--json", "--threads"], capture_output=True, text=True)
    if out.returncode != 0:
        return path, None
    return path, json.loads(out.stdout.strip().splitlines()[-1])

files = sorted(glob.glob("experiments/audit/*.toml"))
with cf.ThreadPoolExecutor(a.jobs) as ex:
    results = list(ex.map(run, files))
print(f"{'attack':12} {'acc':>6} {'prec':>5} {'recall':>6} {'F1':>5} {'FPR':>5}  first detection      best auditors (AUC)")
for path, s in results:
    name = os.path.basename(path)[:-5]
    if s is None:
        print(f"{name:12} failed"); continue
    d = s["detection"]
    f = lambda v: "-" if v is None else f"{v:.2f}"
    first = ",".join("-" if v is None else str(v) for _, v in sorted(d["rounds_to_first_detection"].items()))
    auc = sorted(((v, k) for k, v in d["auc"].items() if v is not None), reverse=True)[:3]
    print(f"{name:12} {s['test_accuracy']:6.4f} {f(d['precision']):>5} {f(d['recall']):>6} {f(d['f1']):>5} {f(d['false_positive_rate']):>5}  {first:20} " + ", ".join(f"{k} {v:.2f}" for v, k in auc))
