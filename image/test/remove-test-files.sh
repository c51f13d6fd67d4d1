#!/bin/sh
# Undoes add-test-files.sh on a root file system.
#   remove-test-files.sh <rootfs>
set -eu
R=$1 HERE=$(cd "$(dirname "$0")" && pwd)
(cd "$HERE/rootfs" && find . -type f) | while read -r f; do rm -f "$R/$f"; done
rm -f "$R/etc/ssh/pisigner-test-authorized_keys" "$R/etc/systemd/system/multi-user.target.wants/pisigner-test-ready.service"
