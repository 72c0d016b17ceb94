// Memory per open event stream: opens TOTAL streams to URL (node:http, no
// keep-alive agent, 200 opening at a time, spread over the source addresses
// 127.77.0.2-9), waits until each has received its first event, then 3 s
// more, and prints the server's RSS before and after, per stream.
//
//   node scripts/independent/sse-memory.mjs <url> <server pid> [total=5000]
//
// The seed's clock: `url` = http://127.0.0.1:<port>/api/sse of examples/chat
// (one worker: CROSSWIRE_SERVER_WORKERS=1); raise `ulimit -n` first.
import http from 'node:http';
import { readFileSync } from 'node:fs';

const [url, pid, total = '5000'] = process.argv.slice(2);
if (!pid) {
  console.error('usage: sse-memory.mjs <url> <server pid> [total]');
  process.exit(2);
}
const streams = Number(total);
const rssKb = () => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]);
const before = rssKb();
const requests = [];
let ready = 0;
await new Promise((resolve) => {
  let opened = 0;
  const counted = () => {
    ready++;
    if (ready === streams) resolve();
    else open();
  };
  const open = () => {
    if (opened >= streams) return;
    const n = opened++;
    const request = http.get(url, {
      agent: false,
      localAddress: `127.77.0.${2 + (n % 8)}`,
      headers: { accept: 'text/event-stream' },
    }, (response) => {
      let first = true;
      response.on('data', () => {
        if (first) {
          first = false;
          counted();
        }
      });
    });
    request.on('error', (error) => {
      console.error('stream failed:', error.message);
      counted();
    });
    requests.push(request);
  };
  for (let c = 0; c < 200; c++) open();
});
await new Promise((resolve) => setTimeout(resolve, 3000));
const after = rssKb();
console.log(JSON.stringify({
  streams,
  rss_before_kb: before,
  rss_after_kb: after,
  kb_per_stream: Number(((after - before) / streams).toFixed(2)),
}));
process.exit(0);
