# Shared by the experiment scripts (sourced; needs $B and $out): byzsim serve on loopback.

# serve_model MODEL CONFIG: byzsim serve on a free loopback port; sets $pid and $port, and stops
# with the server's output if it does not start.
serve_model() {
  "$B" serve "$1" --config "$2" --allow-unsigned --port 0 > "$out/serve.out" 2>&1 &
  pid=$!
  for _ in $(seq 100); do grep -q "http://127.0.0.1:" "$out/serve.out" && break; sleep 0.1; done
  port=$(grep -o "http://127.0.0.1:[0-9]*" "$out/serve.out" | head -1 | sed 's/.*://')
  if [ -z "$port" ]; then
    echo "byzsim serve did not start with $2:" >&2
    cat "$out/serve.out" >&2
    kill "$pid" 2> /dev/null || true
    exit 1
  fi
}

stop_server() {
  kill "$pid"
  wait "$pid" 2> /dev/null || true
}
