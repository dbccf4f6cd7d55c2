#!/usr/bin/env node
// kpb bench agent, run inside the client namespace: TCP connect latency, one NEW connection at a
// time (new source port, new conntrack entry, so every SYN walks the node's NAT rules).
// Prints one JSON line: { samples: [µs…], failures: {CODE: n} }.
//   --dst IP --port N --count K [--warmup W=3] [--timeout-ms T=1000]
import net from 'node:net';

const HARD_LIFETIME_MS = 5 * 60 * 1000;
function fail(msg) {
  process.stderr.write(`connect-latency: ${msg}\n`);
  process.exit(2);
}
const o = { dst: '', port: 0, count: 0, warmup: 3, timeoutMs: 1000 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const [k, v] = [argv[i], argv[i + 1]];
  if (v === undefined) fail(`missing value for ${k}`);
  if (k === '--dst') o.dst = v;
  else if (k === '--port') o.port = Number(v);
  else if (k === '--count') o.count = Number(v);
  else if (k === '--warmup') o.warmup = Number(v);
  else if (k === '--timeout-ms') o.timeoutMs = Number(v);
  else fail(`unknown argument ${k}`);
}
if (!net.isIPv4(o.dst)) fail('--dst must be IPv4');
if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535) fail('--port must be 1-65535');
if (!Number.isInteger(o.count) || o.count < 1 || o.count > 100000) fail('--count must be 1-100000');
if (!Number.isInteger(o.warmup) || o.warmup < 0 || o.warmup > 1000) fail('--warmup must be 0-1000');
if (!Number.isInteger(o.timeoutMs) || o.timeoutMs < 1 || o.timeoutMs > 60000) fail('--timeout-ms must be 1-60000');
setTimeout(() => fail('hard lifetime exceeded'), HARD_LIFETIME_MS).unref();

function attempt() {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const sock = net.connect({ host: o.dst, port: o.port });
    sock.setNoDelay(true);
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ error: 'TIMEOUT' });
    }, o.timeoutMs);
    sock.once('connect', () => {
      const us = Number(process.hrtime.bigint() - t0) / 1000;
      clearTimeout(timer);
      sock.resetAndDestroy ? sock.resetAndDestroy() : sock.destroy();
      resolve({ us });
    });
    sock.once('error', (e) => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ error: e.code ?? 'ERROR' });
    });
  });
}

const samples = [];
const failures = {};
for (let i = 0; i < o.warmup + o.count; i++) {
  const r = await attempt();
  if (r.error) failures[r.error] = (failures[r.error] ?? 0) + 1;
  else if (i >= o.warmup) samples.push(Math.round(r.us * 10) / 10);
}
process.stdout.write(`${JSON.stringify({ samples, failures })}\n`);
