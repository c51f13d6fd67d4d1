#!/usr/bin/env bash
# Runs every benchmark in bench/ against binaries already built (Release) in <build-dir>, then prints
# one table. Benchmarks never fail on timing: PASS/MISS against the targets is information.
# Exit status is non-zero only if a benchmark could not run (a server did not start, a client failed).
#   scripts/bench.sh <build-dir>
# Environment:
#   PISIGNER_BENCH_RT=0      do not run the latency and Ledger benchmarks under SCHED_FIFO (default: when chrt allows)
#   PISIGNER_BENCH_TMPFS=0   skip the diagnostic latency run with both stores on tmpfs (/dev/shm)
#   TMPDIR                   where the stores live for the durable runs (default /tmp)
set -euo pipefail
BUILD=${1:?usage: scripts/bench.sh <build-dir>}
BUILD=$(cd "$BUILD" && pwd)

PISIGNERD=$BUILD/signer/daemon/pisignerd
BASELINE=$BUILD/bench/bench_baseline_server
LATENCY=$BUILD/bench/bench_sign_latency
THROUGHPUT=$BUILD/bench/bench_throughput
for b in "$PISIGNERD" "$BASELINE" "$LATENCY" "$THROUGHPUT"; do
  [ -x "$b" ] || { echo "missing $b: build the tree first (./dev bench does, in Release)" >&2; exit 2; }
done
BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BUILD/CMakeCache.txt" 2>/dev/null || true)
[ "$BUILD_TYPE" = Release ] || echo "note: $BUILD is a '${BUILD_TYPE:-unknown}' build; the figures mean most in Release" >&2

# The latency benchmark keeps at most one core busy (client and server take turns), so it can run
# SCHED_FIFO: other jobs on a shared build machine then cannot delay the wake-ups being measured.
# Both servers inherit the same policy. Throughput saturates the cores, so it runs at normal priority.
RT=()
if [ "${PISIGNER_BENCH_RT:-1}" != 0 ] && chrt -f 1 true 2>/dev/null; then RT=(chrt -f 1); fi

OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
status=0
run() {  # run <label> <command...>: prints the benchmark's report, keeps its SUMMARY lines labelled
  local label=$1; shift
  echo
  "$@" >"$OUT.one" 2>&1 || status=1
  grep -v '^SUMMARY|' "$OUT.one" || true
  if [ -z "$label" ]; then
    grep '^SUMMARY|' "$OUT.one" >>"$OUT" || true
  else  # a diagnostic run: its figures carry no target
    sed -n "s/^SUMMARY|\(.*\)|[^|]*|[^|]*\$/SUMMARY|$label\1|-|-/p" "$OUT.one" >>"$OUT"
  fi
  rm -f "$OUT.one"
}
STORE_FS=$(df -T "${TMPDIR:-/tmp}" | awk 'NR==2 {print $2}')
echo "==> machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), Linux $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "==> stores on ${TMPDIR:-/tmp} ($STORE_FS); latency run ${RT[*]:-at normal priority}"
run "" "${RT[@]}" "$LATENCY" --pisignerd "$PISIGNERD" --baseline "$BASELINE"
if [ "${PISIGNER_BENCH_TMPFS:-1}" != 0 ] && [ -d /dev/shm ]; then
  echo
  echo "==> diagnostic: the same with both stores on tmpfs, where fsync is free: what remains is software"
  TMPDIR=/dev/shm run "tmpfs " "${RT[@]}" "$LATENCY" --pisignerd "$PISIGNERD" --baseline "$BASELINE" --requests 5000
fi
run "" "$THROUGHPUT" --pisignerd "$PISIGNERD" --baseline "$BASELINE"
# Daemon overhead on top of a (virtual) Ledger with a fixed reply delay, health while the device is
# busy or hung, and replug to healthy. Its baseline is the device itself, measured in the same run.
# Its signatures run one at a time (the device's delay dominates), so it runs under the same policy
# as the latency benchmark; the direct client and the virtual Ledgers inherit it.
if [ -x "$BUILD/bench/bench_ledger_overhead" ]; then
  run "" "${RT[@]}" "$BUILD/bench/bench_ledger_overhead"
fi

echo
echo "==> summary (ratio = pisignerd / baseline, both measured in this run; PASS/MISS is information)"
printf '%-32s %11s %11s %7s %10s %6s\n' metric pisignerd baseline ratio target result
grep '^SUMMARY|' "$OUT" | while IFS='|' read -r _ metric mine base ratio target verdict; do
  printf '%-32s %11s %11s %7s %10s %6s\n' "$metric" "$mine" "$base" "$ratio" "$target" "$verdict"
done
exit $status
