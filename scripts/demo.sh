#!/usr/bin/env bash
# The demo: a virtual Ledger (pisigner-vledger, Ledger TEST seed) + pisignerd on loopback, with a
# Ledger key on a test chain. Ctrl-C stops both. Usage: scripts/demo.sh <build-dir>
set -euo pipefail
BUILD=${1:?usage: demo.sh <build-dir>}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEMO=${PISIGNER_DEMO_DIR:-$ROOT/out/demo}
API_PORT=${PISIGNER_DEMO_PORT:-6732}
ADMIN_PORT=$((API_PORT + 1))
CHAIN=NetXxkAx4woPLyu                      # a test chain (chain id ed9d217c), never mainnet
PATH_="m/44'/1729'/0'/0'"
PKH=tz1dyX3B1CFYa2DfdFLyPtiJCfQRUgPVME6E    # the TEST seed's Ed25519 key at that path
mkdir -p "$DEMO"

cat > "$DEMO/pisigner.toml" <<TOML
# Demo configuration: written by scripts/demo.sh. Every key is documented in README.md.
[server]
listen = ["127.0.0.1:$API_PORT"]
admin_listen = ["127.0.0.1:$ADMIN_PORT"]
[store]
path = "$DEMO/store"
[policy]
magic_bytes = ["0x11", "0x12", "0x13"]
chains = ["$CHAIN"]
[[key]]
backend = "ledger"
device = "tcp://127.0.0.1:__VLEDGER_PORT__"
path = "$PATH_"
curve = "ed25519"
pkh = "$PKH"
TOML

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

# The virtual Ledger keeps its NVRAM (authorized key, device watermark) in the demo dir.
coproc VLEDGER { exec "$BUILD/ledger/emulator/pisigner-vledger" --apdu-port 0 --control-port 0 --print-ready \
  --authorize "$PATH_" --curve ed25519 --state-file "$DEMO/vledger-state.json" 2>"$DEMO/vledger.log"; }
pids+=("$VLEDGER_PID")
read -r -t 10 ready <&"${VLEDGER[0]}" || { echo "pisigner-vledger did not start; see $DEMO/vledger.log"; exit 1; }
VPORT=$(sed -n 's/.*apdu=\([0-9]*\).*/\1/p' <<<"$ready")
CPORT=$(sed -n 's/.*control=\([0-9]*\).*/\1/p' <<<"$ready")
sed -i "s/__VLEDGER_PORT__/$VPORT/" "$DEMO/pisigner.toml"

# pisignerd never creates its high-watermark store: the first run creates it here, once.
[ -e "$DEMO/store/hwm.sqlite" ] || "$BUILD/signer/daemon/pisignerctl" hwm init --store "$DEMO/store"

"$BUILD/signer/daemon/pisignerd" -c "$DEMO/pisigner.toml" 2> >(tee -a "$DEMO/pisignerd.log" >&2) &
pids+=("$!")
for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$API_PORT/authorized" >/dev/null 2>&1 && break; sleep 0.2; done

ATTESTATION="13ed9d217cfc81eee810737b04018acef4db74d056b79edc43e6be46cae7e4c217c22a82f0150012000000010000000003e7ea1f67dbb0bb6cfa372cb092cd9cf786b4f1b5e5139da95b915fb95e698d"
cat <<MSG

pisigner demo is running (virtual Ledger on 127.0.0.1:$VPORT, control port $CPORT).

  Signer URL for octez-client / octez-baker:   http://127.0.0.1:$API_PORT/$PKH
      octez-client import secret key baker http://127.0.0.1:$API_PORT/$PKH

  Sign an attestation (level 1, chain $CHAIN):
      curl -s -X POST -H 'Content-Type: application/json' \\
        http://127.0.0.1:$API_PORT/keys/$PKH -d '"$ATTESTATION"'

  Health as HAProxy sees it:   curl -s http://127.0.0.1:$API_PORT/authorized
  What a baker sees over SSH:  $BUILD/signer/daemon/pisignerctl status --url http://127.0.0.1:$API_PORT
                               $BUILD/signer/daemon/pisignerctl ledger --admin-url http://127.0.0.1:$ADMIN_PORT info
  Pull the virtual Ledger's plug, then put it back:
      $BUILD/ledger/emulator/pisigner-vledger ctl --control-port $CPORT disconnect
      $BUILD/ledger/emulator/pisigner-vledger ctl --control-port $CPORT reconnect

  Files: $DEMO  (config, store, logs). Ctrl-C stops everything.
MSG
# Runs until Ctrl-C or until either process exits.
wait -n "${pids[@]}"
