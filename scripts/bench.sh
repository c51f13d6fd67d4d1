#!/usr/bin/env bash
# Runs every benchmark in bench/ against binaries already built (Release) in <build-dir>, then prints
# one table. Benchmarks never fail on timing: PASS/MISS against the targets is information.
# Exit status is non-zero only if a benchmark could not run (a server did not start, a client failed).
#   scripts/bench.sh <build-dir>
# Environment:
#   PISIGNER_BENCH_RT=0      no SCHED_FIFO anywhere (default: only the Ledger benchmark, when chrt allows)
#   PISIGNER_BENCH_RT=1      the idle latency benchmark under SCHED_FIFO too
#   PISIGNER_BENCH_TMPFS=0   skip the diagnostic latency run with both stores on tmpfs (/dev/shm)
#   PISIGNER_BENCH_PYTHON=0  skip the Python http.client runs
#   PISIGNER_BENCH_NODE=0    skip the Node http (keep-alive Agent) runs
#   bench_cluster runs when etcd is installed (./dev installs etcd-server)
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

# Latency runs at normal priority, as a baker's client and signer do: once on an otherwise idle
# machine and once with two CPU-bound processes (normal priority, no SCHED_FIFO) competing for the
# cores, so the figures show what the extra hand-offs between threads cost when cores are busy.
# The Ledger benchmark (one signature at a time, the device's delay dominates) runs under SCHED_FIFO
# when allowed, so a shared build machine's noise cannot delay the wake-ups it measures; its target
# is defined that way. PISIGNER_BENCH_RT=0 turns that off; PISIGNER_BENCH_RT=1 also runs the idle
# latency benchmark under SCHED_FIFO.
RT=()
LEDGER_RT=()
if [ "${PISIGNER_BENCH_RT:-}" != 0 ] && chrt -f 1 true 2>/dev/null; then
  LEDGER_RT=(chrt -f 1)
  if [ "${PISIGNER_BENCH_RT:-}" = 1 ]; then RT=(chrt -f 1); fi
fi

OUT=$(mktemp)
HOGS=()
stop_hogs() { for p in "${HOGS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; HOGS=(); }
trap 'stop_hogs; rm -f "$OUT"' EXIT
start_hogs() {  # two CPU-bound processes at normal priority
  for _ in 1 2; do ( while :; do :; done ) & HOGS+=($!); done
}
busy() { start_hogs; "$@"; stop_hogs; }  # busy <command...>: runs it beside the two CPU-bound processes
status=0
run() {  # run <label> <with-target 0|1> <command...>: prints the report, keeps its SUMMARY lines labelled
  local label=$1 with_target=$2; shift 2
  echo
  "$@" >"$OUT.one" 2>&1 || status=1
  grep -v '^SUMMARY|' "$OUT.one" || true
  if [ "$with_target" = 1 ]; then
    sed -n "s/^SUMMARY|/SUMMARY|$label/p" "$OUT.one" >>"$OUT"
  else  # a diagnostic run: its figures carry no target
    sed -n "s/^SUMMARY|\(.*\)|[^|]*|[^|]*\$/SUMMARY|$label\1|-|-/p" "$OUT.one" >>"$OUT"
  fi
  rm -f "$OUT.one"
}
STORE_FS=$(df -T "${TMPDIR:-/tmp}" | awk 'NR==2 {print $2}')
echo "==> machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), Linux $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "==> stores on ${TMPDIR:-/tmp} ($STORE_FS); idle latency run ${RT[*]:-at normal priority}"
# Ordinary keep-alive clients, independent of the C++ one, each sequential and with 8 processes on 8
# keys, idle and busy: Python's http.client (attestations) and Node's http with a keep-alive Agent
# (blocks, as a Taquito-based baker tool sends them).
other_client() {  # other_client <label> <interpreter> <script>
  local label=$1; shift
  local client=("$@" --serve "$BUILD/bench/bench_serve")
  run "" 1 "${client[@]}" --label "$label "
  echo
  echo "==> busy: the $label client with two CPU-bound processes at normal priority beside it"
  busy run "" 1 "${client[@]}" --label "$label busy "
}
# One pass has a spread between runs (+-0.15 on a ratio here) as wide as the distance from some
# figures to their targets; several passes, interleaved so a slow minute lands on one pass of each
# figure, and their medians say more than any one of them.
REPEAT=${PISIGNER_BENCH_REPEAT:-3}
for pass in $(seq "$REPEAT"); do
  echo
  echo "==> pass $pass of $REPEAT"
  run "" 1 "${RT[@]}" "$LATENCY" --pisignerd "$PISIGNERD" --baseline "$BASELINE"
  echo
  echo "==> busy: the same with two CPU-bound processes at normal priority beside it"
  busy run "busy " 1 "$LATENCY" --pisignerd "$PISIGNERD" --baseline "$BASELINE"
  if [ "$pass" = 1 ] && [ "${PISIGNER_BENCH_TMPFS:-1}" != 0 ] && [ -d /dev/shm ]; then
    echo
    echo "==> diagnostic: the same (idle) with both stores on tmpfs, where fsync is free: what remains is software"
    TMPDIR=/dev/shm run "tmpfs " 0 "${RT[@]}" "$LATENCY" --pisignerd "$PISIGNERD" --baseline "$BASELINE" --requests 5000
  fi
  run "" 1 "$THROUGHPUT" --pisignerd "$PISIGNERD" --baseline "$BASELINE"
  echo
  echo "==> busy: 8 clients with two CPU-bound processes at normal priority beside them"
  busy run "busy " 1 "$THROUGHPUT" --pisignerd "$PISIGNERD" --baseline "$BASELINE"
  # The shared watermark: pisignerd with its etcd step beside the bare CAS txn on the same
  # three-member loopback cluster (Debian's etcd-server; skipped when it is not installed).
  if [ -x "$BUILD/bench/bench_cluster" ] && command -v etcd >/dev/null; then
    run "" 1 "$BUILD/bench/bench_cluster" --pisignerd "$PISIGNERD" --baseline "$BASELINE"
  fi
  if [ -x "$BUILD/bench/bench_serve" ]; then
    if [ "${PISIGNER_BENCH_PYTHON:-1}" != 0 ] && command -v python3 >/dev/null; then
      other_client python python3 "$(dirname "$0")/../bench/http_client.py"
    fi
    if [ "${PISIGNER_BENCH_NODE:-1}" != 0 ] && command -v node >/dev/null; then
      other_client node node "$(dirname "$0")/../bench/http_client.mjs"
    fi
  fi
done
# Daemon overhead on top of a (virtual) Ledger with a fixed reply delay, health while the device is
# busy or hung, and replug to healthy. Its baseline is the device itself, measured in the same run.
if [ -x "$BUILD/bench/bench_ledger_overhead" ]; then
  run "" 1 "${LEDGER_RT[@]}" "$BUILD/bench/bench_ledger_overhead"
fi

echo
echo "==> summary (ratio = pisignerd / baseline, both measured in this run; PASS/MISS is information)"
echo "    with several passes: the median of each figure, the ratio's range over the passes, the verdict on the median"
scripts_dir=$(dirname "$0")
"$scripts_dir/bench-summary.awk" "$OUT"
exit $status
