#!/usr/bin/env bash
# Builds the amd64 .deb twice (the current version and a lower one), then, in a throwaway Debian 12
# root made by mmdebstrap (--variant=apt, packages from the host's Debian mirror), checks:
#   install of the older build: files, conffile permissions, system user, unit enabled (vledger not),
#     the unit verifies and scores <= 2.0 inside the root, the programs run;
#   upgrade to the current build with a populated HWM store and an edited conffile: hwm.sqlite
#     byte-identical with the same records, the edit kept, the unit still enabled;
#   remove: the store stays; purge: the store goes, after a byte-identical backup in /var/backups.
# Needs root (mmdebstrap --mode=root) and apt access to the Debian mirror. Takes minutes, so the
# ctest wrapper runs it only with PISIGNER_TEST_DEB=1 (otherwise exit 77 = skipped).
#   scripts/test-deb.sh            (BUILD_DIR via PISIGNER_TEST_DEB_BUILD_DIR, default build-deb/)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${PISIGNER_TEST_DEB_BUILD_DIR:-$ROOT/build-deb}
JOBS=${JOBS:-$(nproc)}

if [ "${PISIGNER_TEST_DEB_FROM_CTEST:-0}" = 1 ] && [ "${PISIGNER_TEST_DEB:-0}" != 1 ]; then
  echo "skipped: set PISIGNER_TEST_DEB=1 to build the .deb and test it in an mmdebstrap root (~4 min)"
  exit 77
fi
[ "$(id -u)" = 0 ] || { echo "skipped: needs root (mmdebstrap --mode=root)"; exit 77; }
command -v mmdebstrap >/dev/null || { echo "skipped: mmdebstrap not installed (apt-get install mmdebstrap)"; exit 77; }

t0=$(date +%s)
hook=()
grep -q 'add_subdirectory(packaging)' "$ROOT/CMakeLists.txt" ||
  hook=(-DCMAKE_PROJECT_INCLUDE="$ROOT/packaging/project-hook.cmake")
VERSION=$(sed -n 's/^project(pisigner VERSION \([0-9.]*\).*/\1/p' "$ROOT/CMakeLists.txt")
OLD_VERSION="$VERSION~test0"   # sorts below $VERSION
mkdir -p "$BUILD"
WORK=$(mktemp -d "$BUILD/rootfs.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

build_deb() {  # build_deb VERSION -> path of the .deb
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPISIGNER_BUILD_TESTS=OFF \
    -DPISIGNER_BUILD_BENCH=OFF -DPISIGNER_DEB_VERSION="$1" "${hook[@]}" >/dev/null
  cmake --build "$BUILD" -j "$JOBS" >/dev/null
  (cd "$BUILD" && cpack -G DEB >/dev/null)
  echo "$BUILD/pisigner_$1_amd64.deb"
}
OLD_DEB=$(build_deb "$OLD_VERSION")
NEW_DEB=$(build_deb "$VERSION")
cp "$OLD_DEB" "$WORK/old.deb"; cp "$NEW_DEB" "$WORK/new.deb"
t1=$(date +%s)
echo "==> packages built in $((t1 - t0)) s: $(basename "$OLD_DEB") $(basename "$NEW_DEB")"

# The host's own Debian mirror (deb822 or one-line sources), so the root uses what apt already uses.
MIRROR=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
[ -n "$MIRROR" ] || MIRROR=$(awk '$1 == "deb" && $3 ~ /^bookworm$/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
[ -n "$MIRROR" ] || { echo "skipped: no Debian mirror found in the apt sources"; exit 77; }
# systemd: the package depends on it; everything else comes from the package's Depends via apt.
mmdebstrap --mode=root --variant=apt --include=systemd --quiet \
  --dpkgopt=force-unsafe-io --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/pisigner/*' \
  --customize-hook="copy-in $WORK/old.deb $WORK/new.deb $ROOT/scripts/deb-checks.sh /tmp" \
  --customize-hook='chroot "$1" bash /tmp/deb-checks.sh '"$OLD_VERSION $VERSION" \
  bookworm "$WORK/root" "deb $MIRROR bookworm main"
t2=$(date +%s)
echo "==> mmdebstrap root + install/upgrade/remove/purge checks: $((t2 - t1)) s (total $((t2 - t0)) s)"
echo "PASS"
