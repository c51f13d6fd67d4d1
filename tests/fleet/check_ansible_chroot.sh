#!/bin/bash
# Each role applied twice to a throwaway Debian 12 root through Ansible's chroot connection
# (community.general.chroot, Debian package `ansible`): the first run must succeed, the second
# must change nothing. One minimal root (mmdebstrap) is made and copied for the proxy and a Pi;
# everything lives under WORK_DIR. Opt-in (a few minutes, root, a Debian mirror):
#   PISIGNER_TEST_ANSIBLE_CHROOT=1 ctest -R fleet_ansible_chroot
# usage: check_ansible_chroot.sh SOURCE_DIR WORK_DIR
set -euo pipefail
src=$1 work=$2
if [ "${PISIGNER_TEST_ANSIBLE_CHROOT:-0}" != 1 ]; then
  echo "skipped: set PISIGNER_TEST_ANSIBLE_CHROOT=1 to apply the roles to an mmdebstrap root (~3 min)"
  exit 77
fi
[ "$(id -u)" = 0 ] || { echo "skipped: needs root"; exit 77; }
ansible-doc -t connection community.general.chroot >/dev/null 2>&1 ||
  { echo "skipped: no chroot connection (apt-get install ansible)"; exit 77; }
MIRROR=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
[ -n "$MIRROR" ] || MIRROR=$(awk '$1 == "deb" && $3 ~ /^bookworm$/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
[ -n "$MIRROR" ] || { echo "skipped: no Debian mirror found in the apt sources"; exit 77; }

t0=$(date +%s)
umount_all() { for r in proxy pi1; do umount "$work/$r/proc" 2>/dev/null || true; done; }
trap umount_all EXIT
umount_all
rm -rf "$work" && mkdir -p "$work/home" "$work/tmp"
# mmdebstrap's temporary files in the build tree too (TMPDIR for it alone: the chroot's
# maintainer scripts must not inherit a path that only exists outside).
TMPDIR=$work/tmp mmdebstrap --mode=root --variant=apt --include=systemd,python3,ca-certificates,apt-utils --quiet \
  --dpkgopt=force-unsafe-io --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  bookworm "$work/base.tar" "deb $MIRROR bookworm main"
for r in proxy pi1; do
  mkdir -p "$work/$r" && tar -C "$work/$r" -xf "$work/base.tar"
  printf '#!/bin/sh\nexit 101\n' > "$work/$r/usr/sbin/policy-rc.d" && chmod 755 "$work/$r/usr/sbin/policy-rc.d"
  cp /etc/resolv.conf "$work/$r/etc/resolv.conf"
  echo 'force-unsafe-io' > "$work/$r/etc/dpkg/dpkg.cfg.d/unsafe-io"
  mount -t proc proc "$work/$r/proc"
done
# What the pisigner .deb brings that the role relies on (the .deb itself is tested by
# packaging_deb_install_upgrade): the unit, the user and group, /etc/pisigner.
cp "$src/systemd/pisignerd.service" "$work/pi1/etc/systemd/system/"
cp "$src/systemd/pisigner.sysusers" "$work/pi1/usr/lib/sysusers.d/pisigner.conf"
chroot "$work/pi1" systemd-sysusers >/dev/null
mkdir -p "$work/pi1/etc/pisigner"
t1=$(date +%s)
echo "==> root made in $((t1 - t0)) s"

key() { wg genkey | wg pubkey; }
cat > "$work/hosts.yml" <<INV
all:
  vars:
    ansible_connection: community.general.chroot
    ansible_python_interpreter: /usr/bin/python3
    fleet_baker_pkh: tz1dyX3B1CFYa2DfdFLyPtiJCfQRUgPVME6E
    pisigner_manage_services: false
    signer_proxy_manage_services: false
  children:
    signers:
      hosts:
        pi1: {ansible_host: $work/pi1, wireguard_address: 10.77.0.2, wireguard_public_key: "$(key)"}
        pi2: {ansible_host: $work/pi2-not-applied, wireguard_address: 10.77.0.3, wireguard_public_key: "$(key)"}
    signer_proxies:
      hosts:
        proxy: {ansible_host: $work/proxy, wireguard_address: 10.77.0.1, wireguard_endpoint: 192.0.2.1,
                wireguard_public_key: "$(key)"}
INV
export ANSIBLE_LOCAL_TEMP=$work/tmp ANSIBLE_REMOTE_TEMP=/tmp ANSIBLE_NOCOLOR=1 HOME=$work/home
export ANSIBLE_ROLES_PATH=$src/ansible/roles ANSIBLE_HOST_KEY_CHECKING=False
apply() {  # apply TARGET ROLE RUN -> the PLAY RECAP line of TARGET
  local log=$work/$1-$2-$3.log s=$(date +%s)
  if ! ansible-playbook -i "$work/hosts.yml" "$src/tests/fleet/chroot.yml" -e "target=$1" -e "role=$2" >"$log" 2>&1; then
    tail -60 "$log"; echo "FAIL: $2 on $1, run $3"; exit 1
  fi
  recap=$(grep -E "^$1 +:" "$log")
  echo "==> $2 run $3: $(( $(date +%s) - s )) s: $recap"
}
apply proxy signer_proxy 1
apply proxy signer_proxy 2
echo "$recap" | grep -q 'changed=0 ' || { grep -B2 -A8 '^changed:' "$work/proxy-signer_proxy-2.log" | head -60; echo "FAIL: second signer_proxy run changed something"; exit 1; }
haproxy -c -f "$work/proxy/etc/haproxy/haproxy.cfg" >/dev/null
apply pi1 pisigner 1
apply pi1 pisigner 2
echo "$recap" | grep -q 'changed=0 ' || { grep -B2 -A8 '^changed:' "$work/pi1-pisigner-2.log" | head -60; echo "FAIL: second pisigner run changed something"; exit 1; }
test -s "$work/pi1/etc/pisigner/etcd/client.key"
test -L "$work/pi1/etc/systemd/system/multi-user.target.wants/pisignerd.service"
grep -qx 'IPAddressAllow=10.77.0.0/24' "$work/pi1/etc/systemd/system/pisignerd.service.d/50-tunnel.conf"
echo "==> total $(( $(date +%s) - t0 )) s"
umount_all
rm -rf "$work/proxy" "$work/pi1" "$work/base.tar" "$work/tmp"  # 2 GB; the logs stay
echo PASS
