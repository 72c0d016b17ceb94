// A fan-out load generator independent of crosswire-bench: CLIENTS
// subscribers and one publisher on /ws/chat (the `ws` package, from the
// peers' node_modules), in rounds: the publisher sends PER_ROUND messages of
// SIZE bytes, and the next round starts when every subscriber has received
// all of them. Counts delivered messages (the subscribers' and the
// publisher's own echo) over SECONDS after a one-second warm-up, and the
// server's CPU from /proc/<pid>/stat.
//
//   NODE_PATH=/tmp/crosswire-peers/node/node_modules \
//     node scripts/independent/fanout-load.mjs <port> <server pid> [seconds=5] [clients=1000] [size=1024] [per_round=100]
import { createRequire } from 'node:module';
import { cpuMs as serverCpuMs } from './server-cpu.mjs';

const require = createRequire(process.env.NODE_PATH ? `${process.env.NODE_PATH}/` : import.meta.url);
const WebSocket = require('ws');

const [port, pid, seconds = '5', clients = '1000', size = '1024', perRound = '100'] =
  process.argv.slice(2);
if (!pid) {
  console.error('usage: fanout-load.mjs <port> <server pid> [seconds] [clients] [size] [per_round]');
  process.exit(2);
}
const cpuMs = () => serverCpuMs(pid);
const url = `ws://127.0.0.1:${port}/ws/chat`;
const rounds = Number(perRound);
const text = 'x'.repeat(Number(size));

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
const subscribers = [];
for (let i = 0; i < Number(clients); i++) {
  const socket = await open();
  socket.on('message', () => {
    delivered++;
    if (--pending === 0 && roundDone) roundDone();
  });
  subscribers.push(socket);
}
const publisher = await open();
publisher.on('message', () => delivered++);

async function round() {
  pending = subscribers.length * rounds;
  const done = new Promise((resolve) => { roundDone = resolve; });
  for (let i = 0; i < rounds; i++) publisher.send(text);
  await done;
}

const warmupEnd = Date.now() + 1000;
while (Date.now() < warmupEnd) await round();
const start = Date.now();
const startDelivered = delivered;
const startCpu = cpuMs();
while (Date.now() - start < Number(seconds) * 1000) await round();
const elapsed = (Date.now() - start) / 1000;
const count = delivered - startDelivered;
const cpu = cpuMs() - startCpu;
console.log(JSON.stringify({
  scenario: `fanout-${clients}-${size}b`,
  delivered_per_sec: Math.round(count / elapsed),
  server_cpu_ns_per_msg: Math.round((cpu * 1e6) / count * 10) / 10,
}));
for (const socket of [...subscribers, publisher]) socket.terminate();
