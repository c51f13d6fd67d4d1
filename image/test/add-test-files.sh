#!/bin/sh
# Adds the test-only files to a root file system: image/test/rootfs/ (boot marker, sshd drop-in)
# and the public half of a login key made for this build (<outdir>/id_ed25519).
#   add-test-files.sh <rootfs> <outdir>
set -eu
R=$1 OUT=$2 HERE=$(cd "$(dirname "$0")" && pwd)
cp -r "$HERE/rootfs/." "$R/"
(cd "$HERE/rootfs" && find . -type f) | while read -r f; do chown 0:0 "$R/$f"; chmod 0644 "$R/$f"; done
rm -f "$OUT/id_ed25519" "$OUT/id_ed25519.pub"
ssh-keygen -q -t ed25519 -N '' -C pisigner-test -f "$OUT/id_ed25519"
install -m 0644 -o 0 -g 0 "$OUT/id_ed25519.pub" "$R/etc/ssh/pisigner-test-authorized_keys"
ln -sf /etc/systemd/system/pisigner-test-ready.service "$R/etc/systemd/system/multi-user.target.wants/"
