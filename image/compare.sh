#!/usr/bin/env bash
# Two builds of one commit must have the same root file system contents: the same package
# versions, and the same paths with the same types, modes and owners (image/build.sh writes both
# lists to <build dir>/out/manifest and /files; mtimes are clamped to SOURCE_DATE_EPOCH).
#   image/compare.sh <build dir A> <build dir B>
set -euo pipefail
A=${1:?usage: compare.sh <build dir A> <build dir B>} B=${2:?}
rc=0
for f in manifest files; do
  if ! diff -u "$A/out/$f" "$B/out/$f" > "$B/out/$f.diff"; then
    echo "compare: $f differ ($(grep -c '^[-+][^-+]' "$B/out/$f.diff") lines, $B/out/$f.diff):" >&2
    head -20 "$B/out/$f.diff" >&2; rc=1
  fi
done
[ $rc = 1 ] || echo "compare: same packages and versions ($(wc -l < "$A/out/manifest")), same files, modes and owners ($(wc -l < "$A/out/files"))"
exit $rc
