#!/usr/bin/env bash
# Creates .venv (the tests' reference Python) with the pinned packages of
# scripts/requirements-test.txt; does nothing when they are already installed.
set -euo pipefail
cd "$(dirname "$0")/.."
requirements=scripts/requirements-test.txt
stamp=.venv/.requirements.sha256
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "byzsim: installing the tests' reference Python packages into .venv"
python3 -m venv .venv
.venv/bin/pip install --disable-pip-version-check -q -r "$requirements"
echo "$want" > "$stamp"
