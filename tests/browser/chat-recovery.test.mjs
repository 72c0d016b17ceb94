// Recovery in a real browser: the chat page's connection is cut while
// another page sends five messages; after its automatic reconnect the page
// shows all five, each once.
//
// The cut happens in a TCP relay between the page and the server (the page
// is loaded through it): the relay resets the page's connections and turns
// new ones away until the five are sent, as a network that drops does. The
// page sees its socket fail (1006) and the server sees the connection vanish;
// nothing in the app knows it is being tested.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, connect } from "node:net";
import { join } from "node:path";
import { freePort, launchBrowser, outputDir, startExample } from "./support.mjs";

let server;
let browser;
let relay;

/** A TCP relay to `port` that can cut every connection and refuse new ones. */
async function startRelay(port) {
  const open = new Set();
  let refusing = false;
  const listener = createServer((client) => {
    if (refusing) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(port, "127.0.0.1");
    for (const [a, b] of [[client, upstream], [upstream, client]]) {
      a.pipe(b);
      a.on("error", () => b.destroy());
      a.on("close", () => b.destroy());
    }
    open.add(client);
    client.on("close", () => open.delete(client));
  });
  const relayPort = await freePort();
  await new Promise((resolve) => listener.listen(relayPort, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${relayPort}/`,
    cut() {
      refusing = true;
      for (const socket of open) socket.resetAndDestroy();
    },
    restore() { refusing = false; },
    close() {
      for (const socket of open) socket.destroy();
      listener.close();
    },
  };
}

before(async () => {
  server = await startExample("chat");
  relay = await startRelay(server.port);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  relay?.close();
  await server?.stop();
});

const chatLines = (page, text) => page.locator("#messages li", { hasText: text });

test("a page whose connection was cut shows what it missed, once", async () => {
  const reader = await browser.newPage();
  await reader.goto(relay.url);
  await reader.locator('#status[data-state="open"]').waitFor();
  const writer = await browser.newPage();
  await writer.goto(server.url);
  await writer.locator('#status[data-state="open"]').waitFor();

  // Both see a message before the cut, so the reader holds a position.
  await writer.fill("#input", "before the cut");
  await writer.click("#send");
  await chatLines(reader, "before the cut").waitFor();

  relay.cut();
  await reader.locator('#status[data-state="closed"]').waitFor();
  for (let n = 1; n <= 5; n++) {
    await writer.fill("#input", `missed ${n}`);
    await writer.click("#send");
    await chatLines(writer, `missed ${n}`).waitFor();
  }
  relay.restore();

  await reader.locator('#status[data-state="open"]').waitFor({ timeout: 20000 });
  await chatLines(reader, "missed 5").waitFor();
  await writer.fill("#input", "after the reconnect");
  await writer.click("#send");
  await chatLines(reader, "after the reconnect").waitFor();

  for (let n = 1; n <= 5; n++) {
    assert.equal(await chatLines(reader, `missed ${n}`).count(), 1, `missed ${n}`);
  }
  assert.equal(await chatLines(reader, "before the cut").count(), 1);
  assert.equal(await chatLines(reader, "after the reconnect").count(), 1);
  // In order, after what the page already showed.
  const texts = await reader.locator("#messages li").allTextContents();
  const at = (text) => texts.findIndex((line) => line.includes(text));
  const order = ["before the cut", "missed 1", "missed 2", "missed 3", "missed 4", "missed 5", "after the reconnect"];
  for (let i = 1; i < order.length; i++) {
    assert.ok(at(order[i - 1]) < at(order[i]), `${order[i - 1]} before ${order[i]}`);
  }
  assert.equal(
    await reader.locator("#messages li", { hasText: "lost while you were away" }).count(),
    0,
  );
  await reader.screenshot({ path: join(outputDir, "chat-recovery.png") });
  await reader.close();
  await writer.close();
});
