#!/usr/bin/env bash
# experiments/privacy: membership inference against DP-SGD's noise (and so ε) and against the
# server's output policies; model inversion against the output policies; gradient leakage against
# batch size and local steps — closed form, inverting gradients, DLG — with and without DP-SGD
# noise and secure aggregation (modelled: 8 workers summed); secure aggregation in real runs:
# what the curious coordinator reads, and what is lost against a Byzantine minority.
# Usage: experiments/privacy/run.sh [OUT_DIR]   (after `make release`; about 6 minutes on 2 cores)
# Writes OUT_DIR/membership.csv, inversion.csv, leakage.csv, secure-aggregation.csv and
# `byzsim report`'s figures.
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
match=(--iterations 1000 --trials 8)
for setting in plain dp secure-aggregation inverting dlg "5 local steps" "inverting + 5 local steps" "dlg + 5 local steps"; do
  case $setting in
    dp) args=(--dp-noise 1 --dp-clip 1) ;; secure-aggregation) args=(--workers 8) ;;
    inverting) args=(--method inverting "${match[@]}" --svg "$out/leakage-inverting.svg") ;;
    dlg) args=(--method dlg "${match[@]}" --svg "$out/leakage-dlg.svg") ;;
    "5 local steps") args=(--local-steps 5) ;;
    "inverting + 5 local steps") args=(--method inverting --local-steps 5 "${match[@]}") ;;
    "dlg + 5 local steps") args=(--method dlg --local-steps 5 "${match[@]}") ;;
    *) args=(--svg "$out/leakage-closed-form.svg") ;;
  esac
  j="$out/leakage-${setting//[ +]/-}.json"
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
# Secure aggregation in runs (worker processes over CURVE). First what the curious coordinator
# reads (4 workers, batch 1, FedSGD), then what is lost: 10 workers of which 2 send −10× their
# update, under the mean with secure aggregation against robust rules that must see each update.
echo "setting,aggregator,secure_aggregation,attackers,test_accuracy,ms_per_round,leakage_exact,leakage_psnr_median" > "$out/secure-aggregation.csv"
secure_run() { # NAME AGGREGATOR(TOML) SECURE(true|false) ATTACKERS WORKERS BATCH CURIOUS(true|false) AGGREGATOR-LABEL
  local name=$1 agg=$2 secure=$3 bad=$4 workers=$5 batch=$6 curious=$7 label=$8 t="$out/secagg-$1.toml"
  {
    printf 'name = "secagg-%s"\nseed = 1\nrounds = 30\n[data]\ntrain_limit = 8000\ntest_limit = 1000\n' "$name"
    printf '[model]\nkind = "mlp"\nhidden = [64]\n[training]\nbatch_size = %s\nlearning_rate = 0.05\n' "$batch"
    printf '[coordinator]\neval_every = 30\naggregator = %s\n' "$agg"
    [ "$secure" = true ] && printf 'secure_aggregation = true\n'
    [ "$curious" = true ] && printf 'curious = { every = 5 }\n'
    printf '[[workers]]\ncount = %s\n' $((workers - bad))
    [ "$bad" -gt 0 ] && printf '[[workers]]\ncount = %s\nbehavior = "sign_flip"\nattack = { scale = 10.0 }\n' "$bad"
  } > "$t"
  "$B" run "$t" --runs-dir "$out/runs" --json > "$out/secagg-$name.json" 2>> "$out/privacy.log"
  python3 - "$out/secagg-$name.json" "$name" "$label" "$secure" "$bad" >> "$out/secure-aggregation.csv" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
g = d.get("gradient_leakage") or {}
cells = [sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], d["test_accuracy"], d["ms_per_round"],
         g.get("exact", ""), "" if g.get("psnr_median") is None else g["psnr_median"]]
print(",".join(str(c) for c in cells))
PY
  echo "  secure aggregation: $name" >&2
}
secure_run curious-plain '"mean"' false 0 4 1 true mean
secure_run curious-secure '"mean"' true 0 4 1 true mean
secure_run honest-mean '"mean"' false 0 10 32 false mean
secure_run honest-mean-secure '"mean"' true 0 10 32 false mean
secure_run attacked-mean '"mean"' false 2 10 32 false mean
secure_run attacked-mean-secure '"mean"' true 2 10 32 false mean
secure_run attacked-median '"median"' false 2 10 32 false median
secure_run attacked-krum '{ name = "krum", f = 2 }' false 2 10 32 false "krum f=2"
"$B" report "$out"
