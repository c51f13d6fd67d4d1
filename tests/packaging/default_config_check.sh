#!/usr/bin/env bash
# The shipped /etc/pisigner/pisigner.toml: invalid only for want of a key (so the package leaves the
# service unstarted), and valid as soon as its commented ledger [[key]] example is filled in.
# usage: default_config_check.sh PISIGNERD CONFIG
set -euo pipefail
D=$1 C=$2
fail() { echo "FAIL: $*" >&2; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

if out=$("$D" --check-config "$C" 2>&1); then fail "shipped config passes without a key: $out"; fi
rc=0; "$D" --check-config "$C" >/dev/null 2>&1 || rc=$?
[ "$rc" = 78 ] || fail "expected exit 78 (EX_CONFIG), got $rc"
echo "$out" | grep -q "no \[\[key\]\] configured" || fail "unexpected error for the shipped config: $out"
[ "$(echo "$out" | wc -l)" = 1 ] || fail "more than the missing key is wrong: $out"
grep -q '^listen = \["127.0.0.1:6732"\]' "$C" || fail "does not listen on 127.0.0.1:6732"
grep -q '^path = "/var/lib/pisigner"' "$C" || fail "store is not /var/lib/pisigner"
grep -q '^magic_bytes = \["0x11", "0x12", "0x13"\]' "$C" || fail "magic bytes are not baking-only"
grep -q '^chains = \["NetXdQprcVkpaWU"\]' "$C" || fail "does not name the chain it bakes for (mainnet)"

# Uncomment the ledger example (the block after "# [[key]]" up to the blank line), fill the pkh.
awk '/^# \[\[key\]\]/ && !done {on=1} on && /^$/ {on=0; done=1} { if (on) sub(/^# /, ""); print }' "$C" |
  sed 's/^pkh = "tz1\.\.\."/pkh = "tz1dyX3B1CFYa2DfdFLyPtiJCfQRUgPVME6E"/' > "$T/ledger.toml"
out=$("$D" --check-config "$T/ledger.toml" 2>&1) || fail "filled-in ledger example is invalid: $out"
echo "$out" | grep -q "1 key(s)" || fail "expected one key: $out"
echo "default config: ok"
