#!/usr/bin/env bash
# run.sh — the short serving tests: REST protocol, official clients (tritonclient), faults, a bounded load run.
# usage: tests/serve/run.sh [--sanitized]     INFER_BIN picks the binary (default ./infer); --sanitized skips
#        the client conformance run, which the ASan build does not need to repeat.
set -u
cd "$(dirname "$0")/../.."
PY=${PYTHON:-/usr/bin/python3}
VENV_PY=build/venv/bin/python
GOLDEN_DIR=${GOLDEN_DIR:-build/golden}
export GOLDEN_DIR
if [ ! -f "$GOLDEN_DIR/manifest.txt" ]; then
    echo "generating golden models in $GOLDEN_DIR (PyTorch)"
    "$PY" tests/golden/gen.py "$GOLDEN_DIR" || { echo "serve: fixture generation failed"; exit 1; }
fi
CLIENT_PY=$PY
if [ -x "$VENV_PY" ] && "$VENV_PY" -c 'import tritonclient.http, tritonclient.grpc' 2>/dev/null; then
    CLIENT_PY=$VENV_PY
else
    echo "[SKIP] serve  tritonclient is not installed in $VENV_PY (scripts/install-deps creates it): no client runs"
fi
fail=0
"$PY" tests/serve/check_deploy.py || fail=1
"$PY" tests/serve/test_http.py || fail=1
"$CLIENT_PY" tests/serve/test_datatypes.py || fail=1
if [ "${1:-}" != "--sanitized" ] && [ "$CLIENT_PY" = "$VENV_PY" ]; then
    "$VENV_PY" tests/serve/test_conformance.py || fail=1
fi
"$CLIENT_PY" tests/serve/test_faults.py || fail=1
"$PY" tests/serve/load.py "$GOLDEN_DIR/mlp.ifg" --concurrency 1,8,64 --requests 256 --seconds 20 || fail=1
"$PY" tests/serve/load.py "$GOLDEN_DIR/resnet18.ifg" --instances 2 --threads 2 --concurrency 8 --requests 64 \
      --seconds 20 --no-baseline || fail=1
[ $fail -eq 0 ] && echo "serve: all passed" || echo "serve: FAILED"
exit $fail
