// What the chat and fan-out load generators share: members of the room on
// /ws/chat that count what they receive, and rounds timed against the
// server's CPU. A round sends, then resolves once every member has received
// what it expects (`expect`); counting starts after a one-second warm-up.
import { createRequire } from 'node:module';
import { cpuMs } from './server-cpu.mjs';

const require = createRequire(process.env.NODE_PATH ? `${process.env.NODE_PATH}/` : import.meta.url);
const WebSocket = require('ws');

export class Room {
  constructor(port) {
    this.url = `ws://127.0.0.1:${port}/ws/chat`;
    this.delivered = 0;
    this.pending = 0;
    this.roundDone = null;
  }

  // A member that has been welcomed; its messages count as delivered and,
  // when `counted`, towards the round.
  async join(counted = true) {
    const socket = await new Promise((resolve, reject) => {
      const socket = new WebSocket(this.url, { perMessageDeflate: false });
      socket.once('message', () => resolve(socket)); // the welcome
      socket.once('error', reject);
    });
    socket.on('message', () => {
      this.delivered++;
      if (counted && --this.pending === 0 && this.roundDone) this.roundDone();
    });
    return socket;
  }

  // Runs `send` and waits until `expect` counted messages arrived.
  async round(expect, send) {
    this.pending = expect;
    const done = new Promise((resolve) => { this.roundDone = resolve; });
    send();
    await done;
  }

  // Rounds for `seconds` after a second's warm-up: delivered messages per
  // second and the server's CPU per delivered message.
  async measure(pid, seconds, round) {
    const warmupEnd = Date.now() + 1000;
    while (Date.now() < warmupEnd) await round();
    const start = Date.now();
    const startDelivered = this.delivered;
    const startCpu = cpuMs(pid);
    while (Date.now() - start < seconds * 1000) await round();
    const elapsed = (Date.now() - start) / 1000;
    const count = this.delivered - startDelivered;
    const cpu = cpuMs(pid) - startCpu;
    return {
      delivered_per_sec: Math.round(count / elapsed),
      server_cpu_ns_per_msg: Math.round((cpu * 1e6) / count * 10) / 10,
    };
  }
}
