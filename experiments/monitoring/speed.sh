#!/usr/bin/env bash
# experiments/monitoring, drift speed: detection delay per detector for a brightness shift of
# +0.2 reached abruptly or ramped in over 250, 500, 1,000 and 2,000 requests, and for an abrupt
# rotation (20°) and occlusion (a black square of 0.4 × 28 pixels), window 200.
# Usage: experiments/monitoring/speed.sh [OUT_DIR]   (after `make release`; about 5 minutes)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$root/runs/monitoring-speed-$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$out/scenarios"
scenarios=""
for ramp in 0 250 500 1000 2000; do
  printf 'count = 2500\nrate = 0\n[[phase]]\nstart = 0\ndrift = "none"\n[[phase]]\nstart = 500\ndrift = "brightness"\nstrength = 0.2\nramp = %s\n' \
    "$ramp" > "$out/scenarios/brightness-ramp$ramp.toml"
  scenarios="$scenarios brightness-ramp$ramp"
done
printf 'count = 2500\nrate = 0\n[[phase]]\nstart = 0\ndrift = "none"\n[[phase]]\nstart = 500\ndrift = "rotation"\nstrength = 20\n' > "$out/scenarios/rotation.toml"
printf 'count = 2500\nrate = 0\n[[phase]]\nstart = 0\ndrift = "none"\n[[phase]]\nstart = 500\ndrift = "occlusion"\nstrength = 0.4\n' > "$out/scenarios/occlusion.toml"
SCENARIO_DIR="$out/scenarios" SCENARIOS="$scenarios rotation occlusion" WINDOWS=${WINDOWS:-200} "$here/run.sh" "$out"
