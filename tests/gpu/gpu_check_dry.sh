#!/usr/bin/env bash
# gpu_check_dry.sh — scripts/gpu-check without a GPU (--dry-run): the steps, their timeouts within the deadline,
# the report (markdown and JSON) after a failure with its rerun, and after a hang cut off by the deadline.
set -u
cd "$(dirname "$0")/../.."
PY=${PYTHON:-/usr/bin/python3}
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
pass=0; fail=0
ok()  { pass=$((pass + 1)); echo "[PASS] gpu-check $1"; }
bad() { fail=$((fail + 1)); echo "[FAIL] gpu-check $1"; }
check() { "$@" >/dev/null 2>&1; }

# a failing test case: exit 1, the failure and its rerun reported, every later step still run
GPU_CHECK_FAKE="tests=fail" scripts/gpu-check --dry-run --out "$TMP/a" >"$TMP/a.log" 2>&1
rc=$?
[ $rc -eq 1 ] && ok "exits 1 when a step fails" || bad "exit $rc after a failing step"
check "$PY" - "$TMP/a/report.json" <<'PYEOF' && ok "report.json: every step, core timeouts within the deadline, the rerun" || bad "report.json after a failure: $(cat "$TMP/a/report.json" | head -c 600)"
import json, sys
d = json.load(open(sys.argv[1]))
steps = {s['step']: s for s in d['steps']}
assert list(steps) == ['info', 'build', 'tests', 'optable', 'golden', 'sanitizer', 'bench'], list(steps)
assert d['dry_run'] is True and d['deadline_s'] == 540
core = sum(s['timeout_s'] for s in d['steps'] if not s['optional'])
assert core <= d['deadline_s'] - 10, core
assert steps['tests']['result'] == 'FAIL', steps['tests']
assert all(steps[s]['result'] == 'PASS' for s in ('info', 'build', 'optable', 'golden', 'sanitizer', 'bench')), steps
assert any('fake::case' in r for r in d['reruns']), d['reruns']
PYEOF
grep -q '| tests | FAIL |' "$TMP/a/report.md" && grep -q 'CUDA_LAUNCH_BLOCKING=1' "$TMP/a/report.md" &&
    ok "report.md: the failure and the rerun" || bad "report.md after a failure"

# a hang: cut at the deadline, the steps after it listed as not run, the run ends in time
t0=$(date +%s)
GPU_CHECK_FAKE="golden=hang" scripts/gpu-check --dry-run --deadline 20 --out "$TMP/b" >"$TMP/b.log" 2>&1
rc=$? t=$(( $(date +%s) - t0 ))
[ $rc -eq 1 ] && [ $t -le 22 ] && ok "a hang is cut: exit 1 after $t s of a 20 s deadline" || bad "hang: exit $rc after $t s"
check "$PY" - "$TMP/b/report.json" <<'PYEOF' && ok "report.json after a hang: TIMEOUT, then not run" || bad "report.json after a hang: $(head -c 600 "$TMP/b/report.json")"
import json, sys
d = json.load(open(sys.argv[1]))
steps = {s['step']: s for s in d['steps']}
assert steps['golden']['result'] == 'TIMEOUT', steps['golden']
assert steps['sanitizer']['result'].startswith('not run') and steps['bench']['result'].startswith('not run'), steps
assert steps['tests']['result'] == 'PASS'
PYEOF

# bad usage
scripts/gpu-check --deadline soon >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok "a bad --deadline is refused" || bad "--deadline soon: exit $rc"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
