#!/usr/bin/env bash
# Boots the test image (image/build.sh --test) in qemu-system-aarch64 -M virt with the image's own
# kernel and initrd, and checks it as a baker would find it. Four boots of one disk:
#   1. first-boot files: a config whose Ledger (USB) is absent, a host name, a login key:
#      multi-user reached, no failed unit, partitions and read-only root, firewall, pisignerd
#      active as user pisigner, /healthz 200, /authorized 503 naming the missing Ledger
#   2. nothing new on the boot partition: nothing changes
#   3. a config whose Ledger is the host's virtual Ledger: /authorized 200, a signature round-trips
#   4. a broken config: the signer stays stopped, one clear line on the console and in the journal
# Everything goes through loopback: QEMU forwards 127.0.0.1:<port> to the guest's sshd, and an ssh
# session forwards the guest's signer API to the host and the host's virtual Ledger to the guest
# (so the image's hardened unit, loopback only, is exactly the release one).
#   image/test/boot-test.sh <build-image dir> <host pisigner-vledger>
set -euo pipefail
B=$(cd "${1:?usage: boot-test.sh <build-image dir> <pisigner-vledger>}" && pwd)
VLEDGER=${2:?usage: boot-test.sh <build-image dir> <pisigner-vledger>}
W=$B/boot-test
KEY=$B/test/id_ed25519
t0=$SECONDS
rm -rf "$W"; mkdir -p "$W"

CHAIN=NetXxkAx4woPLyu                       # a test chain (id ed9d217c), as scripts/demo.sh
LPATH="m/44'/1729'/0'/0'"
PKH=tz1dyX3B1CFYa2DfdFLyPtiJCfQRUgPVME6E     # the Ledger TEST seed's Ed25519 key at that path
ATTESTATION="13ed9d217cfc81eee810737b04018acef4db74d056b79edc43e6be46cae7e4c217c22a82f0150012000000010000000003e7ea1f67dbb0bb6cfa372cb092cd9cf786b4f1b5e5139da95b915fb95e698d"

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

# The disk: a sparse copy of the test image, with the first-boot files of boot 1 in its FAT.
cp --sparse=always "$B/test/pisigner-test.img" "$W/disk.img"
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
          -o ConnectTimeout=10 -o ServerAliveInterval=5 -i "$KEY" -p "$SSH_PORT")
SSH=(ssh "${SSH_OPTS[@]}" root@127.0.0.1)
g() { "${SSH[@]}" "PATH=/usr/sbin:/usr/bin:/sbin:/bin; $*"; }

qemu-system-aarch64 -M virt -cpu cortex-a72 -m 1024 -smp 2 -display none -monitor none \
  -serial "file:$W/console.log" -kernel "$W/vmlinuz" -initrd "$W/initrd.img" \
  -append "root=LABEL=PSROOT ro rootwait console=ttyAMA0 net.ifnames=0" \
  -drive "file=$W/disk.img,format=raw,if=virtio" \
  -netdev "user,id=n,hostfwd=tcp:127.0.0.1:$SSH_PORT-:22" -device virtio-net-pci,netdev=n,romfile= &
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
grep -q 'table inet pisigner' <<<"$(g 'nft list ruleset')" || die "firewall ruleset not loaded"
grep -q 'policy drop' <<<"$(g 'nft list chain inet pisigner input')" || die "firewall input policy is not drop"
ok "firewall loaded (input policy drop)"
[ "$(g 'systemctl is-active pisignerd')" = active ] || die "pisignerd not active: $(g 'journalctl -b -u pisignerd -u pisigner-firstboot --no-pager | tail -5')"
[ "$(g 'ps -o user= -C pisignerd')" = pisigner ] || die "pisignerd does not run as user pisigner"
[ "$(g 'systemctl show -p ProtectSystem --value pisignerd')" = strict ] || die "pisignerd is not the hardened unit"
ok "pisignerd active as user pisigner, hardened unit"
[ "$(g hostname)" = pisigner-a ] || die "host name not set from the boot partition"
[ -z "$(g 'ls /boot/firmware/pisigner.toml /boot/firmware/authorized_keys /boot/firmware/hostname 2>/dev/null')" ] ||
  die "first-boot files not wiped from the boot partition"
[ "$(g 'stat -c "%U:%G %a" /etc/pisigner/pisigner.toml')" = "root:pisigner 640" ] || die "config owner/mode"
[ "$(g 'stat -c "%a" /root/.ssh/authorized_keys')" = 600 ] || die "authorized_keys mode"
g 'test -s /data/ssh/ssh_host_ed25519_key && test -s /data/machine-id' || die "no host key or machine id on /data"
ok "first-boot files installed (owners, modes), wiped from FAT; host key and machine id on /data"
forward
r=$(eventually_http /healthz 200 30) || die "/healthz: $r"
ok "/healthz 200"
r=$(eventually_http /authorized 503 30) || die "/authorized with no Ledger: $r"
grep -qi ledger <<<"$r" || die "/authorized 503 does not name the Ledger: $r"
ok "/authorized 503: ${r:0:160}"

# ---- boot 2: nothing new: nothing changes ----
before=$(g 'md5sum /etc/pisigner/pisigner.toml /root/.ssh/authorized_keys /etc/hostname /data/ssh/ssh_host_ed25519_key /data/machine-id /etc/machine-id')
reboot_
after=$(g 'md5sum /etc/pisigner/pisigner.toml /root/.ssh/authorized_keys /etc/hostname /data/ssh/ssh_host_ed25519_key /data/machine-id /etc/machine-id')
[ "$before" = "$after" ] || die "a boot with nothing new changed files: $before / $after"
! grep -q installed <<<"$(g 'journalctl -b -u pisigner-firstboot --no-pager')" || die "pisigner-firstboot installed something on a boot with nothing new"
[ "$(g 'systemctl is-active pisignerd')" = active ] || die "pisignerd not active on the second boot"
ok "second boot, nothing new: configuration, keys and machine id unchanged, signer active"

# ---- boot 3: the host's virtual Ledger ----
"$VLEDGER" --apdu-port 0 --control-port 0 --print-ready --authorize "$LPATH" --curve ed25519 \
  --state-file "$W/vledger.json" > "$W/vledger.ready" 2> "$W/vledger.log" &
pids+=($!)
for _ in $(seq 50); do grep -q apdu= "$W/vledger.ready" && break; sleep 0.2; done
VPORT=$(sed -n 's/.*apdu=\([0-9]*\).*/\1/p' "$W/vledger.ready")
[ -n "$VPORT" ] || die "pisigner-vledger did not start: $(cat "$W/vledger.log")"
config tcp://127.0.0.1:9999 | g 'cat > /boot/firmware/pisigner.toml'
reboot_
forward "$VPORT"
r=$(eventually_http /authorized 200 60) || die "/authorized with the virtual Ledger: $r"
ok "/authorized 200 with the virtual Ledger"
r=$(http "/keys/$PKH" "\"$ATTESTATION\"")
[ "${r%% *}" = 200 ] && grep -q '"signature" *: *"edsig' <<<"$r" || die "signing: $r"
ok "a signature round-trips: ${r:0:120}"

# ---- boot 4: a broken configuration ----
printf '[server]\nlisten = 6732\n' | g 'cat > /boot/firmware/pisigner.toml'
reboot_
line=$(grep -a 'pisigner-firstboot: /boot/firmware/pisigner.toml' "$W/console.log" | tr -d '\r' | tail -1)
[ -n "$line" ] || die "no pisigner-firstboot line naming pisigner.toml on the console"
grep -q 'the signer stays stopped' <<<"$line" || die "console line does not say the signer is stopped: $line"
[ "$(g 'journalctl -b -u pisigner-firstboot --no-pager -o cat' | grep -c 'pisigner-firstboot: ')" = 1 ] ||
  die "the journal does not have exactly one pisigner-firstboot line: $(g 'journalctl -b -u pisigner-firstboot --no-pager -o cat')"
[ "$(g 'systemctl is-active pisignerd' || true)" != active ] || die "pisignerd runs with a broken configuration"
g 'test -e /boot/firmware/pisigner.toml' || die "the broken file was removed from the boot partition"
ok "broken config: signer stopped; console: $line"

g 'systemctl poweroff' || true
for _ in $(seq 60); do kill -0 "$qpid" 2>/dev/null || break; sleep 1; done
if kill -0 "$qpid" 2>/dev/null; then echo "boot-test: QEMU did not power off in 60 s; killed"; else qpid=""; fi
echo "boot-test: passed in $((SECONDS - t0)) s"
