# Sourced by the other scripts: a virtualenv with jupyter_flow installed (editable).
# JUPYTER_FLOW_VENV picks the venv folder (default .venv); EXTRAS the pip extras.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV="${JUPYTER_FLOW_VENV:-.venv}"
pip_log="$(mktemp)"
pip_install() {
  if ! "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$@" >"$pip_log" 2>&1; then
    cat "$pip_log" >&2
    echo "pip install $* failed" >&2
    exit 1
  fi
}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  pip_install --upgrade pip
fi
spec="."
[ -n "${EXTRAS:-}" ] && spec=".[${EXTRAS}]"
pip_install -c scripts/constraints.txt -e "$spec"
rm -f "$pip_log"
# shellcheck disable=SC1091
source "$VENV/bin/activate"
