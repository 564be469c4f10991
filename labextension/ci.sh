#!/usr/bin/env bash
# Build and test the jupyter-flow JupyterLab extension.
#
#   bash labextension/ci.sh build   npm ci (committed lockfile) + build into jupyter_flow/labextension
#   bash labextension/ci.sh test    lint (prettier, eslint, stylelint), jest, then Galata UI tests in Debian's Chromium against a real
#                                   JupyterLab on 127.0.0.1 (free port), stopped by PID
#   bash labextension/ci.sh ui [SPEC...]   only the Galata tests (of the given spec files)
#
# Assumes the project's Python venv is active (jupyterlab + jupyter_flow importable).
# Screenshots: labextension/ui-tests/test-results/<test>/NN-*.png (HTML report: ui-tests/playwright-report).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$HERE")"
cd "$HERE"

build() {
  export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
  npm ci --no-audit --no-fund
  npm run build
  test -f "$REPO/jupyter_flow/labextension/package.json"
  echo "built $REPO/jupyter_flow/labextension"
}

ensure_chromium() {
  if ! command -v chromium >/dev/null 2>&1; then
    local sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends chromium
  fi
  export CHROMIUM="$(command -v chromium)"
}

free_port() {
  python - <<'PY'
import socket
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
PY
}

stop_pid() {
  # SIGTERM, then SIGKILL if the server has not exited within 20 s.
  local pid="$1"
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 40); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.5
  done
  kill -9 "$pid" 2>/dev/null || true
}

ui_tests() {
  local work port lab_pid status
  work="$(mktemp -d)"
  mkdir -p "$work/root" "$work/labextensions"
  ln -s "$REPO/jupyter_flow/labextension" "$work/labextensions/jupyter-flow"
  port="$(free_port)"
  export JUPYTER_FLOW_UI_PORT="$port" JUPYTER_FLOW_UI_ROOT="$work/root"
  export JUPYTER_FLOW_UI_LABEXTENSIONS="$work/labextensions"
  export JUPYTERLAB_GALATA_ROOT_DIR="$work/root"
  unset JUPYTER_FLOW_ROOT
  jupyter lab --config "$HERE/ui-tests/jupyter_server_test_config.py" >"$work/lab.log" 2>&1 &
  lab_pid=$!
  # shellcheck disable=SC2064
  trap "stop_pid $lab_pid; rm -rf '$work'" EXIT
  python - "$port" "$work/lab.log" <<'PY'
import pathlib, sys, time, urllib.request
url = f"http://127.0.0.1:{sys.argv[1]}/lab"
for _ in range(120):
    try:
        urllib.request.urlopen(url, timeout=2)
        sys.exit(0)
    except Exception:
        time.sleep(0.5)
print(pathlib.Path(sys.argv[2]).read_text()[-4000:], file=sys.stderr)
sys.exit(f"JupyterLab did not answer at {url}")
PY
  status=0
  TARGET_URL="http://127.0.0.1:$port" npx playwright test -c ui-tests/playwright.config.js "$@" ||
    status=$?
  mkdir -p ui-tests/test-results
  cp "$work/lab.log" ui-tests/test-results/jupyterlab.log
  if [ "$status" != 0 ]; then
    echo "---- JupyterLab log (tail; whole: ui-tests/test-results/jupyterlab.log) ----"
    tail -n 60 "$work/lab.log"
  fi
  return "$status"
}

run_tests() {
  test -d node_modules || npm ci --no-audit --no-fund
  test -f "$REPO/jupyter_flow/labextension/package.json" || npm run build
  npm run lint:check # prettier, eslint, stylelint (fix with: npm run lint)
  npx jest --ci
  ensure_chromium
  ui_tests
}

case "${1:-}" in
  build) build ;;
  test) run_tests ;;
  ui)
    shift
    ensure_chromium
    ui_tests "$@"
    ;;
  *)
    echo "usage: bash labextension/ci.sh build|test|ui [SPEC...]" >&2
    exit 2
    ;;
esac
