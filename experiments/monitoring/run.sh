#!/usr/bin/env bash
# experiments/monitoring: detection delay and damage before the first alert, per detector and
# window length, for no drift, an abrupt morph, a blind ramp and the slow-drift attacker.
# Usage: experiments/monitoring/run.sh [OUT_DIR]   (after `make release`; about 9 minutes on 2 cores)
# SCENARIOS and SCENARIO_DIR choose other scenario files (speed.sh does).
# Writes OUT_DIR/results.csv (one row per detector × window × scenario), the traffic JSON, and
# `byzsim report`'s heatmaps of damage before the first alert and of detection delay.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
B=${BYZSIM:-$root/.build/release/byzsim}
out=${1:-$root/runs/monitoring-$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$out"
export OPENBLAS_NUM_THREADS=1
echo "monitoring experiment → $out" >&2
. "$here/lib.sh"
train_model
# The monitor's reference: test images 5,000–5,499 (traffic replays from 0, the attacker's sample is 9,000 on).
python3 - "$out/reference.csv" <<'PY'
import gzip, struct, sys
with gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") as f:
    data = f.read()
rows = []
for k in range(5000, 5500):
    px = data[16 + 784 * k: 16 + 784 * (k + 1)]
    rows.append(",".join("%.4f" % (b / 255) for b in px))
open(sys.argv[1], "w").write("\n".join(rows) + "\n")
PY
bob=experiment-bob-token-0123456789
ops=experiment-ops-token-0123456789
echo "detector,window,scenario,first_alert,detection_delay,false_alarm,source_requests,flipped,flipped_before_first_alert,strength_at_first_alert,accuracy_after" > "$out/results.csv"
for detector in ${DETECTORS:-ks psi chi2 mmd}; do
  for window in ${WINDOWS:-100 200}; do
    every=$((window / 4))
    cat > "$out/deploy-$detector-$window.toml" <<TOML
[server]
request_log = "$out/requests-$detector-$window.jsonl"
[[credentials]]
id = "bob"
role = "predict"
token_sha256 = "$("$B" serve --hash-token $bob)"
output = "label"
[[credentials]]
id = "ops"
role = "metrics"
token_sha256 = "$("$B" serve --hash-token $ops)"
[monitor]
reference = "$out/reference.csv"
window = $window
every = $every
alpha = 0.01
mmd_permutations = 200
detectors = ["$detector"]
TOML
    for scenario in ${SCENARIOS:-none morph ramp slow-drift}; do
      start_server "$out/deploy-$detector-$window.toml"
      json="$out/$detector-$window-$scenario.json"
      "$B" traffic --server "http://127.0.0.1:$port" --token $bob --metrics-token $ops --scenario "${SCENARIO_DIR:-$here}/$scenario.toml" \
        --deployment "$out/deploy-$detector-$window.toml" --json > "$json" 2> "$out/traffic.log"
      stop_server
      python3 - "$json" "$detector" "$window" "$scenario" >> "$out/results.csv" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); d = sys.argv[2]
det = r["detectors"].get(d, {})
adv = r.get("adversary", {})
acc = r["phases"][-1]["accuracy"]
print(",".join(str(x) for x in [d, sys.argv[3], sys.argv[4], det.get("first_alert_prediction", ""),
  det.get("detection_delay", "") if det.get("detection_delay") is not None else "", det.get("false_alarm", ""),
  adv.get("source_requests", ""), adv.get("flipped", ""), adv.get("flipped_before_first_alert", {}).get(d, adv.get("flipped", "")),
  adv.get("strength_at_first_alert", {}).get(d, adv.get("final_strength", "")), "%.4f" % acc]))
PY
      echo "  $detector window $window $scenario: $(tail -1 "$out/results.csv")" >&2
    done
  done
done
"$B" report "$out" > /dev/null
echo "results: $out/results.csv; figures: $out/heatmap-damage.svg, $out/heatmap-delay.svg, $out/report.html" >&2
