#!/usr/bin/env bash
# Figures for bench/: stripped arm64 binary sizes, and pisignerd's resident memory (VmRSS, VmHWM)
# after N signatures (default 10,000) with a soft Ed25519 key, natively and under qemu-aarch64.
# Targets: pisignerd <= 6 MB stripped, RSS <= 16 MB.
#   scripts/sizes.sh [ARM64_BUILD_DIR [NATIVE_BUILD_DIR]]     (defaults build-arm64/ and build/)
# The native and arm64 builds must exist (./dev build, scripts/cross-build.sh). Needs curl.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ARM=${1:-$ROOT/build-arm64}
NAT=${2:-$ROOT/build}
N=${SIGNATURES:-10000}
T=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$T"; }
trap cleanup EXIT

calc() { awk "BEGIN { printf \"%.2f\", $1 }"; }
find_bin() { [ -d "$1" ] || return 0; find "$1" -name "$2" -type f -perm -u+x -not -path '*/CMakeFiles/*' | head -1; }

echo "== stripped arm64 sizes ($ARM)"
for b in pisignerd pisignerctl pisigner-vledger; do
  f=$(find_bin "$ARM" "$b"); [ -n "$f" ] || { echo "$b: not built"; continue; }
  aarch64-linux-gnu-strip -o "$T/$b" "$f"
  printf '%-18s %8d bytes  %5.2f MiB  (unstripped %5.1f MiB)\n' "$b" "$(stat -c %s "$T/$b")" \
    "$(calc "$(stat -c %s "$T/$b") / 1048576")" "$(calc "$(stat -c %s "$f") / 1048576")"
done

# Tenderbake attestation for a tz1 key: 0x13 | chain(4) | branch(32) | tag 0x15 | slot(2) | level | round | hash(32).
# Chain 0xdeadbeef is not mainnet, so the soft key signs without allow_mainnet.
write_requests() {  # write_requests PORT FILE: one curl config entry per signature, levels 1..N
  local pkh=tz1b9kV41KV9N3sp69ycLdSoZ2Ak8jXwtNPv zeros32
  zeros32=$(printf '0%.0s' $(seq 64))
  awk -v n="$N" -v port="$1" -v pkh="$pkh" -v z="$zeros32" 'BEGIN {
    for (i = 1; i <= n; i++) {
      printf "url = \"http://127.0.0.1:%d/keys/%s\"\n", port, pkh
      printf "data = \"\\\"13deadbeef%s150000%08x00000000%s\\\"\"\n", z, i, z
      printf "header = \"Content-Type: application/json\"\n"
      printf "output = \"/dev/null\"\nwrite-out = \"%%{http_code}\\\\n\"\n"
      if (i < n) print "next"
    }
  }' > "$2"
}

measure() {  # measure LABEL PISIGNERD [EMULATOR]
  local label=$1 bin=$2 emu=${3:-} dir=$T/$1
  mkdir -p "$dir/store"
  cat > "$dir/pisigner.toml" <<TOML
[server]
listen = ["127.0.0.1:0"]
admin_listen = ["127.0.0.1:0"]
[store]
path = "$dir/store"
[log]
level = "warn"
[[key]]
backend = "soft"
secret_key = "unencrypted:edsk4TjJWEszkHKono7XMnepVqwi37FrpbVt1KCsifJeAGimxheShG"
TOML
  $emu "$bin" --config "$dir/pisigner.toml" --print-ports > "$dir/out" 2> "$dir/err" &
  local pid=$! port=""
  PIDS+=("$pid")
  for _ in $(seq 300); do port=$(awk '/^LISTENING/{print $2}' "$dir/out"); [ -n "$port" ] && break; sleep 0.1; done
  [ -n "$port" ] || { cat "$dir/err"; echo "$label: did not start"; return 1; }
  local rss0; rss0=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
  write_requests "$port" "$dir/req"
  local t0 t1 ok
  t0=$(date +%s.%N)
  ok=$(curl -s --http1.1 -K "$dir/req" | grep -c '^200$' || true)
  t1=$(date +%s.%N)
  [ "$ok" = "$N" ] || echo "$label: only $ok of $N signatures returned 200" >&2
  printf '%-22s %d signatures in %.1f s; RSS at start %5.1f MiB, after %5.1f MiB, peak (VmHWM) %5.1f MiB\n' \
    "$label" "$ok" "$(calc "$t1 - $t0")" "$(calc "$rss0 / 1024")" \
    "$(awk '/VmRSS/{print $2/1024}' /proc/$pid/status)" "$(awk '/VmHWM/{print $2/1024}' /proc/$pid/status)"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

echo "== pisignerd RSS after $N signatures (soft Ed25519 key, one keep-alive connection)"
nat=$(find_bin "$NAT" pisignerd); arm=$(find_bin "$ARM" pisignerd)
[ -z "$nat" ] || measure native "$nat"
# qemu-user's own memory is included in the process RSS: an upper bound for the Pi.
[ -z "$arm" ] || measure arm64-qemu "$arm" "$(command -v qemu-aarch64-static)"
