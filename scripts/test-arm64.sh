#!/usr/bin/env bash
# Runs the arm64 unit tests under qemu-user: builds build-arm64/ first (scripts/cross-build.sh,
# incremental), then `ctest -L unit`. The toolchain file sets CMAKE_CROSSCOMPILING_EMULATOR to
# qemu-aarch64-static, which ctest and gtest_discover_tests use; the multiarch libc6:arm64
# provides the dynamic loader, so no sysroot (-L) is needed.
#   scripts/test-arm64.sh [ctest args...]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-arm64}
JOBS=${JOBS:-$(nproc)}
start=$(date +%s)
BUILD_DIR=$BUILD_DIR "$ROOT/scripts/cross-build.sh"
built=$(date +%s)
cd "$BUILD_DIR"
# The power-cut sweep (tests/hwm) runs its 1,000 cuts natively; under emulation a smaller one.
export PISIGNER_POWER_CUTS=${PISIGNER_POWER_CUTS:-200}
ctest -L unit --output-on-failure -j "$JOBS" --timeout 900 "$@"
echo "==> arm64: build $((built - start)) s, unit tests under qemu $(( $(date +%s) - built )) s"
