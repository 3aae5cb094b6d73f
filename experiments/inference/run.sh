#!/usr/bin/env bash
# experiments/inference: every figure of the inference-integrity experiments — robust accuracy
# against ε with and without adversarial training (evasion.sh), extraction fidelity against the
# query budget per output policy (extraction.sh), watermark survival (watermark.sh), and what a
# leaking backdoor gives its receiver per policy, budget and query auditor (leakage.sh) — then
# `byzsim report` draws them into OUT_DIR/report.html.
# Usage: experiments/inference/run.sh [OUT_DIR]   (after `make release`; about 4 minutes on 2 cores)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
B=${BYZSIM:-$root/.build/release/byzsim}
out=${1:-$root/runs/inference-$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$out"
for part in evasion extraction watermark leakage; do
  "$here/$part.sh" "$out" > /dev/null
done
"$B" report "$out"
