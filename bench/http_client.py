#!/usr/bin/env python3
"""An ordinary keep-alive client, independent of the project's C++ one: Python's http.client.

Drives pisignerd and the baseline server (both started by bench_serve, as the C++ benchmarks start
them) with what a real client does: one HTTPConnection per client, POST /keys/<pkh> with a JSON
string of hex, read the reply. Two parts, each alternating between the servers so machine noise
lands on both:
  latency     one connection per server, attestations at increasing levels, blocks of `block`;
  throughput  `clients` processes, each with one key and one connection per server, slices of
              `slice` seconds per server until each had `seconds`.
Server CPU per signature is utime+stime from /proc/<pid>/stat (all threads) over the server's own
blocks. Prints a report and SUMMARY lines for scripts/bench.sh. Standard library only.

Usage: http_client.py --serve BUILD/bench/bench_serve [--requests 2000] [--warmup 200] [--block 100]
                      [--clients 8] [--seconds 4] [--slice 0.5] [--label "python "]
"""
import argparse
import http.client
import multiprocessing as mp
import os
import subprocess
import sys
import time

CHAIN = "ed9d217c"  # NetXxkAx4woPLyu
BRANCH = "fc81eee810737b04018acef4db74d056b79edc43e6be46cae7e4c217c22a82f0"
PAYLOAD_HASH = "e7ea1f67dbb0bb6cfa372cb092cd9cf786b4f1b5e5139da95b915fb95e698d"
HEADERS = {"Content-Type": "application/json"}
TICK = os.sysconf("SC_CLK_TCK")


def attestation(level):
    """The body: a JSON string of the attestation's hex (as bench/support/common.cpp builds it)."""
    return ('"13' + CHAIN + BRANCH + "15" + "0012" + "%08x" % level + "00000000" + "00" + PAYLOAD_HASH + '"').encode()


def cpu_seconds(pid):
    """utime + stime of every thread of `pid` so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # fields 14 and 15 of proc(5)


def sign(conn, path, level):
    conn.request("POST", path, body=attestation(level), headers=HEADERS)
    reply = conn.getresponse()
    body = reply.read()
    return reply.status, body


def percentile(sorted_values, q):
    if not sorted_values:
        return 0.0
    rank = max(1, -(-len(sorted_values) * q // 1))  # nearest rank, as the C++ benchmarks
    return sorted_values[min(len(sorted_values), int(rank)) - 1]


class Server:
    def __init__(self, name, port, pid, pkhs):
        self.name, self.port, self.pid, self.pkhs = name, port, pid, pkhs
        self.samples = []  # latency of each recorded request, microseconds
        self.cpu = 0.0
        self.signed = 0
        self.next_level = 1


def latency(servers, requests, warmup, block):
    conns = {s.name: http.client.HTTPConnection("127.0.0.1", s.port) for s in servers}
    for record, total in ((False, warmup), (True, requests)):
        for sent in range(0, total, block):
            n = min(block, total - sent)
            for s in servers:
                conn, path = conns[s.name], "/keys/" + s.pkhs[0]
                cpu0 = cpu_seconds(s.pid)
                for _ in range(n):
                    t0 = time.perf_counter_ns()
                    status, body = sign(conn, path, s.next_level)
                    t1 = time.perf_counter_ns()
                    s.next_level += 1
                    if status != 200 or b'"signature"' not in body:
                        raise RuntimeError("%s: %d %s" % (s.name, status, body[:200]))
                    if record:
                        s.samples.append((t1 - t0) / 1000)
                if record:
                    s.cpu += cpu_seconds(s.pid) - cpu0
                    s.signed += n
    for c in conns.values():
        c.close()


def worker(index, servers, commands, results):
    """One client process: a connection per server, its own key (index) on pisignerd."""
    conns = {s.name: http.client.HTTPConnection("127.0.0.1", s.port) for s in servers}
    level = {s.name: 1 for s in servers}
    while True:
        cmd = commands.get()
        if cmd is None:
            break
        name, seconds = cmd
        s = next(x for x in servers if x.name == name)
        conn, path = conns[name], "/keys/" + s.pkhs[index % len(s.pkhs)]
        ok, lat = 0, []
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            t0 = time.perf_counter_ns()
            status, _ = sign(conn, path, level[name])
            t1 = time.perf_counter_ns()
            level[name] += 1
            if status == 200:
                ok += 1
                lat.append((t1 - t0) / 1000)
        results.put((ok, lat))


def throughput(servers, clients, seconds, slice_s):
    ctx = mp.get_context("fork")
    results = ctx.Queue()
    queues = [ctx.Queue() for _ in range(clients)]
    procs = [ctx.Process(target=worker, args=(i, servers, queues[i], results)) for i in range(clients)]
    for p in procs:
        p.start()
    stats = {s.name: {"ok": 0, "time": 0.0, "cpu": 0.0, "lat": []} for s in servers}
    try:
        for _ in range(max(1, round(seconds / slice_s))):
            for s in servers:
                cpu0, t0 = cpu_seconds(s.pid), time.perf_counter()
                for q in queues:
                    q.put((s.name, slice_s))
                for _ in queues:
                    ok, lat = results.get(timeout=60)
                    stats[s.name]["ok"] += ok
                    stats[s.name]["lat"] += lat
                stats[s.name]["time"] += time.perf_counter() - t0
                stats[s.name]["cpu"] += cpu_seconds(s.pid) - cpu0
    finally:
        for q in queues:
            q.put(None)
        for p in procs:
            p.join(10)
    return stats


def summary(label, metric, mine, base, ratio, target="-", verdict="-"):
    print("SUMMARY|%s%s|%s|%s|%s|%s|%s" % (label, metric, mine, base, ratio, target, verdict))


def verdict(value, limit, higher_is_better=False):
    return "PASS" if (value >= limit if higher_is_better else value <= limit) else "MISS"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--serve", required=True, help="path of bench_serve")
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--block", type=int, default=100)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=4)
    ap.add_argument("--slice", type=float, default=0.5)
    ap.add_argument("--label", default="python ")
    args = ap.parse_args()

    serve = subprocess.Popen([args.serve, "--keys", str(args.clients)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
    try:
        info, pkhs = {}, []
        for line in serve.stdout:
            words = line.split()
            if words[0] in ("pisignerd", "baseline"):
                info[words[0]] = (int(words[1]), int(words[2]))
            elif words[0] == "key":
                pkhs.append(words[1])
            elif words[0] == "ready":
                break
        if len(info) != 2 or not pkhs:
            raise RuntimeError("bench_serve did not start both servers")
        mine = Server("pisignerd", *info["pisignerd"], pkhs)
        base = Server("baseline", *info["baseline"], ["tz1baseline"])

        print("== %sclient (http.client, keep-alive): %d attestations per server after %d warm-up, blocks of %d"
              % (args.label, args.requests, args.warmup, args.block))
        latency([mine, base], args.requests, args.warmup, args.block)
        p = {s.name: sorted(s.samples) for s in (mine, base)}
        print("  %-10s %9s %9s %9s %9s %12s   (microseconds)" % ("", "p50", "p90", "p99", "max", "CPU/sign"))
        for s in (mine, base):
            v = p[s.name]
            print("  %-10s %9.1f %9.1f %9.1f %9.1f %12.1f" % (s.name, percentile(v, .5), percentile(v, .9),
                                                              percentile(v, .99), v[-1], 1e6 * s.cpu / s.signed))
        r = {q: percentile(p["pisignerd"], q) / percentile(p["baseline"], q) for q in (.5, .9, .99)}
        cpu_m, cpu_b = 1e6 * mine.cpu / mine.signed, 1e6 * base.cpu / base.signed
        print("  %-10s %9.2f %9.2f %9.2f %9s %12.2f" % ("ratio", r[.5], r[.9], r[.99], "", cpu_m / cpu_b))
        L = args.label
        summary(L, "latency p50 (us)", "%.1f" % percentile(p["pisignerd"], .5), "%.1f" % percentile(p["baseline"], .5),
                "%.2f" % r[.5], "<= 1.25x", verdict(r[.5], 1.25))
        summary(L, "latency p99 (us)", "%.1f" % percentile(p["pisignerd"], .99),
                "%.1f" % percentile(p["baseline"], .99), "%.2f" % r[.99], "<= 1.5x", verdict(r[.99], 1.5))
        summary(L, "CPU/sign sequential (us)", "%.1f" % cpu_m, "%.1f" % cpu_b, "%.2f" % (cpu_m / cpu_b), "<= 1.5x",
                verdict(cpu_m / cpu_b, 1.5))

        print("\n== %sclient: %d processes, one key and one keep-alive connection each, %.1f s per server in slices of %.1f s"
              % (args.label, args.clients, args.seconds, args.slice))
        st = throughput([mine, base], args.clients, args.seconds, args.slice)
        print("  %-10s %9s %9s %9s %12s" % ("", "sig/s", "p50 us", "p99 us", "CPU/sign us"))
        row = {}
        for name in ("pisignerd", "baseline"):
            s = st[name]
            lat = sorted(s["lat"])
            row[name] = (s["ok"] / s["time"], percentile(lat, .5), percentile(lat, .99), 1e6 * s["cpu"] / max(1, s["ok"]))
            print("  %-10s %9.0f %9.1f %9.1f %12.1f" % ((name,) + row[name]))
        ratio = [a / b for a, b in zip(row["pisignerd"], row["baseline"])]
        print("  %-10s %9.2f %9.2f %9.2f %12.2f" % ("ratio", *ratio))
        summary(L, "throughput %d keys (sig/s)" % args.clients, "%.0f" % row["pisignerd"][0],
                "%.0f" % row["baseline"][0], "%.2f" % ratio[0], ">= 1.0x", verdict(ratio[0], 1.0, True))
        summary(L, "CPU/sign %d clients (us)" % args.clients, "%.1f" % row["pisignerd"][3], "%.1f" % row["baseline"][3],
                "%.2f" % ratio[3], "<= 1.5x", verdict(ratio[3], 1.5))
        return 0
    finally:
        serve.stdin.close()
        serve.wait(30)


if __name__ == "__main__":
    sys.exit(main())
