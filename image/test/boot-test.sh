#!/usr/bin/env bash
# Boots the test image (image/build.sh --test) in qemu-system-aarch64 -M virt with the image's own
# kernel and initrd, and checks it as a baker would find it. Two boots of one disk, an SD card
# 512 MiB larger than the image:
#   1. first-boot files: a config with a USB Ledger (device = "hid"), a host name, a login key:
#      multi-user reached, no failed unit, partitions and read-only root, the data partition grown
#      to the card's end, firewall, pisignerd active as user pisigner, /healthz 200, /authorized
#      503 naming the missing Ledger. Then a Ledger appears for real: the uhid bridge (test images
#      only) makes the kernel see one, relaying to the host's pisigner-vledger; pisignerd opens
#      /dev/hidrawN (udev rule, DeviceAllow): /authorized 200, a signature; bridge stopped: 503;
#      started again: 200 and a signature, the same pisignerd process throughout.
#   2. nothing new on the boot partition: nothing changes (files, root file system writes, /data).
#      Then, in the same boot, new first-boot files and pisigner-firstboot run again as at boot:
#      a config whose Ledger is the virtual one over TCP and etcd certificates: installed, signs;
#      each of a broken pisigner.toml, wg0.conf, hostname, etcd certificate: the signer stops,
#      one line naming the file on the console and in the journal, nothing installed.
#      Then a new pisigner .deb through the fleet's role over SSH (its root_writable, package and
#      root_readonly tasks, with the handlers between, as main.yml runs them): the root made
#      writable, the package upgraded, pisignerd restarted, the root read-only again, the HWM store
#      kept; and with a process still running a file the upgrade replaced, the run succeeds, says
#      the root stays writable until the next boot, and it does.
# Everything goes through loopback: QEMU forwards 127.0.0.1:<port> to the guest's sshd, and an ssh
# session forwards the guest's signer API to the host and the host's virtual Ledger to the guest
# (so the image's hardened unit, loopback only, is exactly the release one). The guest reaches
# nothing else: QEMU's user network is restricted (restrict=on; the forwards still work).
#   image/test/boot-test.sh <build-image dir> <host pisigner-vledger> <the image's pisigner .deb>
set -euo pipefail
B=$(cd "${1:?usage: boot-test.sh <build-image dir> <pisigner-vledger>}" && pwd)
VLEDGER=${2:?usage: boot-test.sh <build-image dir> <pisigner-vledger> <.deb>}
DEB=${3:?usage: boot-test.sh <build-image dir> <pisigner-vledger> <.deb>}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
W=$B/boot-test
KEY=$B/test/id_ed25519
t0=$SECONDS
rm -rf "$W"; mkdir -p "$W"

CHAIN=NetXxkAx4woPLyu                       # a test chain (id ed9d217c), as scripts/demo.sh
LPATH="m/44'/1729'/0'/0'"
PKH=tz1dyX3B1CFYa2DfdFLyPtiJCfQRUgPVME6E     # the Ledger TEST seed's Ed25519 key at that path
att() {  # att <level>: a Tenderbake attestation (magic 0x13) on the test chain at that level, round 0
  printf '13ed9d217cfc81eee810737b04018acef4db74d056b79edc43e6be46cae7e4c217c22a82f0150012%08x00000000%s' "$1" \
    03e7ea1f67dbb0bb6cfa372cb092cd9cf786b4f1b5e5139da95b915fb95e698d
}
BRIDGE=/usr/lib/pisigner-test/pisigner-uhid-bridge

pids=(); qpid=""; fwd=""
cleanup() {
  [ -z "$fwd" ] || kill "$fwd" 2>/dev/null || true
  [ -z "$qpid" ] || kill "$qpid" 2>/dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
die() { echo "boot-test: FAIL: $*" >&2; echo "--- console (last 40 lines) ---" >&2; tail -40 "$W/console.log" >&2 || true; exit 1; }
ok() { echo "boot-test: ok: $*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The disk: a sparse copy of the test image on a card 512 MiB larger, with the first-boot files
# of boot 1 in its FAT.
cp --sparse=always "$B/test/pisigner-test.img" "$W/disk.img"
DATA_MIB=$(( $(partx -g -o SECTORS -n 3 "$W/disk.img") / 2048 ))
truncate -s +512M "$W/disk.img"
FAT="$W/disk.img@@$(( $(partx -g -o START -n 1 "$W/disk.img") * 512 ))"
K=$(mdir -b -i "$FAT" :: | grep -o 'vmlinuz-[^ /]*' | head -1)
I=$(mdir -b -i "$FAT" :: | grep -o 'initrd.img-[^ /]*' | head -1)
[ -n "$K" ] && [ -n "$I" ] || die "no kernel or initrd in the boot partition"
mcopy -n -i "$FAT" "::$K" "$W/vmlinuz"; mcopy -n -i "$FAT" "::$I" "$W/initrd.img"

config() {  # config <device>: a pisigner.toml with one Ledger key on that device
  cat <<TOML
[server]
listen = ["127.0.0.1:6732"]
[store]
path = "/var/lib/pisigner"
[policy]
magic_bytes = ["0x11", "0x12", "0x13"]
chains = ["$CHAIN"]
[[key]]
backend = "ledger"
device = "$1"
path = "$LPATH"
curve = "ed25519"
pkh = "$PKH"
TOML
}
config hid > "$W/pisigner.toml"
echo pisigner-a > "$W/hostname"
cp "$KEY.pub" "$W/authorized_keys"
mcopy -i "$FAT" "$W/pisigner.toml" "$W/hostname" "$W/authorized_keys" ::

SSH_PORT=$(free_port)
SSH_OPTS=(-q -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
          -o ConnectTimeout=10 -o ServerAliveInterval=5 -o IdentitiesOnly=yes -i "$KEY" -p "$SSH_PORT")
SSH=(ssh "${SSH_OPTS[@]}" root@127.0.0.1)
g() { "${SSH[@]}" "PATH=/usr/sbin:/usr/bin:/sbin:/bin; $*"; }

qemu-system-aarch64 -M virt -cpu cortex-a72 -m 1024 -smp 2 -display none -monitor none \
  -serial "file:$W/console.log" -kernel "$W/vmlinuz" -initrd "$W/initrd.img" \
  -append "root=LABEL=PSROOT ro rootwait console=ttyAMA0 net.ifnames=0" \
  -drive "file=$W/disk.img,format=raw,if=virtio" \
  -netdev "user,id=n,restrict=on,hostfwd=tcp:127.0.0.1:$SSH_PORT-:22" -device virtio-net-pci,netdev=n,romfile= &
qpid=$!

boots=0
wait_ready() {  # the next boot's marker on the console, then ssh
  boots=$((boots + 1))
  local start=$SECONDS
  until [ "$(grep -c PISIGNER-TEST-READY "$W/console.log" 2>/dev/null)" -ge $boots ]; do
    kill -0 "$qpid" 2>/dev/null || die "QEMU exited during boot $boots"
    [ $((SECONDS - start)) -lt 300 ] || die "boot $boots: no ready marker after 300 s"
    sleep 1
  done
  until g true 2>/dev/null; do
    [ $((SECONDS - start)) -lt 330 ] || die "boot $boots: no ssh"
    sleep 1
  done
  echo "boot-test: boot $boots ready in $((SECONDS - start)) s ($(grep PISIGNER-TEST-READY "$W/console.log" | tail -1 | tr -d '\r'))"
}
reboot_() { g 'systemctl reboot' || true; wait_ready; }

API_PORT=$(free_port)
forward() {  # forward [<vledger port>]: guest 127.0.0.1:6732 -> host API_PORT (and host vledger -> guest :9999)
  if [ -n "$fwd" ]; then kill "$fwd" 2>/dev/null || true; wait "$fwd" 2>/dev/null || true; fi
  local r=()
  [ -z "${1:-}" ] || r=(-R "127.0.0.1:9999:127.0.0.1:$1")
  ssh "${SSH_OPTS[@]}" -N -o ExitOnForwardFailure=yes -L "127.0.0.1:$API_PORT:127.0.0.1:6732" "${r[@]}" root@127.0.0.1 &
  fwd=$!
  sleep 1
}
http() {  # http <path> [body]: prints "<status> <body>"
  local args=(-s -o "$W/body" -w '%{http_code}' --max-time 20)
  [ -z "${2:-}" ] || args+=(-X POST -H 'Content-Type: application/json' -d "$2")
  local code; code=$(curl "${args[@]}" "http://127.0.0.1:$API_PORT$1" || true)
  echo "$code $(cat "$W/body" 2>/dev/null)"
}
eventually_http() {  # eventually_http <path> <status> <seconds>
  local end=$((SECONDS + $3)) r
  while :; do
    r=$(http "$1"); [ "${r%% *}" = "$2" ] && { echo "$r"; return 0; }
    [ $SECONDS -lt $end ] || { echo "$r"; return 1; }
    sleep 1
  done
}

# ---- boot 1: first boot with a configuration whose Ledger is not plugged in ----
wait_ready
state=$(g 'systemctl is-system-running --wait' || true)
[ "$state" = running ] || die "system state '$state', failed units: $(g 'systemctl --failed --no-legend --plain' | tr '\n' ' ')"
ok "multi-user reached, no failed unit"
grep -Eq '(^|,)ro(,|$)' <<<"$(g 'findmnt -n -o OPTIONS /')" || die "root is not read-only: $(g 'findmnt -n -o SOURCE,OPTIONS /')"
for m in /boot/firmware:PSBOOT /data:PSDATA /var/lib/pisigner: /var/log: /var/lib/etcd:; do
  src=$(g "findmnt -n -o SOURCE,LABEL ${m%%:*}" || true)
  [ -n "$src" ] || die "${m%%:*} is not mounted"
  [ -z "${m#*:}" ] || grep -q "${m#*:}" <<<"$src" || die "${m%%:*} is $src, not label ${m#*:}"
done
grep -q vda2 <<<"$(g 'findmnt -n -o SOURCE /')" || die "/ is not the image's root partition"
ok "root read-only on partition 2; /boot/firmware, /data and its binds mounted"
part_mib=$(( $(g 'cat /sys/class/block/vda3/size') / 2048 ))
fs_mib=$(g 'df --output=size -B1M /data | tail -1' | tr -d ' ')
[ "$part_mib" -ge $((DATA_MIB + 500)) ] && [ "$fs_mib" -ge $((DATA_MIB + 400)) ] ||
  die "data partition not grown to the card's end: partition $part_mib MiB, file system $fs_mib MiB (image: $DATA_MIB MiB)"
grep -aq 'pisigner-firstboot: grew the data partition' "$W/console.log" || die "no console line about growing /data"
ok "data partition grown from $DATA_MIB to $part_mib MiB (file system $fs_mib MiB)"
grep -q 'table inet pisigner' <<<"$(g 'nft list ruleset')" || die "firewall ruleset not loaded"
grep -q 'policy drop' <<<"$(g 'nft list chain inet pisigner input')" || die "firewall input policy is not drop"
ok "firewall loaded (input policy drop)"
[ "$(g 'systemctl is-active pisignerd')" = active ] || die "pisignerd not active: $(g 'journalctl -b -u pisignerd -u pisigner-firstboot --no-pager | tail -5')"
[ "$(g 'ps -o user= -C pisignerd')" = pisigner ] || die "pisignerd does not run as user pisigner"
[ "$(g 'systemctl show -p ProtectSystem --value pisignerd')" = strict ] || die "pisignerd is not the hardened unit"
ok "pisignerd active as user pisigner, hardened unit"
# The fleet role's configuration (ansible/image.yml), as the running system has it.
sshd_t=$(g 'sshd -T' | grep -E '^(permitrootlogin|passwordauthentication|authenticationmethods|maxauthtries|hostkey) ' | sort | tr '\n' ' ')
grep -Eq 'permitrootlogin (without|prohibit)-password' <<<"$sshd_t" && grep -q 'maxauthtries 3' <<<"$sshd_t" &&
  grep -q 'passwordauthentication no' <<<"$sshd_t" && grep -q 'hostkey /data/ssh/ssh_host_ed25519_key' <<<"$sshd_t" ||
  die "sshd does not run with the role's settings: $sshd_t"
ppid_=$(g 'systemctl show -p MainPID --value pisignerd')
g "pkcheck --action-id org.freedesktop.login1.power-off --process $ppid_" >/dev/null ||
  die "polkit does not let pisignerd power off through logind (the role's rule)"
! g "pkcheck --action-id org.freedesktop.login1.reboot --process $ppid_" >/dev/null 2>&1 ||
  die "polkit lets pisignerd reboot: the rule must allow power-off only"
ok "the fleet role's sshd settings in effect; polkit: pisignerd may power off, not reboot"
[ "$(g hostname)" = pisigner-a ] || die "host name not set from the boot partition"
[ -z "$(g 'ls /boot/firmware/pisigner.toml /boot/firmware/authorized_keys /boot/firmware/hostname 2>/dev/null')" ] ||
  die "first-boot files not wiped from the boot partition"
[ "$(g 'stat -c "%U:%G %a" /etc/pisigner/pisigner.toml')" = "root:pisigner 640" ] || die "config owner/mode"
[ "$(g 'stat -c "%a" /root/.ssh/authorized_keys')" = 600 ] || die "authorized_keys mode"
g 'test -s /data/ssh/ssh_host_ed25519_key && test -s /data/machine-id' || die "no host key or machine id on /data"
ok "first-boot files installed (owners, modes), wiped from FAT; host key and machine id on /data"
"$VLEDGER" --apdu-port 0 --control-port 0 --print-ready --authorize "$LPATH" --curve ed25519 \
  --state-file "$W/vledger.json" > "$W/vledger.ready" 2> "$W/vledger.log" &
pids+=($!)
for _ in $(seq 50); do grep -q apdu= "$W/vledger.ready" && break; sleep 0.2; done
VPORT=$(sed -n 's/.*apdu=\([0-9]*\).*/\1/p' "$W/vledger.ready")
[ -n "$VPORT" ] || die "pisigner-vledger did not start: $(cat "$W/vledger.log")"
forward "$VPORT"
r=$(eventually_http /healthz 200 30) || die "/healthz: $r"
ok "/healthz 200"
r=$(eventually_http /authorized 503 30) || die "/authorized with no Ledger: $r"
grep -qi ledger <<<"$r" || die "/authorized 503 does not name the Ledger: $r"
ok "/authorized 503: ${r:0:160}"

# ---- boot 1, a Ledger on "USB": uhid -> hidraw -> hidapi, removed and plugged in again ----
sign() {  # sign <level>: an attestation at that level must come back signed
  local r; r=$(http "/keys/$PKH" "\"$(att "$1")\"")
  [ "${r%% *}" = 200 ] && grep -q '"signature" *: *"edsig' <<<"$r" || die "signing at level $1: $r"
  echo "${r:0:100}"
}
plug() {  # plug: the bridge, as a transient unit; waits for its hidraw node with the udev rule's group
  g "systemd-run --quiet --collect --unit=pisigner-test-ledger $BRIDGE tcp://127.0.0.1:9999" || die "cannot start the uhid bridge"
  local end=$((SECONDS + 30)) node=""
  until [ "$node" = "pisigner 660" ]; do
    [ $SECONDS -lt $end ] || die "no hidraw node of group pisigner, mode 660: '$node' ($(g 'journalctl -u pisigner-test-ledger --no-pager | tail -3'))"
    sleep 1; node=$(g 'stat -c "%G %a" /dev/hidraw* 2>/dev/null' || true)
  done
}
pid=$(g 'systemctl show -p MainPID --value pisignerd')
plug
ok "uhid Ledger plugged in: $(g 'ls -l /dev/hidraw*' | awk '{print $1, $3, $4, $NF}')"
r=$(eventually_http /authorized 200 60) || die "/authorized with the uhid Ledger: $r"
g "ls -l /proc/$pid/fd | grep -q hidraw" || die "pisignerd has no /dev/hidraw* open"
ok "/authorized 200, pisignerd talks to /dev/hidraw*"
sig=$(sign 1) || exit 1
ok "a signature through hidapi -> hidraw -> uhid: $sig"
g 'systemctl stop pisigner-test-ledger' || die "cannot stop the uhid bridge"
r=$(eventually_http /authorized 503 30) || die "/authorized after the Ledger left: $r"
ok "Ledger removed: /authorized 503: ${r:0:120}"
plug
r=$(eventually_http /authorized 200 60) || die "/authorized after the Ledger came back: $r"
sig=$(sign 2) || exit 1
ok "Ledger plugged in again: /authorized 200; $sig"
[ "$(g 'systemctl show -p MainPID --value pisignerd')" = "$pid" ] && [ "$(g 'systemctl show -p NRestarts --value pisignerd')" = 0 ] ||
  die "pisignerd was restarted while the Ledger came and went"
ok "the same pisignerd process (pid $pid) throughout"

# ---- boot 2: nothing new: nothing changes ----
# What the first boot installed or made, and /data's size. (The root's superblock is no witness:
# its last write time moves on a boot that never makes it writable.)
STATE="md5sum /etc/pisigner/pisigner.toml /root/.ssh/authorized_keys /etc/hostname /data/ssh/ssh_host_ed25519_key \
  /data/machine-id /etc/machine-id; cat /sys/class/block/vda3/size"
before=$(g "$STATE")
reboot_
after=$(g "$STATE")
[ "$before" = "$after" ] || die "a boot with nothing new changed something (files; /data sectors): $before / $after"
fb=$(g 'journalctl -b -u pisigner-firstboot --no-pager -o cat')
! grep -Eq 'installed|grew' <<<"$fb" || die "pisigner-firstboot changed something on a boot with nothing new: $fb"
[ "$(g 'systemctl is-active pisignerd')" = active ] || die "pisignerd not active on the second boot"
ok "second boot, nothing new: configuration, keys, machine id and /data unchanged, signer active"

# ---- boot 2: new first-boot files, pisigner-firstboot run again as at boot ----
# etcd certificates: a CA and a client certificate from it, and one from another CA.
E=$W/etcd; mkdir -p "$E"
for ca in ca other; do
  openssl req -x509 -newkey ed25519 -nodes -keyout "$E/$ca.key" -out "$E/$ca.crt" -subj "/CN=test $ca" -days 30 2>/dev/null
done
openssl req -new -newkey ed25519 -nodes -keyout "$E/client.key" -out "$E/client.csr" -subj /CN=pisigner-a 2>/dev/null
for ca in ca other; do
  openssl x509 -req -in "$E/client.csr" -CA "$E/$ca.crt" -CAkey "$E/$ca.key" -set_serial 1 -days 30 \
    -out "$E/client-$ca.crt" 2>/dev/null
done
put() {  # put <name on the boot partition> <host file>
  g "mkdir -p \"\$(dirname /boot/firmware/$1)\" && cat > /boot/firmware/$1" < "$2"
}
rerun() { g 'systemctl restart pisigner-firstboot' 2>&1; }
INSTALLED='md5sum /etc/pisigner/pisigner.toml /etc/hostname /etc/pisigner/etcd/* 2>&1; ls /etc/wireguard 2>&1'
config tcp://127.0.0.1:9999 > "$W/pisigner.toml"
put pisigner.toml "$W/pisigner.toml"
put etcd/ca.crt "$E/ca.crt"; put etcd/client.crt "$E/client-ca.crt"; put etcd/client.key "$E/client.key"
rerun || die "pisigner-firstboot refused a good config and certificates: $(g 'journalctl -u pisigner-firstboot -n 3 --no-pager -o cat')"
g 'systemctl start pisignerd' || die "pisignerd did not start"
[ "$(g 'stat -c "%U:%G %a" /etc/pisigner/etcd/client.key /etc/pisigner/etcd/ca.crt' | tr '\n' ' ')" = "root:pisigner 640 root:pisigner 644 " ] ||
  die "etcd files' owners/modes: $(g 'ls -l /etc/pisigner/etcd')"
[ -z "$(g 'ls -A /boot/firmware/pisigner.toml /boot/firmware/etcd 2>/dev/null')" ] || die "first-boot files not wiped"
forward "$VPORT"
r=$(eventually_http /authorized 200 60) || die "/authorized with the virtual Ledger over TCP: $r"
sig=$(sign 3) || exit 1
ok "new config (virtual Ledger over TCP) and etcd certificates installed (root:pisigner 640/644): /authorized 200; $sig"

bad() {  # bad <what> <expected start of the line>: the files are on the boot partition already
  local want=$1 before after id fb line n
  n=$(grep -ac 'pisigner-firstboot: /boot/firmware/' "$W/console.log" || true)
  before=$(g "$INSTALLED")
  ! rerun >/dev/null || die "pisigner-firstboot accepted $want"
  id=$(g 'systemctl show -p InvocationID --value pisigner-firstboot')
  for _ in 1 2 3 4 5; do
    fb=$(g "journalctl --no-pager -o cat _SYSTEMD_INVOCATION_ID=$id" | grep 'pisigner-firstboot: ' || true)
    [ -z "$fb" ] || break; sleep 1
  done
  [ "$(grep -c . <<<"$fb")" = 1 ] || die "$want: not exactly one journal line: $fb"
  grep -qF "pisigner-firstboot: $want" <<<"$fb" && grep -q 'the signer stays stopped' <<<"$fb" ||
    die "$want: the journal line does not name the file or the stopped signer: $fb"
  line=""
  for _ in $(seq 10); do
    line=$(grep -a 'pisigner-firstboot: /boot/firmware/' "$W/console.log" | tail -n +$((n + 1)) | tr -d '\r')
    [ -z "$line" ] || break; sleep 1
  done
  grep -qF "pisigner-firstboot: $want" <<<"$line" || die "$want: not on the console (new lines: '$line')"
  line=$(grep -F "pisigner-firstboot: $want" <<<"$line" | tail -1)
  [ "$(g 'systemctl is-active pisignerd' || true)" != active ] || die "pisignerd runs after $want"
  after=$(g "$INSTALLED")
  [ "$before" = "$after" ] || die "$want: something was installed: $before / $after"
  ok "signer stopped, nothing installed; console and journal: $line"
}
good_again() {  # good_again <files on the boot partition to remove>: the signer runs again
  g "rm -rf $*" && rerun >/dev/null && g 'systemctl start pisignerd' || die "the signer does not start again after removing $*"
}
printf '[server]\nlisten = 6732\n' > "$W/bad.toml"; put pisigner.toml "$W/bad.toml"
bad /boot/firmware/pisigner.toml
g 'test -e /boot/firmware/pisigner.toml' || die "the broken pisigner.toml was removed from the boot partition"
good_again /boot/firmware/pisigner.toml
printf '[Interface]\nAddress = 10.77.0.1/24\nListenPort = 51820\n' > "$W/wg0.conf"; put wg0.conf "$W/wg0.conf"
bad "/boot/firmware/wg0.conf: no PrivateKey"
good_again /boot/firmware/wg0.conf
echo 'Bad_Host!' > "$W/bad-hostname"; put hostname "$W/bad-hostname"
bad "/boot/firmware/hostname: \"Bad_Host!\" is not a host name"
good_again /boot/firmware/hostname
put etcd/ca.crt "$E/ca.crt"; put etcd/client.crt "$E/client-other.crt"; put etcd/client.key "$E/client.key"
bad "/boot/firmware/etcd/client.crt: not signed by etcd/ca.crt"
good_again /boot/firmware/etcd
[ "$(g 'systemctl is-active pisignerd')" = active ] || die "pisignerd not active at the end"
ok "each broken first-boot file refused alone; the signer runs again once it is gone"

# ---- boot 2: a new .deb through the fleet's role over SSH, on the read-only root ----
# The image's own package with a higher version (repacked: same files, so the guest can run it,
# and dpkg still replaces every one of them, as an upgrade does).
repack() {  # repack <suffix>: prints the path of the repacked .deb
  local d=$W/deb-$1 v
  rm -rf "$d"; mkdir -p "$d"; dpkg-deb -R "$DEB" "$d/pkg"
  v="$(dpkg-deb -f "$DEB" Version)+$1"
  sed -i "s/^Version: .*/Version: $v/" "$d/pkg/DEBIAN/control"
  dpkg-deb -b "$d/pkg" "$d/pisigner_${v}_arm64.deb" >/dev/null
  echo "$d/pisigner_${v}_arm64.deb"
}
cat > "$W/inventory.ini" <<INV
pi ansible_host=127.0.0.1 ansible_port=$SSH_PORT ansible_user=root ansible_ssh_private_key_file=$KEY ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes'
INV
cat > "$W/update.yml" <<'YML'
- name: A new pisigner .deb on a flashed Pi, the role's tasks in main.yml's order
  hosts: pi
  gather_facts: false
  vars:
    pisigner_sd_image: true
  tasks:
    - name: Root writable
      ansible.builtin.include_role: {name: pisigner, tasks_from: root_writable.yml}
    - name: The package
      ansible.builtin.include_role: {name: pisigner, tasks_from: package.yml}
    - name: Handlers
      ansible.builtin.meta: flush_handlers
    - name: Root read-only again
      ansible.builtin.include_role: {name: pisigner, tasks_from: root_readonly.yml}
YML
play() {  # play <.deb>: the update play; its output in $W/play.log
  local t=$SECONDS rc=0
  (cd "$W" && ANSIBLE_CONFIG="$ROOT/ansible/ansible.cfg" ANSIBLE_LOCAL_TEMP="$W/ansible-local" ANSIBLE_NOCOLOR=1 \
    ANSIBLE_RETRY_FILES_ENABLED=0 ansible-playbook -i "$W/inventory.ini" -e "pisigner_deb=$1" "$W/update.yml") \
    > "$W/play.log" 2>&1 || rc=$?
  echo "boot-test: the role's update play took $((SECONDS - t)) s"
  [ $rc = 0 ] || { tail -30 "$W/play.log" >&2; die "the role's update play failed (rc $rc)"; }
}
ro_root() { grep -Eq '(^|,)ro(,|$)' <<<"$(g 'findmnt -n -o OPTIONS /')"; }
ro_root || die "the root is not read-only before the update"
pid=$(g 'systemctl show -p MainPID --value pisignerd')
NEW=$(repack update1)
play "$NEW"
ro_root || die "the root is not read-only after the update: $(g 'findmnt -n -o OPTIONS /')"
[ "$(g "dpkg-query -W -f '\${Version}' pisigner")" = "$(dpkg-deb -f "$NEW" Version)" ] ||
  die "pisigner is not the new version: $(g 'dpkg-query -W pisigner')"
npid=$(g 'systemctl show -p MainPID --value pisignerd')
[ "$(g 'systemctl is-active pisignerd')" = active ] && [ "$npid" != "$pid" ] || die "pisignerd not restarted onto the new package"
[ "$(g 'findmnt -n -o FSTYPE /root/.ansible')" = tmpfs ] || die "Ansible's working directory /root/.ansible is not a tmpfs"
[ -z "$(g 'find /root/.ansible -mindepth 1 ! -type d')" ] || die "Ansible left files: $(g 'find /root/.ansible -mindepth 1')"
r=$(eventually_http /authorized 200 60) || die "/authorized after the update: $r"
sig=$(sign 4) || exit 1
r=$(http "/keys/$PKH" "\"$(att 2)\"")
[ "${r%% *}" != 200 ] || die "level 2 signed again after the update: the HWM store was not kept"
ok "update to $(dpkg-deb -f "$NEW" Version) through the role: root writable for the run and read-only again, pisignerd restarted (pid $pid -> $npid), HWM kept (level 2: ${r:0:60}), Ansible's files on a tmpfs and gone; $sig"
# A process still running a file the upgrade replaces: the kernel keeps the root writable.
g "systemd-run --quiet --collect --unit=pisigner-test-holder /usr/bin/pisigner-vledger --apdu-port 0 --control-port 0" ||
  die "cannot start the holding process"
NEW=$(repack update2)
play "$NEW"
grep -q 'stays writable until the next reboot' "$W/play.log" || { tail -20 "$W/play.log" >&2; die "the play did not say that the root stays writable"; }
! ro_root || die "the root went read-only under a process running a replaced file"
[ "$(g 'systemctl is-active pisignerd')" = active ] || die "pisignerd not active after the second update"
g 'systemctl stop pisigner-test-holder' && g 'mount -o remount,ro /' && ro_root || die "the root does not go read-only once the process is gone"
ok "a process running a replaced file: the play succeeds and says the root stays writable until the next boot; read-only once it is gone"

g 'systemctl poweroff' || true
for _ in $(seq 60); do kill -0 "$qpid" 2>/dev/null || break; sleep 1; done
if kill -0 "$qpid" 2>/dev/null; then echo "boot-test: QEMU did not power off in 60 s; killed"; else qpid=""; fi
echo "boot-test: passed in $((SECONDS - t0)) s"
