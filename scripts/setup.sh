# Sourced by the other scripts: a virtualenv with jupyter_flow installed (editable).
# JUPYTER_FLOW_VENV picks the venv folder (default .venv); EXTRAS the pip extras.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV="${JUPYTER_FLOW_VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
fi
"$VENV/bin/python" -m pip install -q -e ".[${EXTRAS:-}]" 2>&1 | grep -v "^WARNING: Location" || true
"$VENV/bin/python" -c "import jupyter_flow" # fail loudly if the install did not work
# shellcheck disable=SC1091
source "$VENV/bin/activate"
