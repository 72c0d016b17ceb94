// An SSE load generator independent of crosswire-bench: CLIENTS connections
// (node:net, raw HTTP/1.1), each GET /sse?count=COUNT to its end over a new
// TCP connection, then again, as EventSource reconnects. Counts events (the
// `id:` lines of examples/bench-server's and the peers' /sse) over SECONDS
// after a one-second warm-up, and the server's CPU from /proc/<pid>/stat.
//
//   node scripts/independent/sse-load.mjs <port> <server pid> [seconds=5] [clients=64] [count=1000]
import net from 'node:net';
import { cpuMs as serverCpuMs } from './server-cpu.mjs';

const [port, pid, seconds = '5', clients = '64', count = '1000'] = process.argv.slice(2);
if (!pid) {
  console.error('usage: sse-load.mjs <port> <server pid> [seconds] [clients] [count]');
  process.exit(2);
}
const cpuMs = () => serverCpuMs(pid);
let events = 0;
let running = true;

function stream() {
  if (!running) return;
  const socket = net.connect(Number(port), '127.0.0.1');
  let tail = '';
  socket.setEncoding('latin1');
  socket.on('connect', () => socket.write(
    `GET /sse?count=${count} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n`));
  socket.on('data', (data) => {
    const text = tail + data;
    let from = 0;
    let at;
    while ((at = text.indexOf('id: ', from)) !== -1) {
      events++;
      from = at + 4;
    }
    // An `id: ` split between two reads is counted once, in the second.
    tail = text.slice(Math.max(from, text.length - 3));
  });
  socket.on('close', stream);
  socket.on('error', () => {});
}

for (let c = 0; c < Number(clients); c++) stream();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
await sleep(1000);
const [events0, cpu0, t0] = [events, cpuMs(), Date.now()];
await sleep(Number(seconds) * 1000);
const [events1, cpu1, t1] = [events, cpuMs(), Date.now()];
running = false;
const delivered = events1 - events0;
console.log(JSON.stringify({
  events_per_sec: Math.round(delivered / ((t1 - t0) / 1000)),
  server_cpu_ns_per_event: Number((((cpu1 - cpu0) * 1e6) / delivered).toFixed(1)),
  server_cpu_share: Number(((cpu1 - cpu0) / (t1 - t0)).toFixed(2)),
}));
process.exit(0);
