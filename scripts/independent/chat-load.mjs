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
import { Room } from './room.mjs';

const [port, pid, seconds = '5', clients = '32', perClient = '50', size = '16'] =
  process.argv.slice(2);
if (!pid) {
  console.error('usage: chat-load.mjs <port> <server pid> [seconds] [clients] [per_client] [size]');
  process.exit(2);
}
const text = 'x'.repeat(Number(size));
const sends = Number(perClient);

const room = new Room(port);
const members = [];
for (let i = 0; i < Number(clients); i++) members.push(await room.join());

const result = await room.measure(pid, Number(seconds), () =>
  room.round(members.length * members.length * sends, () => {
    for (let i = 0; i < sends; i++) {
      for (const socket of members) socket.send(text);
    }
  }));
console.log(JSON.stringify({ scenario: `chat-${clients}`, ...result }));
for (const socket of members) socket.terminate();
