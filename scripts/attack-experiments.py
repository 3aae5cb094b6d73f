#!/usr/bin/env python3
"""Runs experiments/attacks/*.toml (issue 5) and prints the figures the closing note reports.

Usage: python3 scripts/attack-experiments.py [--processes] [--jobs 2]
Each topology runs with `byzsim run --json` (threads unless --processes) under runs/experiments/.
"""
import argparse, concurrent.futures as cf, glob, json, os, subprocess, sys

p = argparse.ArgumentParser()
p.add_argument("--processes", action="store_true")
p.add_argument("--jobs", type=int, default=2)
p.add_argument("--binary", default=".build/release/byzsim")
a = p.parse_args()

def run(path):
    cmd = [a.binary, "run", path, "--runs-dir", "runs/experiments", "--json"] + ([] if a.processes else ["--threads"])
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        return path, None, out.stderr.strip().splitlines()[-1:]
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    metrics = [json.loads(l) for l in open(os.path.join(summary["run_dir"], "metrics.jsonl"))]
    return path, summary, metrics

files = sorted(glob.glob("experiments/attacks/*.toml"))
with cf.ThreadPoolExecutor(a.jobs) as ex:
    results = list(ex.map(run, files))
print(f"{'experiment':28} {'final acc':>9} {'final loss':>10} {'ASR':>6}")
for path, s, m in results:
    name = os.path.basename(path)[:-5]
    if s is None:
        print(f"{name:28} failed: {m}"); continue
    asr = "-" if s["attack_success_rate"] is None else f"{s['attack_success_rate']:.3f}"
    print(f"{name:28} {s['test_accuracy']:9.4f} {s['test_loss']:10.4f} {asr:>6}")
    if name.startswith("replacement"):
        ev = [x for x in m if x["test_accuracy"] is not None]
        before = [x for x in ev if x["round"] < 150][-1]
        after = [x for x in ev if x["round"] >= 150]
        line = ", ".join(f"r{x['round']+1}: asr {x['attack_success_rate']:.3f} acc {x['test_accuracy']:.4f} loss {x['test_loss']:.4f}" for x in after[:5])
        print(f"    before (r{before['round']+1}): asr {before['attack_success_rate']:.3f} acc {before['test_accuracy']:.4f} loss {before['test_loss']:.4f}")
        print(f"    after: {line}")
