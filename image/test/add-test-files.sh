#!/bin/sh
# Adds the test-only files to a root file system: image/test/rootfs/ (boot marker, sshd drop-in),
# the public half of a login key made for this build (<outdir>/id_ed25519), and the uhid bridge
# (the test's Ledger, cross-built). Lists every path it added in <outdir>/added, which
# remove-test-files.sh undoes and check-release.sh looks for in the release image.
#   add-test-files.sh <rootfs> <outdir> <arm64 pisigner-uhid-bridge>
set -eu
R=$1 OUT=$2 BRIDGE=$3 HERE=$(cd "$(dirname "$0")" && pwd)
[ -x "$BRIDGE" ] || { echo "add-test-files: no uhid bridge at $BRIDGE" >&2; exit 1; }
(cd "$HERE/rootfs" && find . -type f | sed 's|^\.||') > "$OUT/added"
cp -r "$HERE/rootfs/." "$R/"
while read -r f; do chown 0:0 "$R$f"; chmod 0644 "$R$f"; done < "$OUT/added"
rm -f "$OUT/id_ed25519" "$OUT/id_ed25519.pub"
ssh-keygen -q -t ed25519 -N '' -C pisigner-test -f "$OUT/id_ed25519"
install -m 0644 -o 0 -g 0 "$OUT/id_ed25519.pub" "$R/etc/ssh/pisigner-test-authorized_keys"
install -D -m 0755 -o 0 -g 0 "$BRIDGE" "$R/usr/lib/pisigner-test/pisigner-uhid-bridge"
ln -sf /etc/systemd/system/pisigner-test-ready.service "$R/etc/systemd/system/multi-user.target.wants/"
printf '%s\n' /etc/ssh/pisigner-test-authorized_keys /usr/lib/pisigner-test/pisigner-uhid-bridge \
  /usr/lib/pisigner-test /etc/systemd/system/multi-user.target.wants/pisigner-test-ready.service >> "$OUT/added"
