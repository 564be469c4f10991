#!/usr/bin/env bash
# The main job on the embedded default: run an example flow locally and print its results.
set -euo pipefail
EXTRAS="" source "$(dirname "$0")/setup.sh"
export JUPYTER_FLOW_ROOT="${JUPYTER_FLOW_ROOT:-$PWD/.jupyter_flow}"
python -m pip install -q numpy 2>&1 | grep -v "^WARNING: Location" || true
jupyter flow run examples/flows/sweep_flow.py
