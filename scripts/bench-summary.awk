#!/usr/bin/awk -f
# Folds the SUMMARY lines of scripts/bench.sh ("SUMMARY|metric|pisignerd|baseline|ratio|target|verdict",
# one per run of a figure) into one row per figure: the median of each column over its runs, the
# range of the ratio, and the verdict recomputed on the median (targets "<= 1.25x", ">= 1.0x" on the
# ratio; "<= 1000" on pisignerd's own figure). Plain POSIX awk (Debian's mawk).
BEGIN { FS = "|" }
$1 == "SUMMARY" {
  m = $2
  if (!(m in n)) { order[++metrics] = m; n[m] = 0; target[m] = $6; verdict1[m] = $7 }
  k = ++n[m]
  mine[m, k] = $3; base[m, k] = $4; ratio[m, k] = $5
}
# The median of arr[m, 1..count] ("-" if none is a number); also sets the globals lo and hi to the
# smallest and largest, for the range column.
function median(arr, m, count,    i, j, v, t, tmp) {
  t = 0
  for (i = 1; i <= count; i++) {
    v = arr[m, i]
    if (v == "-" || v == "") continue
    tmp[++t] = v + 0
  }
  if (t == 0) return "-"
  for (i = 2; i <= t; i++) {  # insertion sort: a handful of values
    v = tmp[i]
    for (j = i - 1; j >= 1 && tmp[j] > v; j--) tmp[j + 1] = tmp[j]
    tmp[j + 1] = v
  }
  lo = tmp[1]; hi = tmp[t]
  return t % 2 ? tmp[(t + 1) / 2] : (tmp[t / 2] + tmp[t / 2 + 1]) / 2
}
function show(v, digits) { return v == "-" ? "-" : sprintf("%." digits "f", v) }
function judge(t, r, mine_v,    op, bound, x) {
  if (t == "-" || t == "") return "-"
  op = substr(t, 1, 2); bound = substr(t, 4) + 0
  x = (t ~ /x$/) ? r : mine_v
  if (x == "-") return "-"
  if (op == "<=") return x <= bound ? "PASS" : "MISS"
  if (op == ">=") return x >= bound ? "PASS" : "MISS"
  return "-"
}
END {
  printf "%-40s %11s %11s %7s %11s %10s %6s\n", "metric", "pisignerd", "baseline", "ratio", "range", "target", "result"
  for (i = 1; i <= metrics; i++) {
    m = order[i]
    mm = median(mine, m, n[m]); bb = median(base, m, n[m])
    rr = median(ratio, m, n[m]); range = (rr == "-" || n[m] < 2) ? "-" : sprintf("%.2f-%.2f", lo, hi)
    digits = (mm != "-" && mm >= 100) ? 0 : 1
    printf "%-40s %11s %11s %7s %11s %10s %6s\n", m, show(mm, digits), show(bb, digits), show(rr, 2), range, target[m],
           (n[m] > 1 ? judge(target[m], rr, mm) : verdict1[m])
  }
}
