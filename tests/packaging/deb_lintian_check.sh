#!/usr/bin/env bash
# Packs the build tree with CPack (into a temporary directory) and runs lintian on the .deb:
# any error fails, and so does any hardening-no-* tag (PIE, RELRO, BIND_NOW, fortify, stack
# protector: some are only "info", hence -I); warnings are printed. Exit 77 (skipped) without lintian.
# usage: deb_lintian_check.sh BUILD_DIR
set -euo pipefail
BUILD=$1
command -v lintian >/dev/null || { echo "skipped: lintian not installed"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
(cd "$BUILD" && cpack -G DEB -B "$T" >"$T/cpack.log" 2>&1) || { cat "$T/cpack.log"; exit 1; }
deb=$(ls "$T"/*.deb)
dpkg-deb -I "$deb" | sed -n 's/^ \(Package\|Version\|Architecture\|Depends\):/&/p'
rc=0
lintian --fail-on error -I "$deb" >"$T/lintian.log" 2>&1 || rc=$?
grep -v "running with root privileges" "$T/lintian.log" || true
[ "$rc" = 0 ] || { echo "FAIL: lintian reported errors" >&2; exit 1; }
if grep -q 'hardening-no-' "$T/lintian.log"; then
  echo "FAIL: lintian hardening tags (see cmake/Hardening.cmake):" >&2
  grep 'hardening-no-' "$T/lintian.log" >&2
  exit 1
fi
echo "lintian: no errors, no hardening-no-* tag"
