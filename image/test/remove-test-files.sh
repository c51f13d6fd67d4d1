#!/bin/sh
# Undoes add-test-files.sh on a root file system: removes every path it listed in <outdir>/added.
#   remove-test-files.sh <rootfs> <outdir>
set -eu
R=$1 OUT=$2
while read -r f; do rm -rf "${R:?}$f"; done < "$OUT/added"
