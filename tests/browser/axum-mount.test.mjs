// The seed's chat mounted in an existing axum app (examples/axum-mount,
// served by axum::serve with its TraceLayer and CORS layer): two pages chat
// in headless Chromium, and the app's REST API still answers beside it.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { launchBrowser, outputDir, startExample } from "./support.mjs";

let server;
let browser;

before(async () => {
  server = await startExample("axum-mount");
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

test("two pages chat through the mounted route", async () => {
  const alice = await openChat();
  const bob = await openChat();
  assert.notEqual(alice.id, bob.id);
  await notices(alice.page).filter({ hasText: `${bob.id} joined!` }).waitFor();

  await alice.page.fill("#input", "hello from alice");
  await alice.page.click("#send");
  await bob.page.locator("#messages li", { hasText: "hello from alice" }).waitFor();
  await alice.page.locator("#messages li.mine", { hasText: "hello from alice" }).waitFor();

  await bob.page.fill("#input", "hi alice");
  await bob.page.press("#input", "Enter");
  await alice.page.locator("#messages li", { hasText: "hi alice" }).waitFor();

  // The clock's event stream runs through the same app.
  await alice.page.locator("#clock", { hasText: /Message @/ }).waitFor({ timeout: 5000 });

  await alice.page.screenshot({ path: join(outputDir, "axum-mount.png") });

  await bob.page.close();
  await notices(alice.page).filter({ hasText: `${bob.id} left!` }).waitFor();
  await alice.page.close();
});

test("the app's REST API answers the page with CORS headers", async () => {
  const page = await browser.newPage();
  await page.goto(server.url);
  const result = await page.evaluate(async () => {
    await fetch("/api/todos", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ title: "mount crosswire" }),
    });
    const response = await fetch("/api/todos");
    const health = await (await fetch("/api/health")).json();
    return { todos: await response.json(), health };
  });
  assert.deepEqual(result.todos, [{ title: "mount crosswire" }]);
  assert.equal(result.health.status, "ok");
  assert.ok(result.health.peers >= 0);
  const response = await fetch(`${server.url}api/health`, { headers: { origin: "http://elsewhere.example" } });
  assert.equal(response.headers.get("access-control-allow-origin"), "*");
  await page.close();
});
