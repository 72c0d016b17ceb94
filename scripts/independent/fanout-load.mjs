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
import { Room } from './room.mjs';

const [port, pid, seconds = '5', clients = '1000', size = '1024', perRound = '100'] =
  process.argv.slice(2);
if (!pid) {
  console.error('usage: fanout-load.mjs <port> <server pid> [seconds] [clients] [size] [per_round]');
  process.exit(2);
}
const rounds = Number(perRound);
const text = 'x'.repeat(Number(size));

const room = new Room(port);
const subscribers = [];
for (let i = 0; i < Number(clients); i++) subscribers.push(await room.join());
// Its own echo counts as delivered, not towards the round.
const publisher = await room.join(false);

const result = await room.measure(pid, Number(seconds), () =>
  room.round(subscribers.length * rounds, () => {
    for (let i = 0; i < rounds; i++) publisher.send(text);
  }));
console.log(JSON.stringify({ scenario: `fanout-${clients}-${size}b`, ...result }));
for (const socket of [...subscribers, publisher]) socket.terminate();
