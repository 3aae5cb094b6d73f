#!/usr/bin/env bash
# experiments/ingestion: every ingestion-stage detector against every data attack at poison
# rates of 1%, 5%, 10% and 25% (10,000 Fashion-MNIST training images, MLP representations),
# and what sanitising buys: test accuracy and attack success after training on the clean set,
# the poisoned set and the poisoned set without each detector's flags.
# Usage: experiments/ingestion/run.sh [OUT_DIR]   (after `make release`; about 3 minutes on 2 cores)
# Writes OUT_DIR/ingestion.csv (attack,rate,set,flagged,precision,recall,f1,test_accuracy,attack_success)
# and `byzsim report`'s heatmaps.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
B=${BYZSIM:-$root/.build/release/byzsim}
out=${1:-$root/runs/ingestion-$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$out"
export OPENBLAS_NUM_THREADS=1
echo "ingestion experiment → $out" >&2
echo "attack,rate,set,flagged,precision,recall,f1,test_accuracy,attack_success" > "$out/ingestion.csv"
for attack in label_flip targeted_flip random_labels backdoor dba; do
  case $attack in
    targeted_flip) params=(--param source=0 --param target=6) ;;
    backdoor|dba) params=(--param target=0) ;;
    *) params=() ;;
  esac
  for rate in ${RATES:-0.01 0.05 0.1 0.25}; do
    j="$out/$attack-$rate.json"
    "$B" inspect-data --poison $attack "${params[@]}" --rate $rate --evaluate --json > "$j" 2>> "$out/inspect.log"
    python3 - "$j" "$attack" "$rate" >> "$out/ingestion.csv" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
attack, rate = sys.argv[2], sys.argv[3]
def cell(v):
    return "" if v is None else str(v)
ev = d["evaluation"]
for name in ["clean", "poisoned"]:
    e = ev[name]
    print(",".join([attack, rate, name, "", "", "", "", cell(e["test_accuracy"]), cell(e["attack_success"])]))
for det, s in d["detectors"].items():
    e = ev["sanitized_" + det]
    print(",".join([attack, rate, det, str(s["flagged"]), cell(s["precision"]), cell(s["recall"]), cell(s["f1"]),
                    cell(e["test_accuracy"]), cell(e["attack_success"])]))
PY
    echo "  $attack at $rate done" >&2
  done
done
"$B" report "$out"
