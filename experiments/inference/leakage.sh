#!/usr/bin/env bash
# experiments/inference/leakage.sh: a backdoored model that leaks its training data, end to end
# through byzsim serve. A federation of 10 workers trains an MLP; worker 9 runs Song et al.'s
# capacity-abuse channel (100 synthetic inputs whose labels carry 300 whitened bits of its
# shard's images). The model is served, and the receiver (byzsim attack leak) queries the
# synthetic inputs under each output policy (full, rounded to 1 decimal, top-3, label only,
# full with noise σ 0.05) and prediction budget (none, 25, 50), with no query auditor, and with
# a KS query auditor (window 50) that only flags or refuses.
# Usage: leakage.sh [OUT_DIR]  (after `make release`; about 1 minute on 2 cores)
# Writes OUT_DIR/leakage.csv: policy,budget,audit,answered,stopped,flagged_at,bits,bits_recovered,leaked_bits,label_accuracy.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
B=${BYZSIM:-$root/.build/release/byzsim}
out=${1:-$root/runs/inference-$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$out"
. "$here/lib.sh"
echo "leakage → $out" >&2
"$B" run "$root/experiments/covert/capacity-abuse.toml" --runs-dir "$out/runs" --json > "$out/leak-run.json" 2> "$out/leak-run.log"
run=$(json "$out/leak-run.json" run_dir)
echo "  trained the federation with the leaking worker: $run" >&2
write_reference "$out/reference.csv"
policies="full rounded top-k label noisy"
token() { echo "leakage-$1-0123456789abcdef"; }
ops=leakage-ops-token-0123456789
echo "policy,budget,audit,answered,stopped,flagged_at,bits,bits_recovered,leaked_bits,label_accuracy" > "$out/leakage.csv"
for audit in none flag refuse; do
  {
    printf '[server]\nrequest_log = "%s"\n\n' "$out/requests-leakage-$audit.jsonl"
    printf '[[credentials]]\nid = "ops"\nrole = "metrics"\ntoken_sha256 = "%s"\n\n' "$(hash $ops)"
    for p in $policies; do
      for b in none 25 50; do
        printf '[[credentials]]\nid = "%s"\nrole = "predict"\ntoken_sha256 = "%s"\n' "$p-$b" "$(hash "$(token "$p-$b")")"
        policy_keys "$p"
        [ $b != none ] && echo "budget = $b"
        echo
      done
    done
    if [ $audit != none ]; then
      printf '[query_audit]\nreference = "%s"\nwindow = 50\nevery = 25\nalpha = 0.01\naction = "%s"\n' "$out/reference.csv" $audit
    fi
  } > "$out/leakage-$audit.toml"
  start_server "$run/model.safetensors" "$out/leakage-$audit.toml"
  for p in $policies; do
    for b in none 25 50; do
      r="$out/leak-$audit-$p-$b.json"
      "$B" attack leak "http://127.0.0.1:$port" --token "$(token "$p-$b")" --run "$run" --json > "$r" 2>> "$out/leakage.log"
      # A flagging auditor tests on a background queue: give a queued test up to 3 s to land
      # (once its window of 50 has filled).
      flagged=""
      if [ $audit != none ] && [ "$(json "$r" answered)" -ge 50 ]; then
        for _ in $(seq 30); do
          flagged=$(curl -sf -H "Authorization: Bearer $ops" "http://127.0.0.1:$port/v1/monitor" | python3 -c '
import json, sys
entries = [e for e in json.load(sys.stdin).get("query_audit", []) if e["credential"] == sys.argv[1]]
print(entries[0].get("flagged_at_query") or "" if entries else "")' "$p-$b")
          [ -n "$flagged" ] && break
          sleep 0.1
        done
      fi
      echo "$p,$b,$audit,$(json "$r" answered),$(json "$r" stopped),$flagged,$(json "$r" bits),$(json "$r" bits_recovered),$(json "$r" leaked_bits),$(json "$r" label_accuracy)" >> "$out/leakage.csv"
    done
  done
  stop_server
  echo "  auditor $audit done" >&2
done
cat "$out/leakage.csv"
