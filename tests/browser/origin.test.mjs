// Cross-site WebSocket hijacking, refused: a page served by another origin
// that opens a WebSocket to the chat gets no connection (the server answers
// the handshake 403 before any hook runs), while the chat's own page, same
// origin, chats as usual.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { request } from "node:http";
import { freePort, launchBrowser, startExample } from "./support.mjs";

let chat;
let foreign;
let foreignUrl;
let browser;

before(async () => {
  chat = await startExample("chat");
  const port = await freePort();
  // Another site, on another port: a page whose script dials the chat.
  foreign = createServer((_, response) => {
    response.setHeader("content-type", "text/html");
    response.end(`<!doctype html><title>elsewhere</title><pre id="log"></pre>
<script>
  const socket = new WebSocket("ws://127.0.0.1:${chat.port}/api/ws/chat");
  const log = (text) => { document.getElementById("log").textContent += text + "\\n"; };
  socket.onopen = () => log("open");
  socket.onmessage = (event) => log("message " + event.data);
  socket.onclose = (event) => log("close " + event.code);
</script>`);
  });
  await new Promise((done) => foreign.listen(port, "127.0.0.1", done));
  foreignUrl = `http://127.0.0.1:${port}/`;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  foreign?.close();
  await chat?.stop();
});

/** The status of an upgrade request to the chat with `origin`. */
function upgradeStatus(origin) {
  return new Promise((done, fail) => {
    const req = request({
      host: "127.0.0.1",
      port: chat.port,
      path: "/api/ws/chat",
      headers: {
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        Origin: origin,
      },
    });
    req.on("upgrade", (response, socket) => { socket.destroy(); done(response.statusCode); });
    req.on("response", (response) => { response.resume(); done(response.statusCode); });
    req.on("error", fail);
    req.end();
  });
}

test("a page from another origin cannot open the chat's WebSocket", async () => {
  const page = await browser.newPage();
  await page.goto(foreignUrl);
  await page.waitForFunction(() => document.getElementById("log").textContent.includes("close"));
  const log = await page.locator("#log").textContent();
  assert.ok(!log.includes("open"), log);
  assert.ok(!log.includes("message"), log);
  assert.match(log, /close 1006/);
  await page.close();

  // What the browser was told, seen from outside it.
  assert.equal(await upgradeStatus(foreignUrl.slice(0, -1)), 403);
  assert.equal(await upgradeStatus(`http://127.0.0.1:${chat.port}`), 101);
});

test("the chat's own page connects and chats", async () => {
  const page = await browser.newPage();
  await page.goto(chat.url);
  await page.locator('#status[data-state="open"]').waitFor();
  await page.fill("#input", "same origin");
  await page.click("#send");
  await page.locator("#messages li", { hasText: "same origin" }).waitFor();
  await page.close();
});
