#!/bin/sh
# mmdebstrap --customize-hook: makes the finished root file system the SD image's.
# The configuration a Pi runs with (firewall, sshd, journald, the polkit power-off rule, which
# units run) comes from the fleet's Ansible role, pisigner, in image mode (ansible/image.yml),
# applied here through Ansible's chroot connection: the same role provisions a Pi over SSH.
# What stays here and in image/rootfs/ is the image's own mechanics: the read-only root and its
# data partition (fstab, the initramfs scripts, state moved to /data), first boot (program, unit),
# boot (config.txt additions, initramfs), no per-device identity.
# $1 is the root, IMAGE_DIR the image/ directory, IMAGE_LOG where Ansible's output goes.
set -eu
R="$1"
: "${IMAGE_DIR:?}" "${IMAGE_LOG:?}"

# Files of the image: copied as root, so root owns them; no group/other write whatever the checkout's umask.
cp -r --preserve=mode "$IMAGE_DIR/rootfs/." "$R/"
(cd "$IMAGE_DIR/rootfs" && find . -type f) | while read -r f; do chmod go-w "$R/$f"; done
chmod 0755 "$R/usr/lib/pisigner-image/firstboot" "$R/etc/initramfs/post-update.d/z60-pisigner-ro" \
  "$R/etc/initramfs-tools/scripts/init-bottom/pisigner-data"

# The role. Its modules run in the root with the root's python3 (arm64, under qemu-user); Ansible's
# temporary files go to the root's /tmp and are removed with whatever else it leaves there.
ANSIBLE_DIR=$(cd "$IMAGE_DIR/../ansible" && pwd)
atmp=$(mktemp -d /tmp/pisigner-image-ansible.XXXXXX)
touch "$atmp/stamp"
t_role=$(date +%s)
if ! (cd "$atmp" && HOME=$atmp ANSIBLE_CONFIG="$ANSIBLE_DIR/ansible.cfg" ANSIBLE_LOCAL_TEMP=$atmp/local \
      ANSIBLE_REMOTE_TEMP=/tmp/.ansible-image ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 \
      ansible-playbook -i "$R," "$ANSIBLE_DIR/image.yml") > "$IMAGE_LOG" 2>&1; then
  tail -40 "$IMAGE_LOG" >&2
  echo "image: the pisigner role (ansible/image.yml) failed on the root; log: $IMAGE_LOG" >&2
  exit 1
fi
# The play runs Python with PYTHONDONTWRITEBYTECODE; bytecode written anyway would be a leftover.
pyc=$(find "$R" -xdev -newer "$atmp/stamp" -name '*.pyc' -print -delete | wc -l)
find "$R" -xdev -newer "$atmp/stamp" -type d -name __pycache__ -empty -delete
[ "$pyc" = 0 ] || echo "image: removed $pyc .pyc files the role's run left" >&2
rm -rf "$atmp" "$R/tmp/.ansible-image" "$R/root/.ansible"
install -d -m 0700 "$R/root/.ansible"  # a tmpfs on the Pi (fstab)
echo "image: pisigner role applied in $(( $(date +%s) - t_role )) s: $(grep -E '^[^ ]+ +: ok=' "$IMAGE_LOG" | sed 's/^[^:]*: *//; s/  */ /g')"

echo pisigner > "$R/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tpisigner\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "$R/etc/hosts"
# NetworkManager writes the resolver configuration under /run; the root is read-only.
ln -sfn /run/NetworkManager/resolv.conf "$R/etc/resolv.conf"
# Empty, not "uninitialized": the initramfs binds the data partition's id over it (an
# "uninitialized" one would make systemd run preset-all on a first boot, enabling etcd).
: > "$R/etc/machine-id"

# First boot on (the role set the others: firewall on, etcd off, apt and scrub timers masked).
chroot "$R" systemctl enable --quiet pisigner-firstboot.service

# Everything systemd-tmpfiles would create in /var and /etc at boot exists already: on the
# read-only root it could not, and systemd-tmpfiles-setup would fail.
chroot "$R" systemd-tmpfiles --create --exclude-prefix=/dev --exclude-prefix=/proc --exclude-prefix=/sys \
  --exclude-prefix=/run --exclude-prefix=/tmp --exclude-prefix=/var/tmp >/dev/null 2>&1 || true

# State onto the data partition: genimage makes the data file system from /data (build.sh), and
# /etc/fstab binds each directory back. The mount points stay, empty, on the read-only root.
install -d -m 0755 "$R/data"
move_to_data() {  # move_to_data <dir under /> <name under /data> <mode if new>
  if [ -d "$R$1" ]; then cp -a "$R$1" "$R/data/$2"; rm -rf "${R:?}$1"; else install -d -m "$3" "$R/data/$2"; fi
  install -d -m 0755 "$R$1"
}
move_to_data /var/tmp tmp 1777
move_to_data /var/log log 0755
move_to_data /var/lib/pisigner pisigner 0700
move_to_data /var/lib/etcd etcd 0700
move_to_data /var/lib/systemd systemd 0755
move_to_data /var/lib/private private 0700
move_to_data /var/lib/NetworkManager NetworkManager 0755
move_to_data /var/lib/chrony chrony 0755

# Per-device identity is made on the device: no SSH host keys in the image (pisigner-firstboot
# makes one on the data partition), no machine id (the initramfs makes one there).
rm -f "$R"/etc/ssh/ssh_host_*
ln -sfn /etc/machine-id "$R/var/lib/dbus/machine-id"
rm -f "$R/data/systemd/random-seed"
rm -f "$R/data/log/"*.log "$R/data/log/apt/"* 2>/dev/null || true

# Boot: label-based root, serial console; the initramfs once, with the modules a Pi and QEMU need.
sed -i 's|^#\?ROOTPART=.*|ROOTPART=LABEL=PSROOT|; s|^#\?CONSOLES=.*|CONSOLES="tty0 ttyS1,115200"|' \
  "$R/etc/default/raspi-firmware"
printf 'MODULES=list\nFSTYPE=ext4\nCOMPRESS=gzip\n' > "$R/etc/initramfs-tools/conf.d/pisigner.conf"
printf '%s\n' virtio_pci virtio_mmio virtio_blk sdhci_iproc bcm2835 reset_raspberrypi xhci_pci \
  xhci_plat_hcd dwc2 usb_storage uas sd_mod ext4 vfat nls_cp437 nls_ascii >> "$R/etc/initramfs-tools/modules"
rm -f "$R/usr/sbin/update-initramfs"
chroot "$R" dpkg-divert --quiet --local --rename --remove /usr/sbin/update-initramfs
chroot "$R" update-initramfs -c -k all >/dev/null

# apt's downloads and lists: not needed on the device (updates bring their own), 40+ MB.
rm -rf "$R"/var/cache/apt/*.bin "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/archives/*.deb
