#!/usr/bin/env bash
# Cross-build pisigner for arm64 (Raspberry Pi, Debian 12) on an amd64 Debian 12 host.
#   scripts/cross-build.sh [--deps-only] [--no-deps] [extra cmake args...]
# Installs the cross toolchain, qemu-user and the :arm64 -dev packages (idempotent), then configures
# build-arm64/ with toolchain/aarch64-linux-gnu.cmake and builds the libraries, the three programs
# and the unit tests. BUILD_DIR overrides the build directory, JOBS the parallelism.
# CROSS_TESTS=0 builds the programs only (what the .deb holds; ./dev image uses it).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-arm64}
JOBS=${JOBS:-$(nproc)}

# Host tools, then the libraries the project links, for arm64 (all Multi-Arch: same or header-only).
HOST_PACKAGES=(crossbuild-essential-arm64 qemu-user-static cmake ninja-build pkg-config)
ARM64_PACKAGES=(
  libc6-dev libstdc++-12-dev
  libboost-dev libsodium-dev libsecp256k1-dev libssl-dev libsqlite3-dev
  libspdlog-dev libfmt-dev libtomlplusplus-dev libgtest-dev libgmock-dev
  libhidapi-dev libusb-1.0-0-dev libsdbus-c++-dev libgpiod-dev libi2c-dev libsystemd-dev
)
# Header-only / Multi-Arch: foreign packages: the host's copy serves both architectures.
INDEP_PACKAGES=(nlohmann-json3-dev libcli11-dev)

sudo_() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing_of() {  # prints the packages not installed yet
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}

deps() {
  local updated=0
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    echo "==> dpkg --add-architecture arm64"
    sudo_ dpkg --add-architecture arm64
    sudo_ apt-get update -qq; updated=1
  fi
  local arm=() p
  for p in "${ARM64_PACKAGES[@]}"; do arm+=("$p:arm64"); done
  mapfile -t missing < <(missing_of "${HOST_PACKAGES[@]}" "${INDEP_PACKAGES[@]}" "${arm[@]}")
  if [ ${#missing[@]} -gt 0 ]; then
    echo "==> installing: ${missing[*]}"
    [ $updated = 1 ] || sudo_ apt-get update -qq
    DEBIAN_FRONTEND=noninteractive sudo_ apt-get install -y -qq --no-install-recommends \
      -o DPkg::Lock::Timeout=600 "${missing[@]}"
  fi
}

DEPS=1
case "${1:-}" in
  --deps-only) deps; exit 0 ;;
  --no-deps) DEPS=0; shift ;;
esac
[ $DEPS = 0 ] || deps

# Benchmarks are host-only; the arm64 build is the shipped programs, their man pages (for cpack)
# and the unit tests. `cd build-arm64 && cpack -G DEB` then gives pisigner_<v>_arm64.deb.
# pisigner-uhid-bridge: the test image's Ledger (image/build.sh --test); it has no install rule.
TARGETS=(pisignerd pisignerctl pisigner-vledger pisigner_packaging_docs pisigner-uhid-bridge)
hook=()
grep -q 'add_subdirectory(packaging)' "$ROOT/CMakeLists.txt" ||
  hook=(-DCMAKE_PROJECT_INCLUDE="$ROOT/packaging/project-hook.cmake")
start=$(date +%s)
cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja \
  -DCMAKE_TOOLCHAIN_FILE="$ROOT/toolchain/aarch64-linux-gnu.cmake" \
  -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-RelWithDebInfo}" \
  -DPISIGNER_BUILD_BENCH=OFF "${hook[@]}" "$@" >/dev/null
# Every unit-test executable is a target in tests/ or ledger/emulator/tests; build them by name
# so nothing else (benchmarks, integration helpers of the host) gets compiled.
TEST_TARGETS=()
[ "${CROSS_TESTS:-1}" = 0 ] ||
  mapfile -t TEST_TARGETS < <(cmake --build "$BUILD_DIR" --target help | awk -F: '/_test: phony|_tests: phony/{print $1}')
cmake --build "$BUILD_DIR" -j "$JOBS" --target "${TARGETS[@]}" "${TEST_TARGETS[@]}"
echo "==> arm64 build done in $(( $(date +%s) - start )) s ($BUILD_DIR)"
