#!/usr/bin/env bash
# Release hardening, read off the built binaries (what cmake/Hardening.cmake asks the compiler and
# linker for): PIE (ELF type DYN), full RELRO (GNU_RELRO segment and BIND_NOW), the stack
# protector (__stack_chk_fail imported) and, with --fortify, glibc's checked functions (*_chk).
# usage: hardening_check.sh [--fortify] BINARY...
set -euo pipefail
fortify=0
if [ "${1:-}" = --fortify ]; then fortify=1; shift; fi
command -v readelf >/dev/null || { echo "skipped: readelf (binutils) not installed"; exit 77; }
fail=0
for bin in "$@"; do
  name=$(basename "$bin")
  bad=()
  readelf -hW "$bin" | grep -Eq 'Type:[[:space:]]+DYN' || bad+=("not PIE (ELF type is not DYN)")
  readelf -lW "$bin" | grep -q 'GNU_RELRO' || bad+=("no GNU_RELRO segment (-z relro)")
  readelf -dW "$bin" | grep -Eq '\(BIND_NOW\)|\(FLAGS\).*BIND_NOW|\(FLAGS_1\).*NOW' || bad+=("no BIND_NOW (-z now)")
  syms=$(readelf --dyn-syms -W "$bin")
  grep -q '__stack_chk_fail' <<<"$syms" || bad+=("no __stack_chk_fail (-fstack-protector-strong)")
  chk=$(grep -Eo '__[a-z_0-9]+_chk' <<<"$syms" | grep -v '__stack_chk' | sort -u | tr '\n' ' ' || true)
  if [ "$fortify" = 1 ] && [ -z "$chk" ]; then bad+=("no *_chk function (-D_FORTIFY_SOURCE=2)"); fi
  if [ ${#bad[@]} -eq 0 ]; then
    echo "$name: PIE, full RELRO, BIND_NOW, stack protector${chk:+, fortified: $chk}"
  else
    for b in "${bad[@]}"; do echo "FAIL: $name: $b" >&2; done
    fail=1
  fi
done
exit $fail
