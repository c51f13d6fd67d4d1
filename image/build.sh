#!/usr/bin/env bash
# Builds the SD card image: a Debian 12 arm64 root (mmdebstrap) with the pisigner .deb of this
# commit, configured by the fleet's Ansible role (ansible/image.yml, through the chroot connection:
# hooks/customize.sh), laid out by genimage as FAT boot + read-only ext4 root + ext4 data partition.
#   image/build.sh [--test]
# Outputs in build-image/out/: pisigner-<version>-arm64.img.xz, .img.bmap, SHA256SUMS, manifest
# (package versions) and files (path, mode, owner of every file in the root and data partitions).
# --test also builds build-image/test/pisigner-test.img: the same root plus the test-only files
# of image/test/ (boot marker, test login key, the uhid bridge); release images never contain them.
# Run as root (mmdebstrap root mode, loop-free genimage). ./dev image installs the tools first.
# IMAGE_BUILD_DIR overrides build-image/, PISIGNER_DEB skips the cross-build and uses that .deb,
# IMAGE_XZ_LEVEL (default 6) trades compression time for size.
# Package versions are pinned by image/packages.lock (every package of the root but pisigner):
# IMAGE_LOCK=strict (default) fails when the mirror gave other versions, warn only says so,
# update rewrites the lock from this build (`./dev image --lock`, after a Debian point release).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
IMG=$ROOT/image
B=${IMAGE_BUILD_DIR:-$ROOT/build-image}
TEST=0
case "${1:-}" in --test) TEST=1 ;; "") ;; *) sed -n '2,16p' "$0"; exit 2 ;; esac
LOCK=$IMG/packages.lock
case "${IMAGE_LOCK:=strict}" in strict | warn | update) ;; *) echo "image: IMAGE_LOCK=strict|warn|update" >&2; exit 2 ;; esac
t0=$SECONDS
step() { echo "==> image: $* ($((SECONDS - t0)) s)"; }

# arm64 binaries (maintainer scripts, the initramfs build) run through qemu-user; these machines
# do not mount binfmt_misc, so the package's registration stays disabled until this.
mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
update-binfmts --enable qemu-aarch64 2>/dev/null || true
arch-test arm64 >/dev/null || { echo "image: arm64 programs do not run here (binfmt qemu-aarch64)" >&2; exit 1; }

# The image's configuration is the fleet's role, applied through Ansible's chroot connection
# (Debian's `ansible`, which brings community.general).
command -v ansible-playbook >/dev/null && ansible-doc -t connection community.general.chroot >/dev/null 2>&1 ||
  { echo "image: needs ansible-playbook and community.general.chroot (apt-get install ansible)" >&2; exit 1; }

if [ -z "${PISIGNER_DEB:-}" ]; then
  step "arm64 .deb of this commit (build-arm64/)"
  CROSS_TESTS=${CROSS_TESTS:-0} "$ROOT/scripts/cross-build.sh"
  (cd "$ROOT/build-arm64" && cpack -G DEB >/dev/null)
  PISIGNER_DEB=$(ls -t "$ROOT"/build-arm64/pisigner_*_arm64.deb | head -1)
fi
VERSION=$(dpkg-deb -f "$PISIGNER_DEB" Version)
BRIDGE=$ROOT/build-arm64/tests/image/pisigner-uhid-bridge
[ $TEST = 0 ] || [ -x "$BRIDGE" ] || { echo "image: --test needs $BRIDGE (scripts/cross-build.sh)" >&2; exit 1; }
# Same commit, same timestamps: mmdebstrap clamps every mtime and its logs to this.
SOURCE_DATE_EPOCH=$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || stat -c %Y "$IMG/packages")
export SOURCE_DATE_EPOCH

rm -rf "$B/rootfs" "$B/tmp" "$B/out" "$B/test"
mkdir -p "$B/rootfs" "$B/input" "$B/out" "$B/test"

# raspi-firmware is in non-free-firmware, which the host's sources do not enable: name the mirrors.
MIRROR=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
SECMIRROR=$(awk '/^URIs:/{print $2}' /etc/apt/sources.list.d/debian.sources 2>/dev/null | sed -n 2p || true)
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECMIRROR=${SECMIRROR:-http://deb.debian.org/debian-security}
PKGS=$(grep -v '^#' "$IMG/packages" | grep . | paste -sd, -)

step "root file system (mmdebstrap, Debian 12 arm64, pisigner $VERSION)"
# apt (outside) and dpkg (inside the root) both open the local .deb by its path: it lives at the
# same path on both sides (the setup hook copies it in, the customize hook removes it).
DEBDIR=$(mktemp -d /tmp/pisigner-image-deb.XXXXXX)
trap 'rm -rf "$DEBDIR"' EXIT
cp "$PISIGNER_DEB" "$DEBDIR/pisigner_${VERSION}_arm64.deb"
# The lock as apt preferences (priority 1001: that version, even a downgrade), for the essential
# set and the rest alike; in the root only while mmdebstrap installs, so the device's apt is free.
PREFS=pisigner-image-lock.pref
if [ "$IMAGE_LOCK" != update ]; then
  awk '!/^#/ && NF >= 2 && $1 != "pisigner" { printf "Package: %s\nPin: version %s\nPin-Priority: 1001\n\n", $1, $2 }' \
    "$LOCK" > "$DEBDIR/$PREFS"
else
  : > "$DEBDIR/$PREFS"
fi
IMAGE_DIR=$IMG IMAGE_LOG=$B/ansible.log mmdebstrap --mode=root --variant=apt --architectures=arm64 \
  --components=main,non-free-firmware --include="$PKGS,$DEBDIR/pisigner_${VERSION}_arm64.deb" \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --setup-hook="mkdir -p \"\$1$DEBDIR\" && cp $DEBDIR/*.deb \"\$1$DEBDIR/\"" \
  --setup-hook="mkdir -p \"\$1/etc/apt/preferences.d\" && cp $DEBDIR/$PREFS \"\$1/etc/apt/preferences.d/\"" \
  --essential-hook="$IMG/hooks/essential.sh" \
  --customize-hook="rm -rf \"\$1$DEBDIR\" \"\$1/etc/apt/preferences.d/$PREFS\"" \
  --customize-hook="$IMG/hooks/customize.sh" \
  bookworm "$B/rootfs" \
  "deb $MIRROR bookworm main non-free-firmware" \
  "deb $MIRROR bookworm-updates main non-free-firmware" \
  "deb $SECMIRROR bookworm-security main non-free-firmware"
t_root=$((SECONDS - t0))

# What two builds of one commit must agree on (image/compare.sh): package versions, and every
# file's path, type, mode and owner (mtimes are clamped; contents are checked by the versions).
chroot "$B/rootfs" dpkg-query -W -f='${Package} ${Version} ${Architecture}\n' | LC_ALL=C sort > "$B/out/manifest"
(cd "$B/rootfs" && find . -path ./proc -prune -o -path ./sys -prune -o -path ./dev -prune -o \
  -printf '%p %y %m %U:%G\n' | LC_ALL=C sort) > "$B/out/files"

# The pinned package set: the root must hold exactly the lock's packages and versions.
grep -v '^pisigner ' "$B/out/manifest" > "$B/out/manifest.locked"
if [ "$IMAGE_LOCK" = update ]; then
  { echo "# image/packages.lock: every package of the SD image's root and its version (not pisigner)."
    echo "# Written by ./dev image --lock from $(grep -c . "$B/out/manifest.locked") packages on $(date -u +%F); image/build.sh pins them."
    cat "$B/out/manifest.locked"; } > "$LOCK"
  echo "==> image: wrote $LOCK"
elif ! diff -u <(grep -v '^#' "$LOCK") "$B/out/manifest.locked" > "$B/out/lock.diff"; then
  echo "image: the root's packages differ from image/packages.lock (the mirror has moved on?):" >&2
  grep '^[-+][^-+]' "$B/out/lock.diff" | head -20 >&2
  echo "image: ./dev image --lock rewrites the lock from this mirror; IMAGE_LOCK=warn builds anyway" >&2
  [ "$IMAGE_LOCK" = warn ] || exit 1
fi
rm -f "$B/out/manifest.locked"

genimage_() {  # genimage_ <rootfs> <outdir>
  rm -rf "$B/tmp"
  genimage --config "$IMG/genimage.cfg" --rootpath "$1" --tmppath "$B/tmp" \
    --inputpath "$B/input" --outputpath "$2" >"$2/genimage.log" 2>&1 ||
    { cat "$2/genimage.log" >&2; return 1; }
  rm -rf "$B/tmp"
}
step "partitions (genimage): boot, read-only root, data"
genimage_ "$B/rootfs" "$B/out"
NAME=pisigner-$VERSION-arm64
mv "$B/out/sdcard.img" "$B/out/$NAME.img"

if [ $TEST = 1 ]; then
  step "test image: release root + image/test/ (boot marker, test login key, uhid bridge)"
  "$IMG/test/add-test-files.sh" "$B/rootfs" "$B/test" "$BRIDGE"
  genimage_ "$B/rootfs" "$B/test"
  mv "$B/test/sdcard.img" "$B/test/pisigner-test.img"
  "$IMG/test/remove-test-files.sh" "$B/rootfs" "$B/test"
fi

step "compress (xz -T2 -${IMAGE_XZ_LEVEL:-6}), bmap, SHA256SUMS"
bmaptool -q create -o "$B/out/$NAME.img.bmap" "$B/out/$NAME.img"
installed=$(du -s --block-size=1M "$B/out/$NAME.img" | cut -f1)
xz -T2 -"${IMAGE_XZ_LEVEL:-6}" -f --keep "$B/out/$NAME.img"
(cd "$B/out" && sha256sum "$NAME.img.xz" "$NAME.img.bmap" > SHA256SUMS)
compressed=$(( $(stat -c %s "$B/out/$NAME.img.xz") / 1048576 ))
rootsz=$(du -sx --block-size=1M "$B/rootfs" | cut -f1)
echo "==> image: $B/out/$NAME.img.xz"
echo "    build time $((SECONDS - t0)) s (root file system $t_root s); compressed ${compressed} MiB;" \
  "installed ${rootsz} MiB in the root file system, ${installed} MiB allocated in the image"
