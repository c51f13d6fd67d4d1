#!/bin/bash
# The ansible/ tree: syntax, lint (production profile), and every rendered file checked by the
# tool that will read it: haproxy -c, nft -c, wg-quick strip, pisignerd --check-config, bash -n,
# and the CA script run for real (EKUs, CN rules). usage: check_ansible.sh SOURCE_DIR WORK_DIR PISIGNERD
set -euo pipefail
src=$1 work=$2 pisignerd=$3
rm -rf "$work" && mkdir -p "$work/home" "$work/tmp"
export ANSIBLE_LOCAL_TEMP=$work/tmp ANSIBLE_REMOTE_TEMP=$work/tmp ANSIBLE_NOCOLOR=1 HOME=$work/home
cd "$src/ansible"
inv=inventory/example/hosts.yml

echo "== ansible-playbook --syntax-check"
ansible-playbook -i $inv --syntax-check site.yml image.yml

echo "== ansible-lint (production)"
ansible-lint --offline --profile production -q site.yml image.yml roles/

echo "== render"
key=$(wg genkey | wg pubkey)
ansible-playbook -i $inv "$src/tests/fleet/render.yml" -e "out=$work/out" -e "wg_key=$key" >"$work/render.log" \
  || { cat "$work/render.log"; exit 1; }
o=$work/out

echo "== haproxy -c"
haproxy -c -f $o/proxy/haproxy.cfg
grep -q 'retry-on conn-failure empty-response 503$' $o/proxy/haproxy.cfg
if grep -E 'retry-on.*(500|all-retryable-errors)' $o/proxy/haproxy.cfg; then echo "500 must never be retried"; exit 1; fi
# The check goes to each Pi's health listener, which its pisigner.toml opens and its firewall lets in.
for h in pi1 pi2; do
  addr=$(sed -n 's/^listen = \["\(.*\):6732"\]$/\1/p' $o/$h/pisigner.toml)
  [ -n "$addr" ] || { echo "$h: no tunnel listen address in pisigner.toml"; exit 1; }
  grep -q "^  server $h $addr:6732 check port 6734 " $o/proxy/haproxy.cfg || { echo "$h: HAProxy does not check port 6734"; exit 1; }
  grep -q "^health_listen = \[\"$addr:6734\"\]$" $o/$h/pisigner.toml || { echo "$h: no health listener on $addr:6734"; exit 1; }
  grep -q 'tcp dport { 6732, 6734 } accept' $o/$h/nftables.conf || { echo "$h: the firewall does not let the check in"; exit 1; }
done

# The pisigner role in image mode (ansible/image.yml, the SD image's root), as rendered for pi1.
ansible-playbook -i $inv "$src/tests/fleet/render.yml" -e "out=$work/out-image" -e "wg_key=$key" \
  -e '{"pisigner_image_build": true, "pisigner_sd_image": true}' >"$work/render-image.log" \
  || { cat "$work/render-image.log"; exit 1; }
oi=$work/out-image/pi1

echo "== nft -c"
for h in pi1 pi2 proxy; do nft -c -f $o/$h/nftables.conf; done
nft -c -f $oi/nftables.conf
# The image knows no tunnel addresses: its wg0 rule has none; a Pi's run names the members.
grep -q 'iifname "wg0" tcp dport { 6732, 6734, 2379, 2380 } accept' $oi/nftables.conf
grep -q 'iifname "wg0" ip saddr { 10.77.0.1 } tcp dport { 6732, 6734 } accept' $o/pi1/nftables.conf

echo "== sshd drop-in: no root login on a Pi; on the SD image root by key, host key on /data"
grep -qx 'PermitRootLogin no' $o/pi1/sshd.conf
grep -qx 'PermitRootLogin prohibit-password' $oi/sshd.conf
grep -qx 'HostKey /data/ssh/ssh_host_ed25519_key' $oi/sshd.conf

echo "== wg-quick strip"
export WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go
for h in pi1 pi2 proxy; do
  mkdir -p $work/wg/$h && cp $o/$h/wg0.conf $work/wg/$h/wg0.conf
  wg-quick strip $work/wg/$h/wg0.conf > $work/wg/$h/stripped
  grep -q '^PublicKey = ' $work/wg/$h/stripped
done
grep -q '^PersistentKeepalive = ' $work/wg/pi1/stripped

echo "== pisignerd --check-config (the [cluster] files are made by the CA script below)"
mkdir -p $work/ca/etc
sed "s#/etc/pisigner-ca#$work/ca/etc#g" $o/proxy/pisigner-etcd-ca > $work/ca/pisigner-etcd-ca
bash -n $o/proxy/pisigner-etcd-bootstrap
bash -n $o/proxy/pisigner-etcd-leader
bash $work/ca/pisigner-etcd-ca > $work/ca/first.out
grep -q 'created pi1.crt' $work/ca/first.out
[ -z "$(bash $work/ca/pisigner-etcd-ca)" ] || { echo "the CA script is not idempotent"; exit 1; }
c=$work/ca/etc
openssl verify -CAfile $c/ca.crt $c/pi1.crt $c/proxy.crt $c/pi1-client.crt >/dev/null
openssl x509 -in $c/pi1.crt -noout -ext extendedKeyUsage | grep -q 'TLS Web Server Authentication, TLS Web Client Authentication'
openssl x509 -in $c/pi1.crt -noout -ext subjectAltName | grep -q 'IP Address:10.77.0.2'
if openssl x509 -in $c/pi1-client.crt -noout -subject | grep -q 'CN'; then echo "signer client cert has a CN"; exit 1; fi
openssl x509 -in $c/root.crt -noout -subject | grep -q 'CN = root'
for h in pi1 pi2; do
  d=$work/check/$h && mkdir -p $d
  sed -e "s#/etc/pisigner/etcd/ca.crt#$c/ca.crt#; s#/etc/pisigner/etcd/client.crt#$c/$h-client.crt#" \
      -e "s#/etc/pisigner/etcd/client.key#$c/$h-client.key#; s#/etc/pisigner/etcd/password#$c/$h.password#" \
      -e "s#/var/lib/pisigner#$d/store#" $o/$h/pisigner.toml > $d/pisigner.toml
  "$pisignerd" --check-config $d/pisigner.toml
done
grep -q '^ETCD_PRE_VOTE=true' $o/pi1/etcd
grep -q '^ETCD_INITIAL_CLUSTER=pi1=https://10.77.0.2:2380,pi2=https://10.77.0.3:2380,proxy=https://10.77.0.1:2380$' $o/pi1/etcd
echo "all ansible checks passed"
