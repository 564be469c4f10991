#!/usr/bin/env bash
# The main job on the embedded default: export an example notebook to a flow module and run
# it locally (parallel workers, store in ./.jupyter_flow), printing its results.
set -euo pipefail
EXTRAS="examples" source "$(dirname "$0")/setup.sh"
notebook="${1:-examples/notebooks/ridge_sweep.ipynb}"
jupyter flow export "$notebook"
jupyter flow run "${notebook%.ipynb}_flow.py"
