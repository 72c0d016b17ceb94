// The chat across two processes: two chat servers on two ports behind one
// Redis are one chat. A message typed on a page of one reaches a page of the
// other, and each page's SSE clock keeps ticking.
import { after, before, test } from "node:test";
import { spawn } from "node:child_process";
import { freePort, launchBrowser, startExample, waitForPort } from "./support.mjs";

let redis;
let first;
let second;
let browser;

before(async () => {
  const port = await freePort();
  redis = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdio: "ignore",
  });
  await waitForPort(port, redis);
  const env = { CROSSWIRE_BROKER_URL: `redis://127.0.0.1:${port}` };
  first = await startExample("chat", env);
  second = await startExample("chat", env);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await first?.stop();
  await second?.stop();
  redis?.kill("SIGKILL");
});

const notices = (page) => page.locator("#messages li.notice");

async function openChat(server) {
  const page = await browser.newPage({ viewport: { width: 720, height: 560 } });
  await page.goto(server.url);
  await page.locator('#status[data-state="open"]').waitFor();
  await notices(page).filter({ hasText: /^Welcome .+!$/ }).waitFor();
  const welcome = await notices(page).first().textContent();
  return { page, id: /^Welcome (.+)!$/.exec(welcome)[1] };
}

async function clockTicks(page) {
  const read = () => page.evaluate(() => document.querySelector('[data-testid="clock"]').textContent);
  await page.waitForFunction(() => document.querySelector('[data-testid="clock"]').textContent.startsWith("Message @ "), null, { timeout: 15000 });
  const before = await read();
  await page.waitForFunction(
    (previous) => {
      const text = document.querySelector('[data-testid="clock"]').textContent;
      return text.startsWith("Message @ ") && text !== previous;
    },
    before,
    { timeout: 15000 },
  );
}

test("pages on two chat processes behind one Redis chat with each other", async () => {
  const alice = await openChat(first);
  const bob = await openChat(second);

  // Bob's arrival on the second process is announced on the first.
  await notices(alice.page).filter({ hasText: `${bob.id} joined!` }).waitFor();

  await alice.page.fill("#input", "hello from the first process");
  await alice.page.click("#send");
  await bob.page.locator("#messages li", { hasText: "hello from the first process" }).waitFor();

  await bob.page.fill("#input", "hi from the second");
  await bob.page.press("#input", "Enter");
  await alice.page.locator("#messages li", { hasText: "hi from the second" }).waitFor();

  // Each page's event stream is its own process's clock, unaffected.
  await clockTicks(alice.page);
  await clockTicks(bob.page);

  await bob.page.close();
  await notices(alice.page).filter({ hasText: `${bob.id} left!` }).waitFor();
  await alice.page.close();
});
