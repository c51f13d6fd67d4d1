#!/usr/bin/env bash
# Runs inside the throwaway root built by scripts/test-deb.sh (as an mmdebstrap customize hook):
# install OLD, populate the HWM store, upgrade to NEW, remove, purge; assert at every step.
# usage: deb-checks.sh OLD_VERSION NEW_VERSION   (packages in /tmp/old.deb and /tmp/new.deb)
set -euo pipefail
OLD=$1 NEW=$2
export DEBIAN_FRONTEND=noninteractive
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
CONF=/etc/pisigner/pisigner.toml
STORE=/var/lib/pisigner
PKH=tz1dyX3B1CFYa2DfdFLyPtiJCfQRUgPVME6E

echo "== install $OLD"
apt-get install -y -qq --no-install-recommends /tmp/old.deb >/tmp/apt.log 2>&1 || { cat /tmp/apt.log; fail "install"; }
[ "$(dpkg-query -W -f='${Version}' pisigner)" = "$OLD" ] || fail "installed version"
for f in /usr/bin/pisignerd /usr/bin/pisignerctl /usr/bin/pisigner-vledger \
         /usr/lib/systemd/system/pisignerd.service /usr/lib/systemd/system/pisigner-vledger.service \
         /usr/lib/udev/rules.d/60-pisigner.rules /usr/lib/sysusers.d/pisigner.conf \
         /usr/share/man/man8/pisignerd.8.gz /usr/share/man/man8/pisignerctl.8.gz \
         /usr/share/man/man1/pisigner-vledger.1.gz /usr/share/doc/pisigner/copyright "$CONF"; do
  [ -e "$f" ] || fail "missing $f"
done
ok "files"
getent passwd pisigner | grep -q ':/var/lib/pisigner:/usr/sbin/nologin$' || fail "user: $(getent passwd pisigner)"
getent group pisigner >/dev/null || fail "group pisigner"
[ "$(stat -c '%U:%G %a' "$CONF")" = "root:pisigner 640" ] || fail "conffile owner/mode: $(stat -c '%U:%G %a' "$CONF")"
dpkg-query -W -f='${Conffiles}' pisigner | grep -q "$CONF" || fail "$CONF is not a conffile"
ok "user pisigner, conffile root:pisigner 0640"
[ -L /etc/systemd/system/multi-user.target.wants/pisignerd.service ] || fail "pisignerd.service not enabled"
[ ! -e /etc/systemd/system/multi-user.target.wants/pisigner-vledger.service ] || fail "vledger enabled"
ok "pisignerd enabled, vledger not"
out=$(systemd-analyze verify --man=false pisignerd.service pisigner-vledger.service 2>&1) || fail "verify: $out"
[ -z "$out" ] || fail "verify: $out"
score=$(systemd-analyze security --offline=true pisignerd.service 2>&1 | sed -n 's/.*Overall exposure level for pisignerd.service: \([0-9.]*\).*/\1/p')
awk -v e="$score" 'BEGIN{exit !(e != "" && e <= 2.0)}' || fail "exposure $score"
ok "unit verifies inside the root, exposure $score"
pisignerd --version | grep -q "^pisignerd " || fail "pisignerd does not run"
pisigner-vledger --help >/dev/null || fail "pisigner-vledger does not run"
rc=0; pisignerd --check-config "$CONF" >/dev/null 2>&1 || rc=$?
[ $rc = 78 ] || fail "shipped config: expected 78 (no key), got $rc"
ok "programs run; shipped config waits for a key"

echo "== the store the postinst created, populate it, edit the conffile"
[ "$(stat -c '%U:%G %a' "$STORE")" = "pisigner:pisigner 700" ] || fail "store dir: $(stat -c '%U:%G %a' "$STORE")"
[ "$(stat -c '%U:%G %a' "$STORE/hwm.sqlite")" = "pisigner:pisigner 600" ] || fail "hwm.sqlite: $(stat -c '%U:%G %a' "$STORE/hwm.sqlite")"
[ "$(pisignerctl hwm show --store "$STORE" --json | tr -d ' \n')" = "[]" ] || fail "a new store is not empty"
[ -z "$(find "$STORE" -user root)" ] || fail "root-owned files in the store: $(find "$STORE" -user root)"
rc=0; pisignerctl hwm init --store "$STORE" >/dev/null 2>&1 || rc=$?
[ $rc = 1 ] || fail "hwm init over an existing store: expected 1, got $rc"
ok "postinst created an empty store, pisigner:pisigner 0600; root's reads left no root-owned file"
runuser -u pisigner -- pisignerctl hwm --store "$STORE" set --kind attestation --chain NetXdQprcVkpaWU \
  --pkh "$PKH" --level 4242 --round 3 -y >/dev/null
runuser -u pisigner -- pisignerctl hwm --store "$STORE" set --kind block --chain NetXdQprcVkpaWU \
  --pkh "$PKH" --level 4243 --round 0 -y >/dev/null
ls "$STORE"/hwm.sqlite >/dev/null || fail "no hwm.sqlite"
# As pisigner, and before hashing: a reader may leave -wal/-shm files, and root-owned ones would
# lock the daemon out of its own store.
show() { runuser -u pisigner -- pisignerctl hwm --store "$STORE" show --json; }
before_show=$(show)
before_sum=$(cd "$STORE" && sha256sum hwm.sqlite*)
echo "$before_show" | grep -q '"level": 4242' || fail "store content: $before_show"
sed -i 's/^level = "info"/level = "debug"/' "$CONF"

echo "== upgrade to $NEW"
apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confold /tmp/new.deb >/tmp/apt.log 2>&1 ||
  { cat /tmp/apt.log; fail "upgrade"; }
[ "$(dpkg-query -W -f='${Version}' pisigner)" = "$NEW" ] || fail "upgraded version"
[ "$(cd "$STORE" && sha256sum hwm.sqlite*)" = "$before_sum" ] || fail "hwm.sqlite changed by the upgrade"
[ "$(show)" = "$before_show" ] || fail "records changed by the upgrade"
ok "store byte-identical, same records"
grep -q '^level = "debug"' "$CONF" || fail "the conffile edit was lost"
[ "$(stat -c '%U:%G %a' "$CONF")" = "root:pisigner 640" ] || fail "conffile owner/mode after upgrade"
[ -L /etc/systemd/system/multi-user.target.wants/pisignerd.service ] || fail "not enabled after upgrade"
ok "conffile edit kept, still enabled"

echo "== remove"
# The reads above may have rewritten the -shm index; the reference is the store as it is now.
before_sum=$(cd "$STORE" && sha256sum hwm.sqlite*)
dpkg -r pisigner >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log; fail "remove"; }
[ "$(cd "$STORE" && sha256sum hwm.sqlite*)" = "$before_sum" ] || fail "remove touched the store"
[ -f "$CONF" ] || fail "remove deleted the conffile"
ok "store and config kept on remove"

echo "== purge"
dpkg -P pisigner >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log; fail "purge"; }
grep -q "copied the high-watermark store to /var/backups/pisigner/" /tmp/dpkg.log || { cat /tmp/dpkg.log; fail "no purge message"; }
[ ! -e "$STORE" ] || fail "purge left $STORE"
[ ! -e "$CONF" ] || fail "purge left $CONF"
! dpkg-statoverride --list "$CONF" >/dev/null || fail "statoverride left behind"
backup=$(ls -d /var/backups/pisigner/*/ | head -1)
[ "$(cd "$backup" && sha256sum hwm.sqlite*)" = "$before_sum" ] || fail "backup differs from the store"
ok "purge removed the store after a byte-identical backup in $backup"
echo "ALL CHECKS PASSED"
