// A chat load generator independent of crosswire-bench: CLIENTS members of
// the room on /ws/chat (the `ws` package, from the peers' node_modules), in
// rounds: every member sends PER_CLIENT messages, and the next round starts
// when every member has received every message of the round (each message
// reaches the whole room once, its sender included). Counts delivered
// messages over SECONDS after a one-second warm-up, and the server's CPU from
// /proc/<pid>/stat. A Node client is slower than the servers it drives, so
// the figure to compare between servers (or between worker counts) is the
// server's CPU per delivered message.
//
//   NODE_PATH=/tmp/crosswire-peers/node/node_modules \
//     node scripts/independent/chat-load.mjs <port> <server pid> [seconds=5] [clients=32] [per_client=50] [size=16]
import { createRequire } from 'node:module';
import { cpuMs as serverCpuMs } from './server-cpu.mjs';

const require = createRequire(process.env.NODE_PATH ? `${process.env.NODE_PATH}/` : import.meta.url);
const WebSocket = require('ws');

const [port, pid, seconds = '5', clients = '32', perClient = '50', size = '16'] =
  process.argv.slice(2);
if (!pid) {
  console.error('usage: chat-load.mjs <port> <server pid> [seconds] [clients] [per_client] [size]');
  process.exit(2);
}
const url = `ws://127.0.0.1:${port}/ws/chat`;
const text = 'x'.repeat(Number(size));
const sends = Number(perClient);

function open() {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    socket.once('message', () => resolve(socket)); // the welcome
    socket.once('error', reject);
  });
}

let delivered = 0;
let pending = 0;
let roundDone = null;
const members = [];
for (let i = 0; i < Number(clients); i++) {
  const socket = await open();
  socket.on('message', () => {
    delivered++;
    if (--pending === 0 && roundDone) roundDone();
  });
  members.push(socket);
}

async function round() {
  pending = members.length * members.length * sends;
  const done = new Promise((resolve) => { roundDone = resolve; });
  for (let i = 0; i < sends; i++) {
    for (const socket of members) socket.send(text);
  }
  await done;
}

const warmupEnd = Date.now() + 1000;
while (Date.now() < warmupEnd) await round();
const start = Date.now();
const startDelivered = delivered;
const startCpu = serverCpuMs(pid);
while (Date.now() - start < Number(seconds) * 1000) await round();
const elapsed = (Date.now() - start) / 1000;
const count = delivered - startDelivered;
const cpu = serverCpuMs(pid) - startCpu;
console.log(JSON.stringify({
  scenario: `chat-${clients}`,
  delivered_per_sec: Math.round(count / elapsed),
  server_cpu_ns_per_msg: Math.round((cpu * 1e6) / count * 10) / 10,
}));
for (const socket of members) socket.terminate();
