// An idle-connection load generator independent of crosswire-bench: opens
// COUNT WebSockets on /ws/chat (the `ws` package, from the peers'
// node_modules), BATCH at a time, each sending nothing after its handshake.
// Reports the server's RSS growth per connection (KiB) once all are open and again
// SETTLE seconds later, and its CPU time per handshake (from /proc/<pid>/stat
// over the opening) and per connection over the settling.
//
//   NODE_PATH=/tmp/crosswire-peers/node/node_modules \
//     node scripts/independent/conns-load.mjs <port> <server pid> [count=10000] [batch=200] [settle=7]
//
// COUNT above 20 000 needs more source addresses than 127.0.0.1 has ports
// to spare; connections then go out from 127.0.0.1, 127.0.0.2, ... in turn.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { cpuMs as serverCpuMs } from './server-cpu.mjs';

const require = createRequire(process.env.NODE_PATH ? `${process.env.NODE_PATH}/` : import.meta.url);
const WebSocket = require('ws');

const [port, pid, count = '10000', batch = '200', settle = '7'] = process.argv.slice(2);
if (!pid) {
  console.error('usage: conns-load.mjs <port> <server pid> [count] [batch] [settle]');
  process.exit(2);
}
const url = `ws://127.0.0.1:${port}/ws/chat`;
const PER_ADDRESS = 20000;

function rssKib() {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line.split(/\s+/)[1]);
}

// Binding a source address makes the kernel search for a free port at
// bind(), which slows as connections grow: only a count that needs more
// than one address binds one.
const spread = Number(count) > PER_ADDRESS;

function open(index) {
  const options = { perMessageDeflate: false };
  if (spread) options.localAddress = `127.0.0.${1 + Math.floor(index / PER_ADDRESS)}`;
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, options);
    socket.once('open', () => resolve(socket));
    // An error after the handshake ends the socket: still_open shows it.
    socket.on('error', reject);
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

await sleep(500);
const rssBefore = rssKib();
const cpuBefore = serverCpuMs(pid);
const started = process.hrtime.bigint();
const sockets = [];
let failed = 0;
for (let first = 0; first < Number(count); first += Number(batch)) {
  const last = Math.min(Number(count), first + Number(batch));
  const opened = await Promise.allSettled(
    Array.from({ length: last - first }, (_, i) => open(first + i)),
  );
  for (const result of opened) {
    if (result.status === 'fulfilled') sockets.push(result.value);
    else failed += 1;
  }
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
if (sockets.length === 0) {
  console.error(`no connection opened (${failed} failed)`);
  process.exit(1);
}
const cpuOpen = serverCpuMs(pid);
await sleep(300);
const rssOpen = rssKib();
await sleep(Number(settle) * 1000);
const rssSettled = rssKib();
const cpuSettled = serverCpuMs(pid);
const open_ = sockets.filter((s) => s.readyState === WebSocket.OPEN).length;
console.log(
  JSON.stringify({
    connections: sockets.length,
    failed,
    still_open: open_,
    handshakes_per_sec: Math.round(sockets.length / seconds),
    server_cpu_us_per_handshake: Number((((cpuOpen - cpuBefore) * 1000) / sockets.length).toFixed(1)),
    kb_per_connection: Number(((rssOpen - rssBefore) / sockets.length).toFixed(2)),
    kb_per_connection_settled: Number(((rssSettled - rssBefore) / sockets.length).toFixed(2)),
    server_cpu_us_per_connection_settling: Number(
      (((cpuSettled - cpuOpen) * 1000) / sockets.length).toFixed(1),
    ),
  }),
);
for (const socket of sockets) socket.terminate();
process.exit(0);
