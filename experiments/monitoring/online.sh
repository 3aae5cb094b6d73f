#!/usr/bin/env bash
# experiments/monitoring, online learning: a server that retrains on labelled feedback ([online],
# every 200 labels, per-credential chunks of 25), honest labels 50 requests late, and from
# request 500 an attacker who, for half of the honest requests, sends a T-shirt (class 0) image
# morphed halfway toward a shirt (class 6) and labels it "shirt" through its own feedback
# credential. Measured: honest T-shirts read as shirts over requests 500–3,000 (of 247), and the
# accuracy there, without and with the attacker, for the mean (plain fine-tuning), the median
# and the trimmed mean over the chunks' updates, and the mean with auditors (cosine, norm z-score,
# sign agreement) that flag a feedback source and leave its chunks out.
# Usage: experiments/monitoring/online.sh [OUT_DIR]   (after `make release`; about 2 minutes)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
B=${BYZSIM:-$root/.build/release/byzsim}
out=${1:-$root/runs/online-$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$out"
export OPENBLAS_NUM_THREADS=1
. "$here/lib.sh"
train_model
bob=experiment-bob-token-0123456789
labeller=experiment-labeller-token-0123
mallory=experiment-mallory-token-01234
echo "defence,share,poison_labels,retrains,source_requests,flipped,accuracy_after,flagged_sources,excluded_labels" > "$out/online.csv"
for share in 0 0.5; do
  cat > "$out/poison-$share.toml" <<TOML
count = 3000
rate = 0
label_delay = 50
[[phase]]
start = 0
drift = "none"
[[phase]]
start = 500
drift = "feedback-poison"
source = 0
target = 6
strength = 0.5
share = $share
TOML
done
for defence in mean median trimmed_mean audited; do
  case $defence in
    mean) aggregator='"mean"'; auditors='[]' ;;
    median) aggregator='"median"'; auditors='[]' ;;
    trimmed_mean) aggregator='{ name = "trimmed_mean", f = 3 }'; auditors='[]' ;;
    audited) aggregator='"mean"'; auditors='["cosine", "norm_zscore", "sign_agreement"]' ;;
  esac
  name=$defence
  cat > "$out/deploy-$name.toml" <<TOML
[server]
request_log = "$out/requests-$name.jsonl"
[[credentials]]
id = "bob"
role = "predict"
token_sha256 = "$("$B" serve --hash-token $bob)"
output = "label"
[[credentials]]
id = "labeller"
role = "feedback"
token_sha256 = "$("$B" serve --hash-token $labeller)"
[[credentials]]
id = "mallory"
role = "feedback"
token_sha256 = "$("$B" serve --hash-token $mallory)"
[[credentials]]
id = "ops"
role = "metrics"
token_sha256 = "$("$B" serve --hash-token $bob-ops)"
[feedback]
window = 500
block = 50
[online]
every = 200
chunk = 25
aggregator = $aggregator
auditors = $auditors
TOML
  for share in 0 0.5; do
    start_server "$out/deploy-$name.toml"
    json="$out/$name-$share.json"
    "$B" traffic --server "http://127.0.0.1:$port" --token $bob --feedback-token $labeller --poison-token $mallory \
      --scenario "$out/poison-$share.toml" --json > "$json" 2> "$out/traffic.log"
    state=$(curl -s -H "Authorization: Bearer $bob-ops" "http://127.0.0.1:$port/v1/monitor" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["online_retrains"], "+".join(d["online_flagged_sources"]) or "-", d["online_excluded_labels"])')
    stop_server
    python3 - "$json" "$name" "$share" $state >> "$out/online.csv" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); a = r["adversary"]
print(",".join(str(x) for x in [sys.argv[2], sys.argv[3], r["poison_labels"], sys.argv[4], a["source_requests"], a["flipped"],
  "%.4f" % r["phases"][-1]["accuracy"], sys.argv[5], sys.argv[6]]))
PY
    echo "  $(tail -1 "$out/online.csv")" >&2
  done
done
echo "results: $out/online.csv" >&2
