#!/usr/bin/env bash
# Set up everything the tests need (venv, npm packages, Chromium) and run them all.
set -euo pipefail
EXTRAS="dev" source "$(dirname "$0")/setup.sh"

echo "== lint and types"
ruff check jupyter_flow tests bench examples
ruff format --check jupyter_flow tests bench examples
mypy

if [ -f labextension/ci.sh ]; then
  echo "== JupyterLab extension build"
  bash labextension/ci.sh build
fi

echo "== pytest"
rc=0
python -m pytest -n "${PYTEST_WORKERS:-2}" -p no:cacheprovider "$@" || rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure of the suite, not a pass" >&2
  exit 1
fi
[ "$rc" -eq 0 ] || exit "$rc"

if [ -f labextension/ci.sh ]; then
  echo "== JupyterLab extension tests (jest + Galata in Chromium)"
  bash labextension/ci.sh test
fi
