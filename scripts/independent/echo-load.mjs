// An echo load generator independent of crosswire-bench: CONNECTIONS
// clients on /ws/echo (the `ws` package, from the peers' node_modules), each
// keeping DEPTH messages of SIZE bytes in flight: every reply sends the next
// message. Counts replies and their round-trip times over SECONDS after a
// one-second warm-up, and the server's CPU from /proc/<pid>/stat. A Node
// client is slower than either server, so the figure to compare is the
// server's CPU per reply; replies/s and latency say how the client fared.
//
//   NODE_PATH=/tmp/crosswire-peers/node/node_modules \
//     node scripts/independent/echo-load.mjs <port> <server pid> [seconds=5] [connections=64] [depth=1] [size=32]
import { createRequire } from 'node:module';
import { cpuMs as serverCpuMs } from './server-cpu.mjs';

const require = createRequire(process.env.NODE_PATH ? `${process.env.NODE_PATH}/` : import.meta.url);
const WebSocket = require('ws');

const [port, pid, seconds = '5', connections = '64', depth = '1', size = '32'] =
  process.argv.slice(2);
if (!pid) {
  console.error('usage: echo-load.mjs <port> <server pid> [seconds] [connections] [depth] [size]');
  process.exit(2);
}
const url = `ws://127.0.0.1:${port}/ws/echo`;
const text = 'x'.repeat(Number(size));

function open() {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
}

let measuring = false;
let replies = 0;
const latenciesUs = [];
const sockets = [];
for (let i = 0; i < Number(connections); i++) {
  const socket = await open();
  // Send times of the messages in flight, oldest first: replies come in order.
  const sent = [];
  socket.on('message', () => {
    const rtt = process.hrtime.bigint() - sent.shift();
    if (measuring) {
      replies++;
      latenciesUs.push(Number(rtt / 1000n));
    }
    sent.push(process.hrtime.bigint());
    socket.send(text);
  });
  sockets.push({ socket, sent });
}
for (const { socket, sent } of sockets) {
  for (let i = 0; i < Number(depth); i++) {
    sent.push(process.hrtime.bigint());
    socket.send(text);
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
await sleep(1000);
measuring = true;
const start = Date.now();
const startCpu = serverCpuMs(pid);
await sleep(Number(seconds) * 1000);
measuring = false;
const cpu = serverCpuMs(pid) - startCpu;
const elapsed = (Date.now() - start) / 1000;
latenciesUs.sort((a, b) => a - b);
const quantile = (q) => latenciesUs[Math.min(latenciesUs.length - 1, Math.floor(q * latenciesUs.length))] ?? 0;
console.log(JSON.stringify({
  scenario: `echo-${connections}x${depth}-${size}b`,
  replies_per_sec: Math.round(replies / elapsed),
  p50_us: quantile(0.5),
  p99_us: quantile(0.99),
  server_cpu_ns_per_reply: replies ? Math.round((cpu * 1e6) / replies) : null,
}));
for (const { socket } of sockets) socket.terminate();
