#!/usr/bin/env bash
# A release image holds none of the test-only files (boot marker, test login key, sshd drop-in,
# uhid bridge: every path add-test-files.sh listed in <added>), no SSH host key, no login key and
# no machine id: those are made on each device. Its configuration is the fleet role's.
#   check-release.sh <release .img> <added (build-image/test/added)>
set -euo pipefail
IMG=${1:?usage: check-release.sh <image> <added>} ADDED=${2:?usage: check-release.sh <image> <added>}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
part() {  # part <n> <file>: copy partition n out of the image
  local start size
  read -r start size < <(partx -g -o START,SECTORS -n "$1" "$IMG")
  dd if="$IMG" of="$2" bs=512 skip="$start" count="$size" conv=sparse status=none
}
part 2 "$work/root.ext4"; part 3 "$work/data.ext4"
bad=0
exists() { debugfs -R "stat $2" "$1" 2>&1 | grep -q '^Inode:'; }
mapfile -t test_files < "$ADDED"
[ ${#test_files[@]} -ge 4 ] || { echo "check-release: $ADDED lists ${#test_files[@]} test-only paths" >&2; exit 1; }
for f in "${test_files[@]}" /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_rsa_key /etc/ssh/ssh_host_ecdsa_key /root/.ssh/authorized_keys; do
  if exists "$work/root.ext4" "$f"; then echo "check-release: the release root has $f" >&2; bad=1; fi
done
for f in /ssh /machine-id; do
  if exists "$work/data.ext4" "$f"; then echo "check-release: the release data partition has $f" >&2; bad=1; fi
done
if [ -n "$(debugfs -R 'cat /etc/machine-id' "$work/root.ext4" 2>/dev/null)" ]; then
  echo "check-release: the release root has a machine id" >&2; bad=1
fi
# The configuration is the fleet role's (ansible/image.yml): its files carry the role's managed
# comment, its units are set, and nothing of Ansible's run is left in the root.
for f in /etc/nftables.conf /etc/ssh/sshd_config.d/50-pisigner.conf /etc/systemd/journald.conf.d/50-pisigner.conf \
    /etc/polkit-1/rules.d/50-pisigner-poweroff.rules; do
  debugfs -R "cat $f" "$work/root.ext4" 2>/dev/null | grep -q 'Managed by Ansible (role pisigner)' ||
    { echo "check-release: $f is not the pisigner role's" >&2; bad=1; }
done
for f in /etc/systemd/system/sysinit.target.wants/nftables.service /etc/systemd/system/apt-daily.timer \
    /etc/systemd/system/multi-user.target.wants/pisigner-firstboot.service; do
  exists "$work/root.ext4" "$f" || { echo "check-release: $f missing (unit not enabled or masked)" >&2; bad=1; }
done
for f in /etc/systemd/system/multi-user.target.wants/etcd.service /root/.ansible/tmp /tmp/.ansible-image; do
  if exists "$work/root.ext4" "$f"; then echo "check-release: the release root has $f" >&2; bad=1; fi
done
# /root/.ansible is only the mount point of a tmpfs (fstab): empty.
left=$(debugfs -R 'ls -l /root/.ansible' "$work/root.ext4" 2>/dev/null | awk '$NF != "." && $NF != ".." && NF > 1' | grep -c . || true)
[ "$left" = 0 ] || { echo "check-release: /root/.ansible in the release root is not empty" >&2; bad=1; }
[ $bad = 0 ] && echo "check-release: $IMG has none of the ${#test_files[@]} test-only paths, no host key, login key or machine id;" \
  "its configuration is the pisigner role's"
exit $bad
