#!/usr/bin/env bash
# The main job on the embedded default: run an example flow locally and print its results.
set -euo pipefail
EXTRAS="examples" source "$(dirname "$0")/setup.sh"
jupyter flow run examples/flows/sweep_flow.py
