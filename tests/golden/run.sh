#!/usr/bin/env bash
# run.sh — golden end-to-end tests: PyTorch models converted, run through the library (CPU, and CUDA where a
# GPU is usable) and the CLI, compared.
# usage: tests/golden/run.sh [DIR] [--no-cli]     (DIR defaults to build/golden)
set -u
cd "$(dirname "$0")/../.."
DIR=${1:-build/golden}
NO_CLI=0
[ "${2:-}" = "--no-cli" ] && NO_CLI=1
GOLDEN_BIN=${GOLDEN_BIN:-build/golden_check}
PY=${PYTHON:-/usr/bin/python3}

# Regenerate the fixtures when they are missing or older than what makes them.
if [ ! -f "$DIR/manifest.txt" ] || [ -n "$(find tests/golden/gen.py scripts/convert scripts/ifg.py scripts/convert_lib -newer "$DIR/manifest.txt" 2>/dev/null)" ]; then
    echo "generating golden models in $DIR (PyTorch)"
    rm -rf "$DIR"
    "$PY" tests/golden/gen.py "$DIR" || { echo "golden: fixture generation failed"; echo "0 passed, 1 failed"; exit 1; }
fi

"$GOLDEN_BIN" "$DIR"
lib_rc=$?

# The same models on CUDA (fp32 against PyTorch, fp16 against the CPU, graph replays compared) wherever a
# GPU is usable; elsewhere golden_check says so and exits 77, shown here as a skip.
for prec in fp32 fp16; do
    "$GOLDEN_BIN" "$DIR" --device cuda --precision $prec
    rc=$?
    if [ $rc -eq 77 ]; then echo "[SKIP] golden models on CUDA ($prec): no usable GPU here"; break; fi
    [ $rc -ne 0 ] && lib_rc=$rc
done
# CPU BF16 against FP32 (tests/golden/bf16_check.c) where the CPU has AVX512-BF16 or AMX-BF16.
BF16_BIN=${BF16_CHECK_BIN:-$(dirname "$GOLDEN_BIN")/bf16_check}
if [ -x "$BF16_BIN" ]; then
    "$BF16_BIN" "$DIR"
    rc=$?
    [ $rc -ne 0 ] && [ $rc -ne 77 ] && lib_rc=$rc
fi
# CPU INT8 (static and dynamic, infer quantize's library) against FP32 (tests/golden/int8_check.c).
INT8_BIN=${INT8_CHECK_BIN:-$(dirname "$GOLDEN_BIN")/int8_check}
if [ -x "$INT8_BIN" ]; then
    "$INT8_BIN" "$DIR" || lib_rc=1
fi
[ "$NO_CLI" = 1 ] && exit $lib_rc

# ---- the CLI ------------------------------------------------------------------
pass=0; fail=0
ok()   { pass=$((pass + 1)); echo "[PASS] cli  $1"; }
bad()  { fail=$((fail + 1)); echo "[FAIL] cli  $1"; }
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT

# expect CODE PATTERN DESCRIPTION -- COMMAND...: exit code and a fragment of stderr
expect() {
    local code=$1 pattern=$2 what=$3; shift 4
    "$@" >"$TMP/stdout" 2>"$TMP/stderr"; local rc=$?
    if [ $rc -eq "$code" ] && { [ -z "$pattern" ] || grep -qiE -- "$pattern" "$TMP/stderr" "$TMP/stdout"; }; then ok "$what"
    else bad "$what (exit $rc, wanted $code; stderr: $(head -c 300 "$TMP/stderr"))"; fi
}

while read -r name n_in n_out; do
    ins=(); outs=()
    for ((i = 0; i < n_in; i++)); do ins+=("$DIR/$name.in$i.npy"); done
    for ((i = 0; i < n_out; i++)); do outs+=("$TMP/$name.out$i.npy"); done
    if ./infer run "$DIR/$name.ifg" "${ins[@]}" -o "${outs[@]}" --device cpu --threads 2 >/dev/null 2>"$TMP/err"; then
        same=1
        for ((i = 0; i < n_out; i++)); do "$GOLDEN_BIN" --compare "$TMP/$name.out$i.npy" "$DIR/$name.out$i.npy" || same=0; done
        [ $same = 1 ] && ok "run $name matches PyTorch" || bad "run $name differs from PyTorch"
    else
        bad "run $name: $(cat "$TMP/err")"
    fi
done < "$DIR/manifest.txt"

M=$DIR/mlp.ifg
expect 0 "top-5" "run --print shows top-5" -- ./infer run "$M" "$DIR/mlp.in0.npy" --print --device cpu
expect 0 "" "run --out-dir" -- ./infer run "$M" "$DIR/mlp.in0.npy" --out-dir "$TMP/outdir" --device cpu
ls "$TMP"/outdir/*.npy >/dev/null 2>&1 && ok "--out-dir wrote one file per output" || bad "--out-dir wrote nothing"
expect 2 "expected .*given" "wrong input shape is refused" -- ./infer run "$M" "$DIR/resnet18.in0.npy" -o "$TMP/never.npy" --device cpu
[ ! -e "$TMP/never.npy" ] && ok "nothing written after a failed run" || bad "an output was written after a failed run"
expect 2 "expected .*given" "wrong input dtype is refused" -- ./infer run "$M" "$DIR/encoder.in0.npy" -o "$TMP/never.npy" --device cpu
expect 2 "no-such-model" "missing model file" -- ./infer run "$TMP/no-such-model.ifg" "$DIR/mlp.in0.npy" --print
expect 2 "input" "wrong number of inputs" -- ./infer run "$M" --print
head -c 1000 "$M" > "$TMP/truncated.ifg"
expect 2 "truncat|size|outside|short" "truncated model file" -- ./infer run "$TMP/truncated.ifg" "$DIR/mlp.in0.npy" --print
cp "$M" "$TMP/corrupt.ifg"; size=$(stat -c %s "$M")
printf '\xff' | dd of="$TMP/corrupt.ifg" bs=1 seek=$((size - 5)) conv=notrunc 2>/dev/null
expect 2 "crc|checksum" "tampered model file" -- ./infer run "$TMP/corrupt.ifg" "$DIR/mlp.in0.npy" --print
printf 'NOTAMODEL%.0s' {1..40} > "$TMP/garbage.ifg"
expect 2 "magic" "not a model file" -- ./infer run "$TMP/garbage.ifg" "$DIR/mlp.in0.npy" --print
expect 2 "unknown option" "unknown option" -- ./infer run "$M" --frobnicate
expect 2 "device" "bad --device value" -- ./infer run "$M" "$DIR/mlp.in0.npy" --print --device tpu
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi >/dev/null 2>&1; then
    expect 1 "cuda|gpu|device" "--device cuda without a GPU" -- ./infer run "$M" "$DIR/mlp.in0.npy" --print --device cuda
fi
expect 0 "" "--gpu and --debug-sync are accepted (CUDA options; no effect on the CPU)" -- ./infer run "$M" "$DIR/mlp.in0.npy" --print --device cpu --gpu 0 --debug-sync
expect 2 "--gpu" "a bad --gpu value" -- ./infer run "$M" "$DIR/mlp.in0.npy" --print --gpu first
expect 2 "fp32 only" "golden_check: the CPU runs fp32 only" -- "$GOLDEN_BIN" "$DIR" --device cpu --precision fp16
expect 2 "usage" "golden_check: an unknown option" -- "$GOLDEN_BIN" "$DIR" --frobnicate
expect 0 "^4 passed, 0 failed" "golden_check --model runs one model (4 checks)" -- "$GOLDEN_BIN" "$DIR" --model mlp
expect 0 "planned" "info shows the memory plan" -- ./infer info "$DIR/resnet18.ifg"
expect 0 "conv2d" "info shows the op histogram" -- ./infer info "$DIR/resnet50.ifg"
expect 0 "usage" "--help" -- ./infer --help
expect 0 "usage" "run --help" -- ./infer run --help
expect 0 "usage" "info --help" -- ./infer info --help

echo "$pass passed, $fail failed"
[ $fail -eq 0 ] && [ $lib_rc -eq 0 ]
