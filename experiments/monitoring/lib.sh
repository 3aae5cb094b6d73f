# Shared by run.sh and online.sh (sourced; needs $B and $out).

# The served model: an MLP trained centrally for 3 epochs (seeded).
train_model() {
  "$B" train --model mlp --epochs 3 --seed 1 --out "$out/model.safetensors" > "$out/train.log" 2>&1
}

# start_server CONFIG: byzsim serve of the trained model on a free loopback port; sets $pid and $port.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/serve.sh"
start_server() { serve_model "$out/model.safetensors" "$1"; }
