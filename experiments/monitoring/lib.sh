# Shared by run.sh and online.sh (sourced; needs $B and $out).

# The served model: an MLP trained centrally for 3 epochs (seeded).
train_model() {
  "$B" train --model mlp --epochs 3 --seed 1 --out "$out/model.safetensors" > "$out/train.log" 2>&1
}

# start_server CONFIG: byzsim serve on a free loopback port; sets $pid and $port.
start_server() {
  "$B" serve "$out/model.safetensors" --config "$1" --allow-unsigned --port 0 > "$out/serve.out" 2>&1 &
  pid=$!
  for _ in $(seq 100); do grep -q "http://127.0.0.1:" "$out/serve.out" && break; sleep 0.1; done
  port=$(grep -o "http://127.0.0.1:[0-9]*" "$out/serve.out" | head -1 | sed 's/.*://')
  if [ -z "$port" ]; then
    echo "byzsim serve did not start with $1:" >&2
    cat "$out/serve.out" >&2
    kill "$pid" 2> /dev/null || true
    exit 1
  fi
}

stop_server() {
  kill "$pid"
  wait "$pid" 2> /dev/null || true
}
