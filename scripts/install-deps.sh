#!/usr/bin/env bash
# Installs the Debian packages ByzSim needs, only those that are missing.
# Run as root on a Debian machine (what `make run` and `make test` do first).
set -euo pipefail
packages=(libzmq3-dev libopenblas-dev zlib1g-dev pkg-config dataset-fashion-mnist openssl python3 python3-venv curl prometheus wrk chromium gcc slurm-wlm munge openmpi-bin python3-sklearn)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "byzsim: missing Debian packages: ${missing[*]}" >&2
  echo "byzsim: run 'make' as root, or install them with: apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "byzsim: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
