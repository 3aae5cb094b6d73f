#!/usr/bin/env bash
# Creates .venv (the tests' reference Python) with the pinned packages of
# scripts/requirements-test.txt (and, without their dependencies,
# scripts/requirements-test-nodeps.txt); does nothing when they are already installed.
set -euo pipefail
cd "$(dirname "$0")/.."
requirements=scripts/requirements-test.txt
nodeps=scripts/requirements-test-nodeps.txt
stamp=.venv/.requirements.sha256
want=$(cat "$requirements" "$nodeps" | sha256sum | cut -d' ' -f1)
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "byzsim: installing the tests' reference Python packages into .venv"
python3 -m venv .venv
.venv/bin/pip install --disable-pip-version-check -q -r "$requirements"
.venv/bin/pip install --disable-pip-version-check -q --no-deps -r "$nodeps"
echo "$want" > "$stamp"
