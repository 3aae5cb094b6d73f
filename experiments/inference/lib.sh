# Shared by the experiments/inference scripts (sourced; needs $B and $out).
export OPENBLAS_NUM_THREADS=1

# hash TOKEN: the SHA-256 byzsim serve keeps of a token.
hash() { "$B" serve --hash-token "$1"; }

# start_server MODEL CONFIG: byzsim serve on a free loopback port; sets $pid and $port.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/serve.sh"
start_server() { serve_model "$1" "$2"; }

# json FILE KEY: one top-level value of a JSON object (null if absent).
json() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1])).get(sys.argv[2]); print("" if v is None else json.dumps(v) if isinstance(v, bool) else v)' "$1" "$2"; }

# policy_keys POLICY: a credential's output-policy lines for full, rounded, top-k, label, noisy.
policy_keys() {
  case "$1" in
    full) echo 'output = "full"' ;;
    rounded) printf 'output = "rounded"\ndecimals = 1\n' ;;
    top-k) printf 'output = "top-k"\ntop_k = 3\n' ;;
    label) echo 'output = "label"' ;;
    noisy) printf 'output = "full"\nnoise = 0.05\n' ;;
    *) echo "unknown policy $1" >&2; exit 1 ;;
  esac
}

# The query auditor's reference: test images 5,000–5,499 (in-distribution inputs).
write_reference() {
  python3 - "$1" <<'PY'
import gzip, sys
with gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") as f:
    data = f.read()
rows = [",".join("%.4f" % (b / 255) for b in data[16 + 784 * k: 16 + 784 * (k + 1)]) for k in range(5000, 5500)]
open(sys.argv[1], "w").write("\n".join(rows) + "\n")
PY
}
