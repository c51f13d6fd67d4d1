#!/bin/sh
# mmdebstrap --customize-hook: the image's configuration, applied to the finished root file system.
# This is the one place the fleet's Ansible role (pisigner) takes over later: the files of
# image/rootfs/ plus the steps below. $1 is the root, IMAGE_DIR the image/ directory.
set -eu
R="$1"
: "${IMAGE_DIR:?}"

# Files of the image: copied as root, so root owns them; no group/other write whatever the checkout's umask.
cp -r --preserve=mode "$IMAGE_DIR/rootfs/." "$R/"
(cd "$IMAGE_DIR/rootfs" && find . -type f) | while read -r f; do chmod go-w "$R/$f"; done
chmod 0755 "$R/usr/lib/pisigner-image/firstboot" "$R/etc/initramfs/post-update.d/z60-pisigner-ro" \
  "$R/etc/initramfs-tools/scripts/init-bottom/pisigner-data"

echo pisigner > "$R/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tpisigner\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "$R/etc/hosts"
# NetworkManager writes the resolver configuration under /run; the root is read-only.
ln -sfn /run/NetworkManager/resolv.conf "$R/etc/resolv.conf"
# Empty, not "uninitialized": the initramfs binds the data partition's id over it (an
# "uninitialized" one would make systemd run preset-all on a first boot, enabling etcd).
: > "$R/etc/machine-id"

# Units: the firewall and first boot on; etcd off until the fleet's provisioning configures it;
# no jobs that write to the root (apt lists, dpkg backups) or scrub LVM the image does not have.
chroot "$R" systemctl enable --quiet nftables.service pisigner-firstboot.service
chroot "$R" systemctl disable --quiet etcd.service
chroot "$R" systemctl mask --quiet apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer \
  e2scrub_all.timer e2scrub_reap.service

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
chroot "$R" install -d -m 2755 -g systemd-journal /data/log/journal

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
