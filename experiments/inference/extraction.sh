#!/usr/bin/env bash
# experiments/inference/extraction.sh: model extraction through a real byzsim serve, per output
# policy (full, rounded to 1 decimal, top-3, label only, full with noise σ 0.05) and prediction
# budget (100, 300, 1,000, 3,000: the server's budget ends the queries): equation solving
# (Tramèr et al. 2016) against a logistic-regression target, learning-based extraction with
# in-distribution queries against an MLP; then a query auditor (refuse, KS, window 100) against
# random, in-distribution and Jacobian-augmented queries (Papernot et al. 2017).
# Usage: extraction.sh [OUT_DIR]  (after `make release`; about 5 minutes on 2 cores)
# Writes OUT_DIR/extraction.csv: target,policy,method,strategy,budget,answered,stopped,fidelity,accuracy.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
B=${BYZSIM:-$root/.build/release/byzsim}
out=${1:-$root/runs/inference-$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$out"
. "$here/lib.sh"
echo "extraction → $out" >&2
"$B" train --model logreg --train-limit 20000 --epochs 3 --seed 1 --out "$out/target-logreg.safetensors" > "$out/train-logreg.log" 2>&1
"$B" train --model mlp --train-limit 20000 --epochs 3 --seed 1 --out "$out/target-mlp.safetensors" > "$out/train-mlp.log" 2>&1
write_reference "$out/reference.csv"
policies="full rounded top-k label noisy"
budgets="100 300 1000 3000"
token() { echo "extraction-$1-0123456789abcdef"; }
credential() { # ID POLICY [BUDGET]
  printf '[[credentials]]\nid = "%s"\nrole = "predict"\ntoken_sha256 = "%s"\n' "$1" "$(hash "$(token "$1")")"
  policy_keys "$2"
  [ -n "${3:-}" ] && echo "budget = $3"
  echo
}
{
  echo "[server]"
  echo "max_batch = 64"
  echo "request_log = \"$out/requests-extraction.jsonl\""
  for p in $policies; do
    credential "$p-eq" "$p"
    for b in $budgets; do credential "$p-$b" "$p" "$b"; done
  done
} > "$out/extraction-deploy.toml"
echo "target,policy,method,strategy,budget,answered,stopped,fidelity,accuracy" > "$out/extraction.csv"
row() { # TARGET POLICY METHOD STRATEGY BUDGET JSON STATUS
  if [ "$7" = 0 ]; then
    echo "$1,$2,$3,$4,$5,$(json "$6" answered),$(json "$6" stopped),$(json "$6" fidelity),$(json "$6" accuracy)" >> "$out/extraction.csv"
  else
    echo "$1,$2,$3,$4,$5,,failed,," >> "$out/extraction.csv"
  fi
}
start_server "$out/target-logreg.safetensors" "$out/extraction-deploy.toml"
for p in $policies; do
  r="$out/extraction-logreg-$p.json"
  status=0
  "$B" attack extraction "http://127.0.0.1:$port" --token "$(token "$p-eq")" --evaluate-with "$out/target-logreg.safetensors" \
    --allow-unsigned --method equations --json > "$r" 2>> "$out/extraction.log" || status=$?
  row logreg "$p" equations - 785 "$r" $status
  echo "  equation solving through $p: $(tail -1 "$out/extraction.csv")" >&2
done
stop_server
start_server "$out/target-mlp.safetensors" "$out/extraction-deploy.toml"
for p in $policies; do
  for b in $budgets; do
    r="$out/extraction-mlp-$p-$b.json"
    "$B" attack extraction "http://127.0.0.1:$port" --token "$(token "$p-$b")" --evaluate-with "$out/target-mlp.safetensors" \
      --allow-unsigned --method learning --strategy indist --budget 100000 --json > "$r" 2>> "$out/extraction.log"
    row mlp "$p" learning indist "$b" "$r" 0
  done
  echo "  learning through $p: fidelity $(grep "^mlp,$p,learning" "$out/extraction.csv" | cut -d, -f8 | tr '\n' ' ')" >&2
done
stop_server
# The query auditor (refuse): which query strategies it stops.
{
  printf '[server]\nmax_batch = 64\nrequest_log = "%s"\n[query_audit]\nreference = "%s"\nwindow = 100\nevery = 50\nalpha = 0.01\naction = "refuse"\n' "$out/requests-audited.jsonl" "$out/reference.csv"
  for s in random indist jacobian; do credential "audited-$s" full 3000; done
} > "$out/extraction-audited.toml"
start_server "$out/target-mlp.safetensors" "$out/extraction-audited.toml"
for s in random indist jacobian; do
  r="$out/extraction-audited-$s.json"
  status=0
  "$B" attack extraction "http://127.0.0.1:$port" --token "$(token "audited-$s")" --evaluate-with "$out/target-mlp.safetensors" \
    --allow-unsigned --method learning --strategy $s --budget 100000 --json > "$r" 2>> "$out/extraction.log" || status=$?
  row mlp "full + auditor" learning $s 3000 "$r" $status
  echo "  $s queries under the auditor: $(tail -1 "$out/extraction.csv")" >&2
done
stop_server
cat "$out/extraction.csv"
