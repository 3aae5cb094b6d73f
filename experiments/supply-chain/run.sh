#!/usr/bin/env bash
# experiments/supply-chain: a trojaned BLAS in 2 of 10 workers (supply_chain = "trojan_blas":
# a preloaded library that perturbs every cblas_sgemm product), against the mean and the median,
# with attestation off (the damage), observe (the damage, logged and flagged) and enforce (the
# trojaned workers refused). Auditors score every update.
# Usage: experiments/supply-chain/run.sh [OUT_DIR]   (after `make release`; about 1 minute on 2 cores)
# Writes OUT_DIR/supply-chain.csv, one row per run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
B=${BYZSIM:-$root/.build/release/byzsim}
out=${1:-$root/runs/supply-chain-$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$out"
export OPENBLAS_NUM_THREADS=1
echo "supply-chain experiment → $out" >&2
echo "trojan,aggregator,attestation,test_accuracy,refused_workers,attestation_departures,detection_f1,first_detection_round" > "$out/supply-chain.csv"
one() { # NAME TROJAN(TOML or none) AGGREGATOR ATTESTATION
  local name=$1 trojan=$2 agg=$3 att=$4 t="$out/$1.toml"
  {
    printf 'name = "%s"\nseed = 1\nrounds = 30\n[data]\ntrain_limit = 8000\ntest_limit = 1000\n' "$name"
    printf '[model]\nkind = "mlp"\nhidden = [64]\n[training]\nbatch_size = 32\nlearning_rate = 0.05\n'
    printf '[coordinator]\neval_every = 30\naggregator = "%s"\nauditors = ["all"]\n[security]\nattestation = "%s"\n' "$agg" "$att"
    if [ "$trojan" = none ]; then printf '[[workers]]\ncount = 10\n'
    else printf '[[workers]]\ncount = 8\n[[workers]]\ncount = 2\nsupply_chain = { name = "trojan_blas", %s }\n' "$trojan"; fi
  } > "$t"
  "$B" run "$t" --runs-dir "$out/runs" --json > "$out/$name.json" 2>> "$out/supply-chain.log"
  python3 - "$out/$name.json" "$trojan" "$agg" "$att" >> "$out/supply-chain.csv" <<'PY'
import json, os, sys
d = json.load(open(sys.argv[1]))
lines = []
path = os.path.join(d["run_dir"], "attestations.jsonl")
if os.path.exists(path):
    lines = [json.loads(l) for l in open(path) if l.strip()]
refused = sorted({l["worker"] for l in lines if not l["admitted"]})
departures = sorted({l["worker"] for l in lines if l["departures"]})
det = d.get("detection") or {}
first = [v for v in (det.get("rounds_to_first_detection") or {}).values() if v is not None]
trojan = "none" if sys.argv[2] == "none" else sys.argv[2].replace(",", ";").replace('"', "")
cells = [trojan, sys.argv[3], sys.argv[4], d["test_accuracy"], " ".join(map(str, refused)), " ".join(map(str, departures)),
         "" if det.get("f1") is None else det["f1"], min(first) if first else ""]
print(",".join(str(c) for c in cells))
PY
  echo "  $name" >&2
}
one clean none mean off
for trojan in 'mode = "scale", factor = 10.0' 'mode = "drift", factor = 0.05, rows = [0, 1, 2, 3]'; do
  tag=$(echo "$trojan" | cut -d'"' -f2)
  for agg in mean median; do
    for att in off observe enforce; do one "$tag-$agg-$att" "$trojan" $agg $att; done
  done
done
column -s, -t "$out/supply-chain.csv" >&2
