#!/usr/bin/env bash
# Builds the libFuzzer targets (build-fuzz/, clang, -fsanitize=fuzzer,address,undefined) and runs
# each one from its seed corpus in fuzz/corpus/<target>/. Fails on any crash, leak, timeout or
# failed property; the reproducer is left in build-fuzz/artifacts/ (see fuzz/README.md).
#   scripts/fuzz.sh                   the test command's run: each target FUZZ_SECONDS (default 10) s
#   scripts/fuzz.sh --long [SECONDS]  each target SECONDS (default 600) s, keeping what it finds in
#                                     build-fuzz/work/<target>/ for the next run
#   scripts/fuzz.sh ... TARGET...     only those targets (names as in fuzz/corpus/)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-fuzz}
JOBS=${JOBS:-$(nproc)}
SECONDS_EACH=${FUZZ_SECONDS:-10}
LONG=0
if [ "${1:-}" = --long ]; then
  LONG=1; shift
  SECONDS_EACH=600
  if [[ "${1:-}" =~ ^[0-9]+$ ]]; then SECONDS_EACH=$1; shift; fi
fi
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  mapfile -t TARGETS < <(ls "$ROOT/fuzz/corpus")
fi

start=$(date +%s)
cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPISIGNER_FUZZ=ON \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ ${FUZZ_CMAKE_ARGS:-} >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS" --target fuzzers
built=$(date +%s)

mkdir -p "$BUILD_DIR/artifacts" "$BUILD_DIR/logs"
# One target: new inputs go to a scratch (short) or kept (long) directory, never into the repo's seeds.
run_one() {
  local t=$1 work
  if [ "$LONG" = 1 ]; then work=$BUILD_DIR/work/$t; else work=$BUILD_DIR/scratch/$t; rm -rf "$work"; fi
  mkdir -p "$work"
  local dict=()
  [ -f "$ROOT/fuzz/dict/$t.dict" ] && dict=(-dict="$ROOT/fuzz/dict/$t.dict")
  if ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
     "$BUILD_DIR/fuzz/fuzz_$t" "$work" "$ROOT/fuzz/corpus/$t" -max_total_time="$SECONDS_EACH" -timeout=10 \
       -rss_limit_mb=2048 -max_len=4096 -artifact_prefix="$BUILD_DIR/artifacts/$t-" -print_final_stats=1 \
       "${dict[@]}" >"$BUILD_DIR/logs/$t.log" 2>&1; then
    echo "fuzz_$t: ok, $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$BUILD_DIR/logs/$t.log" | grep -o '[0-9]*$') runs, $(grep -o 'cov: [0-9]*' "$BUILD_DIR/logs/$t.log" | tail -1)"
  else
    echo "fuzz_$t: FAILED (log: $BUILD_DIR/logs/$t.log)"
    grep -E 'ERROR|SUMMARY|property failed|Test unit written' "$BUILD_DIR/logs/$t.log" | head -20
    return 1
  fi
}
export -f run_one
export BUILD_DIR ROOT LONG SECONDS_EACH
# Two at a time on two cores; each target's result is printed when it ends.
printf '%s\n' "${TARGETS[@]}" | xargs -P "$JOBS" -I{} bash -c 'run_one {}'
echo "==> fuzz: build $((built - start)) s, ${#TARGETS[@]} targets x ${SECONDS_EACH} s in $(( $(date +%s) - built )) s"
