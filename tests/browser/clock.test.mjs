// The seed's Server-Sent Events clock in a real browser: the page's
// EventSource on /api/sse shows "Message @ <time>", once a second, and picks
// up again by itself after a server restart.
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

const clock = (page) => page.locator('[data-testid="clock"]');

async function nextTick(page, after) {
  await page.waitForFunction(
    (previous) => {
      const text = document.querySelector('[data-testid="clock"]').textContent;
      return text.startsWith("Message @ ") && text !== previous;
    },
    after,
    { timeout: 15000 },
  );
  return clock(page).textContent();
}

test("the clock ticks once a second", async () => {
  const page = await browser.newPage({ viewport: { width: 720, height: 560 } });
  await page.goto(server.url);
  const first = await nextTick(page, "");
  const started = Date.now();
  const second = await nextTick(page, first);
  const third = await nextTick(page, second);
  const took = Date.now() - started;
  assert.match(third, /^Message @ \d\d:\d\d:\d\d$/);
  // Two ticks after the first: about two seconds, never a burst.
  assert.ok(took > 1200 && took < 5000, `two ticks took ${took} ms`);
  await page.locator('#clock-panel[data-state="open"]').waitFor();
  await page.screenshot({ path: join(outputDir, "clock.png") });
  await page.close();
});

test("the clock resumes by itself after a server restart", async () => {
  const page = await browser.newPage({ viewport: { width: 720, height: 560 } });
  await page.goto(server.url);
  const before = await nextTick(page, "");
  const port = server.port;
  await server.stop();
  await page.locator('#clock-panel[data-state="closed"]').waitFor();
  server = await startExample("chat", {}, port);
  await nextTick(page, before);
  await page.locator('#clock-panel[data-state="open"]').waitFor();
  await page.close();
});
