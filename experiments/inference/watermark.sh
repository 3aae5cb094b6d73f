#!/usr/bin/env bash
# experiments/inference/watermark.sh: does Adi et al.'s backdoor watermark survive? The owner
# trains an MLP with 100 secret triggers; the mark is then looked for in a model trained without
# it, in the owner's model after each of the four fine-tuning modes (on 10,000 images the owner
# never used), in a copy stolen through byzsim serve (learning-based extraction, 5,000 queries),
# in a federation whose owner marks the model at the coordinator (WAFFLE) and that model
# fine-tuned, and in federations where one of 10 workers, a contractor, plants its own mark
# (mean, trimmed mean f = 1, median). Usage: watermark.sh [OUT_DIR]  (after `make release`; about 4 minutes)
# Writes OUT_DIR/watermark.csv: model,matches,triggers,p_value,verified,test_accuracy.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
B=${BYZSIM:-$root/.build/release/byzsim}
out=${1:-$root/runs/inference-$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$out"
. "$here/lib.sh"
echo "watermark → $out" >&2
"$B" watermark triggers --out "$out/marks" --count 100 --seed 9 > /dev/null
common=(train --model mlp --train-limit 20000 --epochs 5 --seed 1)
"$B" "${common[@]}" --watermark "$out/marks" --out "$out/owned.safetensors" > "$out/train-owned.log" 2>&1
"$B" "${common[@]}" --out "$out/plain.safetensors" > "$out/train-plain.log" 2>&1
echo "  trained the owner's model and a plain one" >&2
for mode in ftal ftll rtll rtal; do
  "$B" train --model mlp --init-from "$out/owned.safetensors" --allow-unsigned --fine-tune $mode --train-start 30000 \
    --train-limit 10000 --epochs 3 --seed 2 --out "$out/$mode.safetensors" > "$out/train-$mode.log" 2>&1
done
echo "  fine-tuned it four ways" >&2
thief=watermark-thief-token-0123456789
printf '[server]\nrequest_log = "%s"\n[[credentials]]\nid = "thief"\nrole = "predict"\ntoken_sha256 = "%s"\noutput = "label"\n' "$out/requests-watermark.jsonl" "$(hash $thief)" > "$out/watermark-deploy.toml"
start_server "$out/owned.safetensors" "$out/watermark-deploy.toml"
"$B" attack extraction "http://127.0.0.1:$port" --token $thief --evaluate-with "$out/owned.safetensors" --allow-unsigned \
  --method learning --strategy indist --budget 5000 --out "$out/stolen.safetensors" --json > "$out/stolen.json" 2>> "$out/watermark.log"
stop_server
echo "  stole a copy through the server (fidelity $(json "$out/stolen.json" fidelity))" >&2
# federation NAME COORDINATOR_LINES WORKER_GROUPS: a 10-worker MLP federation's topology,
# OUT/NAME.toml (20,000 images, 300 FedSGD rounds).
federation() {
  cat > "$out/$1.toml" <<TOML
name = "$1"
seed = 1
rounds = 300
[data]
train_limit = 20000
[model]
kind = "mlp"
hidden = [100]
[training]
batch_size = 32
learning_rate = 0.1
[coordinator]
eval_every = 100
$2
$3
[security]
curve = false
TOML
}
for name in mean trimmed_mean median; do
  agg_line="aggregator = \"$name\""
  [ "$name" = trimmed_mean ] && agg_line='aggregator = { name = "trimmed_mean", f = 1 }'
  federation "contractor-$name" "$agg_line" $'[[workers]]\ncount = 9\n[[workers]]\ncount = 1\ndata_attack = { name = "watermark", count = 100, repeats = 20, seed = 9 }'
  "$B" run "$out/contractor-$name.toml" --runs-dir "$out/runs" --json > "$out/contractor-$name.json" 2> "$out/contractor-$name.log"
  cp "$(json "$out/contractor-$name.json" run_dir)/model.safetensors" "$out/contractor-$name.safetensors"
  echo "  federation with a contractor ($name)" >&2
done
# The federation's owner marks the model at the coordinator (WAFFLE), then someone fine-tunes it.
federation owner-waffle $'watermark_triggers = 100\nwatermark_seed = 9' $'[[workers]]\ncount = 10'
"$B" run "$out/owner-waffle.toml" --runs-dir "$out/runs" --json > "$out/owner-waffle.json" 2> "$out/owner-waffle.log"
cp "$(json "$out/owner-waffle.json" run_dir)/model.safetensors" "$out/waffle.safetensors"
"$B" train --model mlp --init-from "$out/waffle.safetensors" --allow-unsigned --fine-tune ftal --train-start 30000 \
  --train-limit 10000 --epochs 3 --seed 2 --out "$out/waffle-ftal.safetensors" > "$out/train-waffle-ftal.log" 2>&1
echo "  federation marked by its owner at the coordinator (WAFFLE), and its fine-tuned copy" >&2
echo "model,matches,triggers,p_value,verified,test_accuracy" > "$out/watermark.csv"
for model in owned plain ftal ftll rtll rtal stolen waffle waffle-ftal contractor-mean contractor-trimmed_mean contractor-median; do
  v="$out/verify-$model.json"
  "$B" watermark verify "$out/$model.safetensors" --triggers "$out/marks" --allow-unsigned --json > "$v" 2>> "$out/watermark.log"
  a="$out/accuracy-$model.json"
  "$B" attack evasion "$out/$model.safetensors" --allow-unsigned --method fgsm --eps 0 --count 10000 --json > "$a" 2>> "$out/watermark.log"
  case $model in
    owned) name="owner's model" ;; plain) name="trained without the mark" ;;
    ftal|ftll|rtll|rtal) name="fine-tuned ($(echo $model | tr a-z A-Z))" ;;
    stolen) name="stolen copy (5000 queries)" ;;
    waffle) name="federated · owner at the coordinator" ;; waffle-ftal) name="federated owner's · fine-tuned (FTAL)" ;;
    contractor-trimmed_mean) name="contractor · trimmed mean f=1" ;;
    contractor-*) name="contractor · ${model#contractor-}" ;;
  esac
  echo "$name,$(json "$v" matches),$(json "$v" triggers),$(json "$v" p_value),$(json "$v" verified),$(json "$a" clean_accuracy)" >> "$out/watermark.csv"
done
cat "$out/watermark.csv"
