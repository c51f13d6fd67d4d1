#!/usr/bin/env bash
# Runs every benchmark in bench/ against binaries already built (Release) in <build-dir>, then prints
# one table. Benchmarks never fail on timing: PASS/MISS against the targets is information.
# Exit status is non-zero only if a benchmark could not run (a server did not start, a client failed).
#   scripts/bench.sh <build-dir> [extra args for bench_sign_latency]
set -euo pipefail
BUILD=${1:?usage: scripts/bench.sh <build-dir>}
shift || true
BUILD=$(cd "$BUILD" && pwd)

PISIGNERD=$BUILD/signer/daemon/pisignerd
BASELINE=$BUILD/bench/bench_baseline_server
for b in "$PISIGNERD" "$BASELINE" "$BUILD/bench/bench_sign_latency" "$BUILD/bench/bench_throughput"; do
  [ -x "$b" ] || { echo "missing $b: build the tree first (./dev bench does, in Release)" >&2; exit 2; }
done
BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BUILD/CMakeCache.txt" 2>/dev/null || true)
[ "$BUILD_TYPE" = Release ] || echo "note: $BUILD is a '${BUILD_TYPE:-unknown}' build; the figures mean most in Release" >&2

OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
status=0
run() {
  echo
  "$@" | tee -a "$OUT" | grep -v '^SUMMARY|' || status=1
}
echo "==> machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(uname -r)"
echo "==> store file system: $(df -T "${TMPDIR:-/tmp}" | awk 'NR==2 {print $2 " on " $1}')"
run "$BUILD/bench/bench_sign_latency" --pisignerd "$PISIGNERD" --baseline "$BASELINE" "$@"
run "$BUILD/bench/bench_throughput" --pisignerd "$PISIGNERD" --baseline "$BASELINE"

echo
echo "==> summary (ratio = pisignerd / baseline, both measured in this run)"
printf '%-28s %12s %12s %8s %11s %6s\n' metric pisignerd baseline ratio target result
grep '^SUMMARY|' "$OUT" | while IFS='|' read -r _ metric mine base ratio target verdict; do
  printf '%-28s %12s %12s %8s %11s %6s\n' "$metric" "$mine" "$base" "$ratio" "$target" "$verdict"
done
exit $status
