#!/usr/bin/env bash
# run.sh — runs every fuzz target for SECONDS (default 20) from its seeds and the inputs earlier runs kept;
# exits non-zero on a finding (crash, sanitizer report, leak, timeout, out of memory), naming the input.
# usage: tests/fuzz/run.sh [SECONDS] [TARGET...]     (after `make fuzz`; targets: model npy cli)
set -u
cd "$(dirname "$0")/../.."
SECONDS_EACH=${1:-20}
shift $(( $# > 0 ? 1 : 0 ))
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(model npy cli)
B=${FUZZ_BUILD:-build-fuzz}
failed=()
for t in "${TARGETS[@]}"; do
    bin=$B/fuzz_$t corpus=$B/corpus/$t findings=$B/findings
    [ -x "$bin" ] || { echo "fuzz: $bin is missing (run 'make fuzz')"; exit 2; }
    mkdir -p "$corpus" "$findings"
    opts=(-max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
          -artifact_prefix="$findings/$t-")
    case $t in
        model) opts+=(-max_len=16384) ;;
        npy) opts+=(-max_len=4096 -dict=tests/fuzz/npy.dict) ;;
        cli) opts+=(-max_len=1024 -dict=tests/fuzz/cli.dict -close_fd_mask=2) ;;
    esac
    echo "fuzz: $t for ${SECONDS_EACH}s"
    if INFER_FUZZ_STATS=1 "$bin" "${opts[@]}" "$corpus" "$B/fuzz-seeds/$t" >"$B/fuzz-$t.log" 2>&1; then
        grep -E '^stat::number_of_executed_units|^stat::new_units_added|^fuzz_model:' "$B/fuzz-$t.log" | sed 's/^/  /'
    else
        failed+=("$t")
        echo "fuzz: FINDING in $t; the report (last 40 lines of $B/fuzz-$t.log):"
        tail -n 40 "$B/fuzz-$t.log" | sed 's/^/  /'
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: findings in ${failed[*]}; the inputs are in $B/findings/ (reproduce: $B/fuzz_TARGET FILE)"
    exit 1
fi
echo "fuzz: no findings"
