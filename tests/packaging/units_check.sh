#!/usr/bin/env bash
# Checks the real unit files as the package installs them:
#  - `cmake --install` of the build tree into a throwaway root (so every ExecStart= binary exists),
#    plus a copy of the host's systemd units (targets the units refer to);
#  - the installed units are byte-identical to systemd/*.service;
#  - `systemd-analyze verify --root` prints nothing (it exits 0 on unknown keys, so output is failure);
#  - every Documentation=man: page is installed;
#  - `systemd-analyze security --offline` exposure <= 2.0 for each unit, and for pisignerd with the
#    tunnel drop-in the provisioning writes (packaging/examples/50-tunnel.conf).
# usage: units_check.sh BUILD_DIR SYSTEMD_SRC_DIR
set -euo pipefail
BUILD=$1 SRC=$2
MAX_EXPOSURE=${MAX_EXPOSURE:-2.0}
R=$(mktemp -d)
trap 'rm -rf "$R"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

DESTDIR=$R cmake --install "$BUILD" --prefix /usr >/dev/null
UNITS=(pisignerd.service pisigner-vledger.service)
for u in "${UNITS[@]}"; do
  cmp "$SRC/$u" "$R/usr/lib/systemd/system/$u" || fail "$u: installed copy differs from the source"
done
cp -an /usr/lib/systemd/system/. "$R/usr/lib/systemd/system/"

out=$(systemd-analyze verify --man=false --root="$R" "${UNITS[@]}" 2>&1) || fail "verify exited non-zero: $out"
[ -z "$out" ] || fail "systemd-analyze verify: $out"
echo "verify: clean"

for u in "${UNITS[@]}"; do
  for ref in $(sed -n 's/^Documentation=//p' "$SRC/$u"); do
    case $ref in
      man:*) page=${ref#man:}; name=${page%(*}; sec=${page##*(}; sec=${sec%)}
             [ -f "$R/usr/share/man/man$sec/$name.$sec.gz" ] || fail "$u: $ref not installed" ;;
    esac
  done
done
echo "man pages: present"

exposure() {  # exposure UNIT -> prints the overall exposure (0.0-10.0)
  systemd-analyze security --offline=true --root="$R" "$1" 2>&1 |
    sed -n "s/.*Overall exposure level for $1: \([0-9.]*\).*/\1/p"
}
check_exposure() {  # check_exposure UNIT LABEL
  local e; e=$(exposure "$1")
  [ -n "$e" ] || fail "$1: no exposure score from systemd-analyze security"
  echo "exposure $2: $e (max $MAX_EXPOSURE)"
  awk -v e="$e" -v m="$MAX_EXPOSURE" 'BEGIN{exit !(e <= m)}' || fail "$1: exposure $e > $MAX_EXPOSURE"
}
for u in "${UNITS[@]}"; do check_exposure "$u" "$u"; done

mkdir -p "$R/etc/systemd/system/pisignerd.service.d"
cp "$SRC/../packaging/examples/50-tunnel.conf" "$R/etc/systemd/system/pisignerd.service.d/"
report=$(systemd-analyze security --offline=true --root="$R" pisignerd.service 2>&1)
grep -q "non-localhost entries" <<<"$report" || fail "the tunnel drop-in was not applied: $report"
check_exposure pisignerd.service "pisignerd.service + 50-tunnel.conf"
