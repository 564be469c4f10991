#!/usr/bin/env bash
# The fidelity corpus (tests/fidelity): every notebook in a real kernel and through every
# export path; prints the verdict table. Extra arguments go to pytest (e.g. -k seed).
set -euo pipefail
cd "$(dirname "$0")/.."
exec python -m pytest -p no:cacheprovider -q -n "${PYTEST_WORKERS:-2}" tests/fidelity "$@"
