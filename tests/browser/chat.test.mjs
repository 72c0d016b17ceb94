// The seed's chat in a real browser: two pages in one room see each other's
// messages and the join and leave notices; the page reconnects by itself after
// a server restart.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { launchBrowser, outputDir, startExample } from "./support.mjs";

let server;
let browser;

before(async () => {
  server = await startExample("chat");
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const notices = (page) => page.locator("#messages li.notice");

async function openChat() {
  const page = await browser.newPage({ viewport: { width: 720, height: 560 } });
  await page.goto(server.url);
  await page.locator('#status[data-state="open"]').waitFor();
  await notices(page).filter({ hasText: /^Welcome .+!$/ }).waitFor();
  const welcome = await notices(page).first().textContent();
  return { page, id: /^Welcome (.+)!$/.exec(welcome)[1] };
}

test("two pages chat, with join and leave notices", async () => {
  const alice = await openChat();
  const bob = await openChat();
  assert.notEqual(alice.id, bob.id);

  // Alice sees Bob arrive.
  await notices(alice.page).filter({ hasText: `${bob.id} joined!` }).waitFor();

  // A message typed in one page appears in the other, and as "mine" in its own.
  await alice.page.fill("#input", "hello from alice");
  await alice.page.click("#send");
  await bob.page.locator("#messages li", { hasText: "hello from alice" }).waitFor();
  await alice.page.locator("#messages li.mine", { hasText: "hello from alice" }).waitFor();

  await bob.page.fill("#input", "hi alice");
  await bob.page.press("#input", "Enter");
  await alice.page.locator("#messages li", { hasText: "hi alice" }).waitFor();

  // "ping" is answered by the server, to the sender only.
  await bob.page.fill("#input", "ping?");
  await bob.page.click("#send");
  await notices(bob.page).filter({ hasText: /^pong$/ }).waitFor();

  await alice.page.screenshot({ path: join(outputDir, "chat.png") });

  // Bob leaves; Alice is told.
  await bob.page.close();
  await notices(alice.page).filter({ hasText: `${bob.id} left!` }).waitFor();
  await alice.page.close();
});

test("the browser negotiates permessage-deflate and chats over it", async () => {
  const page = await browser.newPage();
  await page.goto(server.url);
  const result = await page.evaluate(async () => {
    const url = `ws://${location.host}/api/ws/chat`;
    const open = (ws) => new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = reject;
    });
    const alice = new WebSocket(url);
    const bob = new WebSocket(url);
    await Promise.all([open(alice), open(bob)]);
    // Long enough to be over the compression threshold, and compressible.
    const text = "compressed hello ".repeat(40);
    const received = new Promise((resolve) => {
      bob.onmessage = (event) => {
        if (String(event.data).includes(text)) resolve(String(event.data));
      };
    });
    // Let both `open` hooks subscribe before publishing.
    await new Promise((resolve) => setTimeout(resolve, 200));
    alice.send(text);
    const message = await received;
    alice.close();
    bob.close();
    return { extensions: alice.extensions, message };
  });
  assert.match(result.extensions, /^permessage-deflate/);
  assert.ok(result.message.includes("compressed hello compressed hello"));
  await page.close();
});

test("the page reconnects by itself when the server restarts", async () => {
  const { page } = await openChat();
  const port = server.port;
  await server.stop();
  await page.locator('#status[data-state="closed"]').waitFor();
  server = await startExample("chat", {}, port);
  await page.locator('#status[data-state="open"]').waitFor({ timeout: 15000 });
  await notices(page).filter({ hasText: /^Welcome .+!$/ }).nth(1).waitFor();
  await page.close();
});
