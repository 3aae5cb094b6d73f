#!/usr/bin/env bash
# experiments/privacy: membership inference against DP-SGD's noise (and so ε) and against the
# server's output policies; model inversion against the output policies; gradient leakage against
# batch size, with and without DP-SGD noise and secure aggregation (modelled: 8 workers summed).
# Usage: experiments/privacy/run.sh [OUT_DIR]   (after `make release`; about 5 minutes on 2 cores)
# Writes OUT_DIR/membership.csv, inversion.csv, leakage.csv and `byzsim report`'s heatmaps.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
B=${BYZSIM:-$root/.build/release/byzsim}
out=${1:-$root/runs/privacy-$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$out"
export OPENBLAS_NUM_THREADS=1
echo "privacy experiment → $out" >&2
common=(attack membership --members 1000 --shadows 16 --epochs 30 --json)
echo "sigma,epsilon,policy,target_test_accuracy,attack,auc,tpr_at_fpr_0.01" > "$out/membership.csv"
membership_rows() { # JSON SIGMA POLICY
  python3 - "$1" "$2" "$3" >> "$out/membership.csv" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
eps = "" if d["dp"] is None or d["dp"]["epsilon"] is None else d["dp"]["epsilon"]
for name, a in d["attacks"].items():
    print(",".join(str(v) for v in [sys.argv[2], eps, sys.argv[3], d["target_test_accuracy"], name, a["auc"], a["tpr_at_fpr_0.01"]]))
PY
}
for sigma in ${SIGMAS:-none 0.5 1 2 4}; do
  j="$out/membership-sigma-$sigma.json"
  if [ "$sigma" = none ]; then "$B" "${common[@]}" > "$j" 2>> "$out/privacy.log"
  else "$B" "${common[@]}" --dp --noise-multiplier "$sigma" > "$j" 2>> "$out/privacy.log"; fi
  membership_rows "$j" "$sigma" full
  echo "  membership inference, σ $sigma" >&2
done
for policy in rounded top-k label; do
  j="$out/membership-$policy.json"
  "$B" "${common[@]}" --output $policy --decimals 1 --top-k 1 > "$j" 2>> "$out/privacy.log"
  membership_rows "$j" none $policy
  echo "  membership inference through the $policy policy" >&2
done
# Model inversion (MI-Face) of a logistic regression, white-box and through each policy.
"$B" train --model logreg --epochs 3 --seed 1 --out "$out/logreg.safetensors" > "$out/train-logreg.log" 2>&1
echo "setting,evaluator_accuracy,mean_distance_to_class_mean,blank_distance_to_class_mean" > "$out/inversion.csv"
for setting in white-box full rounded label; do
  j="$out/inversion-$setting.json"
  if [ $setting = white-box ]; then args=(--gradient white-box); else args=(--gradient numerical --output $setting --decimals 2); fi
  "$B" attack inversion "$out/logreg.safetensors" --allow-unsigned "${args[@]}" --json > "$j" 2>> "$out/privacy.log"
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(",".join(str(d[k]) for k in ["evaluator_accuracy","mean_distance_to_class_mean","blank_distance_to_class_mean"]))' "$j" \
    | sed "s/^/$setting,/" >> "$out/inversion.csv"
  echo "  model inversion: $setting" >&2
done
# Gradient leakage from FedSGD updates.
echo "setting,batch_size,psnr_median,exact,label_recall" > "$out/leakage.csv"
for setting in plain dp secure-aggregation; do
  case $setting in
    dp) args=(--dp-noise 1 --dp-clip 1) ;; secure-aggregation) args=(--workers 8) ;; *) args=() ;;
  esac
  j="$out/leakage-$setting.json"
  "$B" attack gradient-leakage --batch-sizes 1,2,4,8,16 "${args[@]}" --json > "$j" 2>> "$out/privacy.log"
  python3 - "$j" "$setting" >> "$out/leakage.csv" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for r in d["rows"]:
    p = r["psnr_median"]
    print(",".join(str(v) for v in [sys.argv[2], r["batch_size"], 100 if p == "inf" else p, r["exact"], r["label_recall"]]))
PY
  echo "  gradient leakage: $setting" >&2
done
"$B" report "$out"
