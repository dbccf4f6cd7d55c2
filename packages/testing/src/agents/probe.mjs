#!/usr/bin/env node
// kpb test agent: K independent attempts against one address, each a NEW connection (TCP, SCTP)
// or a NEW connected UDP socket, hence a new conntrack entry per attempt. Prints one JSON line:
//   { answers: {NAME: n}, sources: {NAME: [ip…]}, refused, timeouts, errors: {CODE: n},
//     refusedFastMs, elapsedMs, attempts }
// "refused" is an ICMP port-unreachable / TCP reset (ECONNREFUSED); "timeouts" is silence (drop).
//
//   --proto tcp|udp|sctp --dst IP --port N [--count K=1] [--timeout-ms T=1000] [--src IP]
//   [--concurrency C=32] [--name-prefix P]
import net from 'node:net';
import dgram from 'node:dgram';
import { spawn } from 'node:child_process';

const HARD_LIFETIME_MS = 10 * 60 * 1000;

function fail(msg) {
  process.stderr.write(`probe: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { proto: '', dst: '', port: 0, count: 1, timeoutMs: 1000, src: undefined, concurrency: 32 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[++i];
    if (v === undefined) fail(`missing value for ${a}`);
    if (a === '--proto') o.proto = v;
    else if (a === '--dst') o.dst = v;
    else if (a === '--port') o.port = Number(v);
    else if (a === '--count') o.count = Number(v);
    else if (a === '--timeout-ms') o.timeoutMs = Number(v);
    else if (a === '--src') o.src = v;
    else if (a === '--concurrency') o.concurrency = Number(v);
    else fail(`unknown argument ${a}`);
  }
  if (!['tcp', 'udp', 'sctp'].includes(o.proto)) fail('--proto must be tcp, udp or sctp');
  if (net.isIP(o.dst) === 0) fail('--dst must be an IP address');
  if (o.src !== undefined && net.isIP(o.src) !== net.isIP(o.dst)) fail('--src must be an IP address of the family of --dst');
  if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535) fail('--port must be 1-65535');
  if (!Number.isInteger(o.count) || o.count < 1 || o.count > 100000) fail('--count must be 1-100000');
  if (!Number.isInteger(o.timeoutMs) || o.timeoutMs < 1 || o.timeoutMs > 60000) fail('--timeout-ms must be 1-60000');
  if (!Number.isInteger(o.concurrency) || o.concurrency < 1 || o.concurrency > 1024) fail('--concurrency must be 1-1024');
  return o;
}

const opts = parseArgs(process.argv.slice(2));
setTimeout(() => fail('hard lifetime exceeded'), HARD_LIFETIME_MS).unref();

/** Parse `NAME IP [PORT]` (first line). */
function parseAnswer(text) {
  const line = text.split('\n')[0].trim();
  const m = /^(\S+) (\S+)(?: (\d+))?$/.exec(line);
  return m ? { name: m[1], source: m[2], port: m[3] ? Number(m[3]) : undefined } : undefined;
}

/** One attempt → {kind:'answer', name, source} | {kind:'refused'} | {kind:'timeout'} | {kind:'error', code}. */
function tcpAttempt() {
  return new Promise((resolve) => {
    let buf = '';
    let settled = false;
    const sock = net.connect({ host: opts.dst, port: opts.port, localAddress: opts.src });
    const done = (r) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ kind: 'timeout' }), opts.timeoutMs);
    sock.setNoDelay(true);
    sock.on('data', (b) => {
      buf += b.toString('utf8');
      if (buf.includes('\n') || buf.length > 4096) {
        const a = parseAnswer(buf);
        done(a ? { kind: 'answer', ...a } : { kind: 'error', code: 'BAD_ANSWER' });
      }
    });
    sock.on('end', () => {
      const a = parseAnswer(buf);
      done(a ? { kind: 'answer', ...a } : { kind: 'error', code: 'CLOSED_WITHOUT_ANSWER' });
    });
    sock.on('error', (e) => {
      if (e.code === 'ECONNREFUSED') done({ kind: 'refused' });
      else done({ kind: 'error', code: e.code || e.message });
    });
  });
}

function udpAttempt() {
  return new Promise((resolve) => {
    let settled = false;
    const sock = dgram.createSocket(opts.dst.includes(':') ? 'udp6' : 'udp4');
    const done = (r) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      try {
        sock.close();
      } catch {
        /* closed */
      }
      resolve(r);
    };
    const timer = setTimeout(() => done({ kind: 'timeout' }), opts.timeoutMs);
    // A connected UDP socket gets ICMP port-unreachable reported as ECONNREFUSED.
    sock.on('error', (e) => {
      if (e.code === 'ECONNREFUSED') done({ kind: 'refused' });
      else done({ kind: 'error', code: e.code || e.message });
    });
    sock.on('message', (msg) => {
      const a = parseAnswer(msg.toString('utf8'));
      done(a ? { kind: 'answer', ...a } : { kind: 'error', code: 'BAD_ANSWER' });
    });
    sock.bind({ address: opts.src ?? (opts.dst.includes(':') ? '::' : '0.0.0.0'), port: 0 }, () => {
      sock.connect(opts.port, opts.dst, (err) => {
        if (err) return done({ kind: 'error', code: err.code || err.message });
        sock.send('probe\n', (e) => {
          if (e) done(e.code === 'ECONNREFUSED' ? { kind: 'refused' } : { kind: 'error', code: e.code || e.message });
        });
      });
    });
  });
}

// SCTP: Node has no SCTP sockets; one socat client per attempt (a new association each time).
function sctpAttempt() {
  return new Promise((resolve) => {
    const addr = `SCTP:${opts.dst}:${opts.port}${opts.src ? `,bind=${opts.src}` : ''}`;
    const child = spawn('socat', ['-T', String(opts.timeoutMs / 1000), '-', addr], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let settled = false;
    const done = (r) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      try {
        child.kill('SIGKILL');
      } catch {
        /* gone */
      }
      resolve(r);
    };
    const timer = setTimeout(() => done({ kind: 'timeout' }), opts.timeoutMs);
    child.stdout.on('data', (b) => {
      out += b.toString('utf8');
      if (out.includes('\n')) {
        const a = parseAnswer(out);
        done(a ? { kind: 'answer', ...a } : { kind: 'error', code: 'BAD_ANSWER' });
      }
    });
    child.stderr.on('data', (b) => {
      if (err.length < 4000) err += b.toString('utf8');
    });
    child.on('error', (e) => done({ kind: 'error', code: `socat: ${e.message}` }));
    child.on('close', () => {
      const a = parseAnswer(out);
      if (a) done({ kind: 'answer', ...a });
      else if (/refused/i.test(err)) done({ kind: 'refused' });
      else if (/protocol not supported/i.test(err)) done({ kind: 'error', code: 'EPROTONOSUPPORT' });
      else if (/timed out/i.test(err)) done({ kind: 'timeout' });
      else done({ kind: 'error', code: err.trim().split('\n').pop()?.replace(/^.*E /, '') || 'SOCAT_FAILED' });
    });
    child.stdin.on('error', () => {});
    // Keep stdin open: socat would shut the association down on EOF before the answer arrives.
  });
}

const attempt = opts.proto === 'tcp' ? tcpAttempt : opts.proto === 'udp' ? udpAttempt : sctpAttempt;

const result = { answers: {}, sources: {}, ports: {}, refused: 0, timeouts: 0, errors: {}, refusedFastMs: 0, elapsedMs: 0, attempts: 0 };
const started = performance.now();
let next = 0;

async function worker() {
  while (next < opts.count) {
    next++;
    const t0 = performance.now();
    const r = await attempt();
    const ms = performance.now() - t0;
    result.attempts++;
    if (r.kind === 'answer') {
      result.answers[r.name] = (result.answers[r.name] ?? 0) + 1;
      const seen = (result.sources[r.name] ??= []);
      if (!seen.includes(r.source)) seen.push(r.source);
      if (r.port !== undefined) {
        const ports = (result.ports[r.name] ??= []);
        if (!ports.includes(r.port)) ports.push(r.port);
      }
    } else if (r.kind === 'refused') {
      result.refused++;
      result.refusedFastMs = Math.max(result.refusedFastMs, Math.round(ms * 10) / 10);
    } else if (r.kind === 'timeout') {
      result.timeouts++;
    } else {
      result.errors[r.code] = (result.errors[r.code] ?? 0) + 1;
    }
  }
}

await Promise.all(Array.from({ length: Math.min(opts.concurrency, opts.count) }, () => worker()));
result.elapsedMs = Math.round(performance.now() - started);
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
