#!/usr/bin/env bash
# Checks a udev rules file two ways:
#  1. a static lint: every rule is comma-separated KEY[{attr}]OP"value" pairs with known keys and
#     the operators udev accepts for them, and no world-accessible MODE;
#  2. udev's own parser: `udevadm test` in a private mount namespace where the file is the only
#     rule file and the group pisigner exists; any message it prints about the file fails.
#     (systemd 252 has no `udevadm verify`.) Skipped with a note when unshare is not permitted.
# usage: udev_rules_check.sh FILE
set -euo pipefail
F=$1
fail() { echo "FAIL: $*" >&2; exit 1; }

match_keys='ACTION|DEVPATH|KERNEL|NAME|SYMLINK|SUBSYSTEM|DRIVER|ATTR|SYSCTL|KERNELS|SUBSYSTEMS|DRIVERS|ATTRS|TAGS|TAG|ENV|CONST|TEST|PROGRAM|RESULT'
assign_keys='NAME|SYMLINK|OWNER|GROUP|MODE|SECLABEL|ATTR|SYSCTL|ENV|TAG|RUN|LABEL|GOTO|IMPORT|OPTIONS'
n=0
while IFS= read -r line || [ -n "$line" ]; do
  n=$((n + 1))
  case $line in ''|'#'*) continue ;; esac
  rest=$line
  while [ -n "$rest" ]; do
    if [[ $rest =~ ^([A-Z_]+)(\{[^}]+\})?(==|!=|\+=|-=|:=|=)\"([^\"]*)\"(,[[:space:]]*|$)(.*)$ ]]; then
      key=${BASH_REMATCH[1]} op=${BASH_REMATCH[3]} val=${BASH_REMATCH[4]} rest=${BASH_REMATCH[6]}
      if [[ $op == "==" || $op == "!=" ]]; then
        [[ $key =~ ^($match_keys)$ ]] || fail "$F:$n: $key cannot be matched"
      else
        [[ $key =~ ^($assign_keys)$ ]] || fail "$F:$n: $key cannot be assigned"
      fi
      if [[ $key == MODE ]]; then
        [[ $val =~ ^0?[0-7]{3}$ ]] || fail "$F:$n: MODE \"$val\" is not octal"
        (( (8#$val & 8#007) == 0 )) || fail "$F:$n: MODE $val gives access to every user"
      fi
    else
      fail "$F:$n: cannot parse: $rest"
    fi
  done
done < "$F"
echo "lint: $n lines ok"

if ! unshare -m true 2>/dev/null; then
  echo "note: no mount namespace here; udevadm parse check skipped"
  exit 0
fi
dev=$(ls -d /sys/class/net/* 2>/dev/null | head -1)
[ -n "$dev" ] || { echo "note: no device in /sys to run udevadm test on; skipped"; exit 0; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cp "$F" "$T/60-under-test.rules"
{ cat /etc/group; grep -q '^pisigner:' /etc/group || echo 'pisigner:x:999:'; } > "$T/group"
out=$(unshare -m sh -c '
  mount -t tmpfs none /etc/udev/rules.d && cp "$1/60-under-test.rules" /etc/udev/rules.d/ &&
  mount --bind "$1/group" /etc/group && udevadm test --action=add "$2" 2>&1' sh "$T" "$dev")
echo "$out" | grep -q "Reading rules file: /etc/udev/rules.d/60-under-test.rules" ||
  fail "udevadm did not read the rules file: $out"
msgs=$(echo "$out" | grep "60-under-test.rules" | grep -v "Reading rules file" || true)
[ -z "$msgs" ] || fail "udevadm: $msgs"
echo "udevadm: parsed without messages"
