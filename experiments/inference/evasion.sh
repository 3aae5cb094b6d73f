#!/usr/bin/env bash
# experiments/inference/evasion.sh: robust accuracy against ε (FGSM and 20-step PGD, L∞, first
# 1,000 test images) for an MLP trained normally and with PGD adversarial training, centrally and
# in a federation of 4 workers, and for black-box transfer from a surrogate the attacker trained
# on other data. Usage: evasion.sh [OUT_DIR]  (after `make release`; about 4 minutes on 2 cores)
# Writes OUT_DIR/evasion.csv: model,method,eps,clean_accuracy,robust_accuracy.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
B=${BYZSIM:-$root/.build/release/byzsim}
out=${1:-$root/runs/inference-$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$out"
. "$here/lib.sh"
echo "evasion → $out" >&2
common=(train --model mlp --train-limit 10000 --epochs 3 --seed 1)
"$B" "${common[@]}" --out "$out/standard.safetensors" > "$out/train-standard.log" 2>&1
echo "  trained the standard MLP" >&2
"$B" "${common[@]}" --adversarial-eps 0.1 --out "$out/adversarial.safetensors" > "$out/train-adversarial.log" 2>&1
echo "  trained the adversarial MLP (PGD, ε 0.1)" >&2
# The attacker's surrogate: its own MLP on other images (30,000 on), another seed.
"$B" train --model mlp --train-start 30000 --train-limit 10000 --epochs 3 --seed 7 --out "$out/surrogate.safetensors" \
  > "$out/train-surrogate.log" 2>&1
for mode in plain adversarial; do
  extra=""
  [ $mode = adversarial ] && extra=$'adversarial_eps = 0.1\nadversarial_steps = 7'
  cat > "$out/federated-$mode.toml" <<TOML
name = "federated-$mode"
seed = 1
rounds = 300
[data]
train_limit = 10000
[model]
kind = "mlp"
hidden = [100]
[training]
batch_size = 32
learning_rate = 0.05
$extra
[coordinator]
eval_every = 100
[[workers]]
count = 4
[security]
curve = false
TOML
  "$B" run "$out/federated-$mode.toml" --runs-dir "$out/runs" --json > "$out/federated-$mode.json" 2> "$out/federated-$mode.log"
  cp "$(json "$out/federated-$mode.json" run_dir)/model.safetensors" "$out/federated-$mode.safetensors"
  cp "$(json "$out/federated-$mode.json" run_dir)/model.safetensors.sig" "$out/federated-$mode.safetensors.sig"
  echo "  ran the federation ($mode)" >&2
done
echo "model,method,eps,clean_accuracy,robust_accuracy" > "$out/evasion.csv"
for method in fgsm pgd; do
  for eps in 0 0.02 0.05 0.1 0.15 0.2; do
    for model in standard adversarial federated-plain federated-adversarial transfer; do
      case $model in
        transfer) args=("$out/standard.safetensors" --surrogate "$out/surrogate.safetensors") ; name="standard · transfer from a surrogate" ;;
        adversarial) args=("$out/$model.safetensors") ; name="adversarial training ε 0.1" ;;
        federated-adversarial) args=("$out/$model.safetensors") ; name="federated adversarial ε 0.1" ;;
        federated-plain) args=("$out/$model.safetensors") ; name="federated" ;;
        *) args=("$out/$model.safetensors") ; name="standard" ;;
      esac
      r="$out/evasion-$model-$method-$eps.json"
      "$B" attack evasion "${args[@]}" --allow-unsigned --method $method --eps $eps --steps 20 --count 1000 --json > "$r" 2>> "$out/evasion.log"
      echo "$name,$method,$eps,$(json "$r" clean_accuracy),$(json "$r" robust_accuracy)" >> "$out/evasion.csv"
    done
  done
  echo "  $method done" >&2
done
cat "$out/evasion.csv"
