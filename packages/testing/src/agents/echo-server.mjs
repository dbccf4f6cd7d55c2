#!/usr/bin/env node
// kpb test agent: answers every TCP connection and every UDP datagram with one line
// `NAME <source-ip-it-saw> <port-it-was-reached-on>\n`, then (TCP) closes. Prints `ready` on stdout once every port listens.
// Dependency-free, runs inside a pod namespace: `ip netns exec POD node echo-server.mjs …`.
//
//   --name NAME          name put in every answer (required)
//   --tcp 80,8080        TCP ports
//   --udp 53             UDP ports
//   --sctp 9000          SCTP ports (served by socat child processes; the kernel must have SCTP)
//   --max-seconds 600    exit after this many seconds whatever happens (default 600)
//   --ipv6               also listen on :: (IPv6 only) for the TCP and UDP ports
//
// It also exits when its standard input closes (the harness that started it went away).
import net from 'node:net';
import dgram from 'node:dgram';
import { spawn } from 'node:child_process';

function parseArgs(argv) {
  const out = { name: '', tcp: [], udp: [], sctp: [], maxSeconds: 600, ipv6: false };
  const ports = (s) => {
    const list = String(s ?? '')
      .split(',')
      .filter((p) => p !== '')
      .map((p) => Number(p));
    for (const p of list) {
      if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`bad port ${p}`);
    }
    return list;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--name') (out.name = String(v ?? '')), i++;
    else if (a === '--tcp') (out.tcp = ports(v)), i++;
    else if (a === '--udp') (out.udp = ports(v)), i++;
    else if (a === '--sctp') (out.sctp = ports(v)), i++;
    else if (a === '--max-seconds') (out.maxSeconds = Number(v)), i++;
    else if (a === '--ipv6') out.ipv6 = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!/^[A-Za-z0-9._-]{1,63}$/.test(out.name)) throw new Error('--name must be 1-63 chars of [A-Za-z0-9._-]');
  if (!(out.maxSeconds > 0 && out.maxSeconds <= 86400)) throw new Error('--max-seconds must be in (0, 86400]');
  return out;
}

let opts;
try {
  opts = parseArgs(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`echo-server: ${e.message}\n`);
  process.exit(2);
}

const children = new Set();
const servers = [];
let exiting = false;
function shutdown(code) {
  if (exiting) return;
  exiting = true;
  for (const c of children) {
    try {
      c.kill('SIGTERM');
    } catch {
      /* already gone */
    }
  }
  for (const s of servers) {
    try {
      s.close();
    } catch {
      /* already closed */
    }
  }
  process.exit(code);
}

// Hard lifetime bound, independent of everything else.
setTimeout(() => shutdown(0), opts.maxSeconds * 1000);
process.stdin.on('end', () => shutdown(0));
process.stdin.on('error', () => shutdown(0));
process.stdin.resume();
process.on('SIGTERM', () => shutdown(0));
process.on('SIGINT', () => shutdown(0));

const plain = (addr) => (addr && addr.startsWith('::ffff:') ? addr.slice(7) : addr);

function listenTcp(port, host = '0.0.0.0') {
  return new Promise((resolve, reject) => {
    const server = net.createServer({ allowHalfOpen: false }, (sock) => {
      sock.on('error', () => {});
      sock.setTimeout(5000, () => sock.destroy());
      sock.end(`${opts.name} ${plain(sock.remoteAddress)} ${port}\n`);
    });
    server.on('error', reject);
    server.listen({ port, host, backlog: 1024, ipv6Only: host === '::' }, () => {
      servers.push(server);
      resolve();
    });
  });
}

function listenUdp(port, host = '0.0.0.0') {
  return new Promise((resolve, reject) => {
    const sock = host === '::' ? dgram.createSocket({ type: 'udp6', ipv6Only: true }) : dgram.createSocket('udp4');
    sock.on('message', (_msg, rinfo) => {
      sock.send(`${opts.name} ${rinfo.address} ${port}\n`, rinfo.port, rinfo.address, () => {});
    });
    sock.once('error', reject);
    sock.bind({ port, address: host }, () => {
      sock.removeListener('error', reject);
      sock.on('error', () => {});
      servers.push(sock);
      resolve();
    });
  });
}

// SCTP: Node has no SCTP sockets; socat serves it, one child per port, forking per association.
function listenSctp(port) {
  return new Promise((resolve, reject) => {
    // `timeout` bounds socat's lifetime even if this process is SIGKILLed; it forwards SIGTERM.
    const child = spawn(
      'timeout',
      [String(Math.ceil(opts.maxSeconds)), 'socat', '-d', '-d', `SCTP-LISTEN:${port},fork,reuseaddr`, `SYSTEM:echo ${opts.name} $SOCAT_PEERADDR`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    children.add(child);
    let err = '';
    let done = false;
    const timer = setTimeout(() => finish(new Error(`socat on SCTP port ${port} did not listen within 5 s: ${err}`)), 5000);
    function finish(e) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (e) reject(e);
      else resolve();
    }
    child.stderr.on('data', (b) => {
      if (err.length < 4000) err += b.toString('utf8');
      if (/listening on/i.test(err)) finish();
    });
    child.on('error', (e) => finish(new Error(`cannot run socat: ${e.message}`)));
    child.on('exit', (code) => {
      children.delete(child);
      finish(new Error(`socat on SCTP port ${port} exited (${code}): ${err.trim()}`));
      if (!exiting) shutdown(3);
    });
  });
}

try {
  const v6 = opts.ipv6 ? [...opts.tcp.map((p) => listenTcp(p, '::')), ...opts.udp.map((p) => listenUdp(p, '::'))] : [];
  await Promise.all([...opts.tcp.map((p) => listenTcp(p)), ...opts.udp.map((p) => listenUdp(p)), ...opts.sctp.map(listenSctp), ...v6]);
  process.stdout.write('ready\n');
} catch (e) {
  process.stderr.write(`echo-server ${opts.name}: ${e.message}\n`);
  shutdown(1);
}
