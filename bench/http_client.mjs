#!/usr/bin/env node
// An ordinary keep-alive client in a second language: Node's `http` with a keep-alive Agent, as
// Taquito-based tools and most Node services talk to a signer.
//
// Drives pisignerd and the baseline server (both started by bench_serve) the way bench/http_client.py
// does, with blocks instead of attestations, alternating between the servers so machine noise lands
// on both:
//   latency     one keep-alive socket per server, blocks at increasing levels, blocks of `block`;
//   throughput  `clients` worker processes, each with one key and one socket per server, slices of
//               `slice` seconds per server until each had `seconds`.
// Server CPU per signature is utime+stime from /proc/<pid>/stat over the server's own blocks/slices.
// Prints a report and SUMMARY lines for scripts/bench.sh. Node's standard library only.
//
// Usage: http_client.mjs --serve BUILD/bench/bench_serve [--requests 2000] [--warmup 200] [--block 100]
//                        [--clients 8] [--seconds 4] [--slice 0.5] [--label "node "] [--kind block|attestation]
import { spawn, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const CHAIN = 'ed9d217c'; // NetXxkAx4woPLyu
const PRED = 'fc81eee810737b04018acef4db74d056b79edc43e6be46cae7e4c217c22a82f0';
const OPS_HASH = 'e7ea1f67dbb0bb6cfa372cb092cd9cf786b4f1b5e5139da95b915fb95e698d00';
const PAYLOAD_HASH = '5b0b5ad2e8a3d4ac5f3b3b9b8a9d7f0c2e4c6a8b0d2f4e6a8c0b2d4f6e8a0c2e';
const TICK = 100; // USER_HZ on Linux
const be32 = (v) => (v >>> 0).toString(16).padStart(8, '0');

// A Tenderbake block header (signer/tezos/FORMATS.md): magic 0x11, chain, level, proto, predecessor,
// timestamp, validation pass, operations hash, fitness (its last element is the round), payload
// hash, payload round, proof-of-work nonce, no seed nonce hash, liquidity baking vote.
function blockBody(level) {
  const fitness = '02' + '00000004' + be32(level) + '00000000' + '00000004' + 'ffffffff' + '00000004' + be32(0);
  const hex = '11' + CHAIN + be32(level) + '01' + PRED + '0000000065a0b8c0' + '04' + OPS_HASH.slice(0, 64) +
    be32(fitness.length / 2) + fitness + PAYLOAD_HASH + be32(0) + '0000000000000000' + '00' + '00';
  return '"' + hex + '"';
}

// An attestation (magic 0x13), as bench/http_client.py and the C++ benchmarks send.
const attestationBody = (level) =>
  '"13' + CHAIN + PRED + '15' + '0012' + be32(level) + '00000000' + '00' + OPS_HASH.slice(0, 64) + '"';
let bodyOf = blockBody;

function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').pop().split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICK; // fields 14 and 15 of proc(5)
}

function percentile(sorted, q) {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil(sorted.length * q)); // nearest rank, as the other benchmarks
  return sorted[Math.min(sorted.length, rank) - 1];
}

// One keep-alive socket per (client, server): an Agent of its own with maxSockets 1.
function makeSigner(port) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return (path, level) => new Promise((resolve, reject) => {
    const body = bodyOf(level);
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function args() {
  const a = { requests: 2000, warmup: 200, block: 100, clients: 8, seconds: 4, slice: 0.5, label: 'node ', kind: 'block' };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, '');
    if (!(name in a) && name !== 'serve' && name !== 'worker') throw new Error(`unknown option --${name}`);
    a[name] = typeof a[name] === 'number' ? Number(argv[i + 1]) : argv[i + 1];
  }
  return a;
}

// A worker process: told which server and for how long, signs as fast as its socket allows.
async function worker(servers, index) {
  const sign = Object.fromEntries(servers.map((s) => [s.name, makeSigner(s.port)]));
  const level = Object.fromEntries(servers.map((s) => [s.name, 1]));
  process.on('message', async (cmd) => {
    if (cmd === 'stop') process.exit(0);
    const s = servers.find((x) => x.name === cmd.name);
    const path = '/keys/' + s.pkhs[index % s.pkhs.length];
    let ok = 0;
    const lat = [];
    const deadline = performance.now() + cmd.seconds * 1000;
    while (performance.now() < deadline) {
      const t0 = process.hrtime.bigint();
      const r = await sign[s.name](path, level[s.name]++);
      const t1 = process.hrtime.bigint();
      if (r.status === 200) {
        ok++;
        lat.push(Number(t1 - t0) / 1000);
      }
    }
    process.send({ ok, lat });
  });
  process.send('ready');
}

async function latency(servers, a) {
  const sign = Object.fromEntries(servers.map((s) => [s.name, makeSigner(s.port)]));
  for (const [record, total] of [[false, a.warmup], [true, a.requests]]) {
    for (let sent = 0; sent < total; sent += a.block) {
      const n = Math.min(a.block, total - sent);
      for (const s of servers) {
        const path = '/keys/' + s.pkhs[0];
        const cpu0 = cpuSeconds(s.pid);
        for (let i = 0; i < n; i++) {
          const t0 = process.hrtime.bigint();
          const r = await sign[s.name](path, s.nextLevel);
          const t1 = process.hrtime.bigint();
          s.nextLevel++;
          if (r.status !== 200 || !r.body.includes('"signature"')) {
            throw new Error(`${s.name}: ${r.status} ${r.body.slice(0, 200)}`);
          }
          if (record) s.samples.push(Number(t1 - t0) / 1000);
        }
        if (record) {
          s.cpu += cpuSeconds(s.pid) - cpu0;
          s.signed += n;
        }
      }
    }
  }
}

async function throughput(servers, a) {
  const self = fileURLToPath(import.meta.url);
  const spec = JSON.stringify(servers.map(({ name, port, pkhs }) => ({ name, port, pkhs })));
  const kids = [];
  for (let i = 0; i < a.clients; i++) {
    const kid = fork(self, ['--worker', String(i), '--serve', spec, '--kind', a.kind]);
    await new Promise((resolve) => kid.once('message', resolve));
    kids.push(kid);
  }
  const stats = Object.fromEntries(servers.map((s) => [s.name, { ok: 0, time: 0, cpu: 0, lat: [] }]));
  try {
    for (let k = 0; k < Math.max(1, Math.round(a.seconds / a.slice)); k++) {
      for (const s of servers) {
        const cpu0 = cpuSeconds(s.pid);
        const t0 = performance.now();
        const replies = kids.map((kid) => new Promise((resolve) => kid.once('message', resolve)));
        for (const kid of kids) kid.send({ name: s.name, seconds: a.slice });
        for (const r of await Promise.all(replies)) {
          stats[s.name].ok += r.ok;
          stats[s.name].lat.push(...r.lat);
        }
        stats[s.name].time += (performance.now() - t0) / 1000;
        stats[s.name].cpu += cpuSeconds(s.pid) - cpu0;
      }
    }
  } finally {
    for (const kid of kids) kid.send('stop');
  }
  return stats;
}

const summary = (label, metric, mine, base, ratio, target = '-', verdict = '-') =>
  console.log(`SUMMARY|${label}${metric}|${mine}|${base}|${ratio}|${target}|${verdict}`);
const verdict = (v, limit, higherIsBetter = false) => ((higherIsBetter ? v >= limit : v <= limit) ? 'PASS' : 'MISS');
const pad = (v, n, d = 1) => (typeof v === 'number' ? v.toFixed(d) : v).padStart(n);

async function main() {
  const a = args();
  if (a.kind !== 'block' && a.kind !== 'attestation') throw new Error('--kind is block or attestation');
  if (a.kind === 'attestation') bodyOf = attestationBody;
  if (a.worker !== undefined) return worker(JSON.parse(a.serve), Number(a.worker));
  const serve = spawn(a.serve, ['--keys', String(a.clients)], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const info = {};
    const pkhs = [];
    for await (const line of createInterface({ input: serve.stdout })) {
      const w = line.split(' ');
      if (w[0] === 'pisignerd' || w[0] === 'baseline') info[w[0]] = [Number(w[1]), Number(w[2])];
      else if (w[0] === 'key') pkhs.push(w[1]);
      else if (w[0] === 'ready') break;
    }
    if (!info.pisignerd || !info.baseline || pkhs.length === 0) throw new Error('bench_serve did not start both servers');
    const server = (name, [port, pid], keys) => ({ name, port, pid, pkhs: keys, samples: [], cpu: 0, signed: 0, nextLevel: 1 });
    const mine = server('pisignerd', info.pisignerd, pkhs);
    const base = server('baseline', info.baseline, ['tz1baseline']);
    const L = a.label;

    console.log(`== ${L}client (http.Agent keepAlive): ${a.requests} ${a.kind}s per server after ${a.warmup} warm-up, blocks of ${a.block}`);
    await latency([mine, base], a);
    console.log(`  ${''.padEnd(10)} ${'p50'.padStart(9)} ${'p90'.padStart(9)} ${'p99'.padStart(9)} ${'max'.padStart(9)} ${'CPU/sign'.padStart(12)}   (microseconds)`);
    const p = {};
    for (const s of [mine, base]) {
      const v = (p[s.name] = [...s.samples].sort((x, y) => x - y));
      console.log(`  ${s.name.padEnd(10)} ${pad(percentile(v, 0.5), 9)} ${pad(percentile(v, 0.9), 9)} ${pad(percentile(v, 0.99), 9)} ${pad(v[v.length - 1], 9)} ${pad((1e6 * s.cpu) / s.signed, 12)}`);
    }
    const r = Object.fromEntries([0.5, 0.9, 0.99].map((q) => [q, percentile(p.pisignerd, q) / percentile(p.baseline, q)]));
    const cpuM = (1e6 * mine.cpu) / mine.signed;
    const cpuB = (1e6 * base.cpu) / base.signed;
    console.log(`  ${'ratio'.padEnd(10)} ${pad(r[0.5], 9, 2)} ${pad(r[0.9], 9, 2)} ${pad(r[0.99], 9, 2)} ${''.padStart(9)} ${pad(cpuM / cpuB, 12, 2)}`);
    summary(L, 'latency p50 (us)', percentile(p.pisignerd, 0.5).toFixed(1), percentile(p.baseline, 0.5).toFixed(1), r[0.5].toFixed(2), '<= 1.25x', verdict(r[0.5], 1.25));
    summary(L, 'latency p99 (us)', percentile(p.pisignerd, 0.99).toFixed(1), percentile(p.baseline, 0.99).toFixed(1), r[0.99].toFixed(2), '<= 1.5x', verdict(r[0.99], 1.5));
    summary(L, 'CPU/sign sequential (us)', cpuM.toFixed(1), cpuB.toFixed(1), (cpuM / cpuB).toFixed(2), '<= 1.5x', verdict(cpuM / cpuB, 1.5));

    console.log(`\n== ${L}client: ${a.clients} processes, one key and one keep-alive socket each, ${a.seconds} s per server in slices of ${a.slice} s`);
    const st = await throughput([mine, base], a);
    console.log(`  ${''.padEnd(10)} ${'sig/s'.padStart(9)} ${'p50 us'.padStart(9)} ${'p99 us'.padStart(9)} ${'CPU/sign us'.padStart(12)}`);
    const row = {};
    for (const name of ['pisignerd', 'baseline']) {
      const s = st[name];
      const lat = s.lat.sort((x, y) => x - y);
      row[name] = [s.ok / s.time, percentile(lat, 0.5), percentile(lat, 0.99), (1e6 * s.cpu) / Math.max(1, s.ok)];
      console.log(`  ${name.padEnd(10)} ${pad(row[name][0], 9, 0)} ${pad(row[name][1], 9)} ${pad(row[name][2], 9)} ${pad(row[name][3], 12)}`);
    }
    const ratio = row.pisignerd.map((v, i) => v / row.baseline[i]);
    console.log(`  ${'ratio'.padEnd(10)} ${ratio.map((v, i) => pad(v, i === 3 ? 12 : 9, 2)).join(' ')}`);
    summary(L, `throughput ${a.clients} keys (sig/s)`, row.pisignerd[0].toFixed(0), row.baseline[0].toFixed(0), ratio[0].toFixed(2), '>= 1.0x', verdict(ratio[0], 1.0, true));
    summary(L, `CPU/sign ${a.clients} clients (us)`, row.pisignerd[3].toFixed(1), row.baseline[3].toFixed(1), ratio[3].toFixed(2), '<= 1.5x', verdict(ratio[3], 1.5));
  } finally {
    serve.stdin.end();
  }
}

main().catch((e) => {
  console.error(`http_client.mjs: ${e.stack || e}`);
  process.exit(1);
});
