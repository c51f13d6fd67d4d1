#!/usr/bin/env bash
# ctest image_boot: image/build.sh --test, then image/test/check-release.sh on the release image
# and image/test/boot-test.sh on the test image. Prints the build, boot and total times.
#   tests/image/image_test.sh <host pisigner-vledger>
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${PISIGNER_IMAGE_BUILD_DIR:-$ROOT/build-image}
if [ "${PISIGNER_TEST_IMAGE:-0}" != 1 ]; then
  echo "skipped: set PISIGNER_TEST_IMAGE=1 to build the SD image and boot it in QEMU (~10 min)"; exit 77
fi
[ "$(id -u)" = 0 ] || { echo "skipped: needs root (mmdebstrap --mode=root)"; exit 77; }
t0=$SECONDS
# The arm64 part of ./dev test has built build-arm64/ (tests too): keep them, rebuild nothing.
# IMAGE_LOCK=warn: a Debian point release that moved the pinned versions off the mirror is not a
# failure of the image; `./dev image` (strict) is where the lock is enforced.
IMAGE_BUILD_DIR=$B CROSS_TESTS=${CROSS_TESTS:-1} IMAGE_XZ_LEVEL=${IMAGE_XZ_LEVEL:-6} IMAGE_LOCK=${IMAGE_LOCK:-warn} \
  "$ROOT/image/build.sh" --test
built=$SECONDS
"$ROOT/image/test/check-release.sh" "$(ls "$B"/out/pisigner-*-arm64.img)" "$B/test/added"
"$ROOT/image/test/boot-test.sh" "$B" "$1" "${PISIGNER_DEB:-$(ls -t "$ROOT"/build-arm64/pisigner_*_arm64.deb | head -1)}"
echo "image_boot: build $((built - t0)) s, checks and boots $((SECONDS - built)) s, total $((SECONDS - t0)) s"
