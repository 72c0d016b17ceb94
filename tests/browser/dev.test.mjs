// `crosswire dev` as a newcomer meets it: a fresh `crosswire new` app, the
// dev server as a real process, and the page in headless Chromium. Saving a
// route reloads the page with the new code; a broken build shows an overlay
// while the old app keeps serving; WebSockets held through the proxy get
// 1012 on restart and reconnect; a request sent mid-restart gets its answer.
// Everything runs twice: with the reload channel on the app's port (by path)
// and on a port of its own (`[dev.hmr] port`).
//
// The app builds into <target>/scaffold-app with the workspace's Cargo.lock,
// the folder the CLI's own tests build a new app in, so its dependencies are
// already compiled and a build is mostly linking.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort, launchBrowser, outputDir, repoRoot } from "./support.mjs";

const targetRoot = resolve(repoRoot, process.env.CARGO_TARGET_DIR || "target");
const crosswireBin = process.env.CROSSWIRE_BIN || join(targetRoot, "debug", "crosswire");
const FIRST_BUILD = 600_000; // a cold machine compiles every dependency once
const REBUILD = 180_000;
const CHAT = join("src", "server", "routes", "api", "ws", "chat.rs");

let workDir;
let browser;
const timings = [];

before(() => {
  if (!process.env.CROSSWIRE_BIN) {
    // Cheap when up to date; makes the file runnable on its own.
    execFileSync("cargo", ["build", "-q", "-p", "crosswire-cli"], { cwd: repoRoot, stdio: "inherit" });
  }
  assert.ok(existsSync(crosswireBin), `no crosswire binary at ${crosswireBin}`);
  workDir = mkdtempSync(join(tmpdir(), "crosswire-dev-"));
});

after(async () => {
  await browser?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  if (timings.length) {
    console.log("\ntime from save to reloaded page (rebuild + restart + reload):");
    for (const line of timings) console.log(`  ${line}`);
  }
});

/** `crosswire new` into the work folder, sharing the workspace's lock file. */
function scaffold(name) {
  const app = join(workDir, name);
  execFileSync(crosswireBin, ["new", app], { stdio: "ignore" });
  copyFileSync(join(repoRoot, "Cargo.lock"), join(app, "Cargo.lock"));
  return app;
}

/** Runs `crosswire dev` in `app` on a free port; resolves once the app is up. */
async function startDev(app) {
  const port = await freePort();
  const child = spawn(crosswireBin, ["dev", "--port", String(port)], {
    cwd: app,
    env: {
      ...process.env,
      CARGO_TARGET_DIR: join(targetRoot, "scaffold-app"),
      CARGO_NET_OFFLINE: "true",
      RUST_LOG: "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, so a stuck run can be killed whole.
    detached: true,
  });
  const dev = {
    url: `http://127.0.0.1:${port}/`,
    port,
    child,
    lines: [],
    waiters: [],
    /** Resolves with the time a line matching `pattern` came, after line `from`. */
    waitFor(pattern, from = 0, timeout = REBUILD) {
      const seen = dev.lines.slice(from).find((l) => pattern.test(l.text));
      if (seen) return Promise.resolve(seen.at);
      return new Promise((done, fail) => {
        const timer = setTimeout(() => fail(new Error(`no line ${pattern} in ${timeout} ms:\n${dev.tail()}`)), timeout);
        dev.waiters.push({ pattern, done: (at) => { clearTimeout(timer); done(at); } });
      });
    },
    mark() { return dev.lines.length; },
    tail() { return dev.lines.slice(-40).map((l) => l.text).join("\n"); },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20000))]);
      if (child.exitCode === null) process.kill(-child.pid, "SIGKILL");
    },
  };
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk) => {
      buffered += chunk;
      let newline;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const text = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        const line = { text, at: performance.now() };
        dev.lines.push(line);
        if (text.startsWith("[dev]")) process.stderr.write(`    ${text}\n`);
        dev.waiters = dev.waiters.filter((w) => (w.pattern.test(text) ? (w.done(line.at), false) : true));
      }
    });
  }
  await dev.waitFor(/\[dev\] +app ready at/, 0, FIRST_BUILD);
  return dev;
}

function edit(app, file, from, to) {
  const path = join(app, file);
  const text = readFileSync(path, "utf8");
  assert.ok(text.includes(from), `${file} has no ${JSON.stringify(from)}`);
  writeFileSync(path, text.replace(from, to));
}

const notices = (page) => page.locator("#messages li.notice");

/** Scenarios of one reload-channel placement; `hmrPort` null shares the app's port. */
function devLoop(label, hmrPort) {
  describe(`crosswire dev, reload channel ${label}`, () => {
    let app;
    let dev;
    let page;
    let welcome = "Welcome";

    before(async () => {
      app = scaffold(hmrPort ? "hmr-port-app" : "same-port-app");
      if (hmrPort) {
        appendFileSync(join(app, "crosswire.toml"), `\n[dev.hmr]\nport = ${await hmrPort()}\n`);
      }
      browser ??= await launchBrowser();
      dev = await startDev(app);
      page = await browser.newPage({ viewport: { width: 900, height: 640 } });
      await page.goto(dev.url);
      await notices(page).filter({ hasText: /^Welcome .+!$/ }).waitFor();
    });

    after(async () => {
      await page?.close();
      await dev?.stop();
    });

    /** Saves a new welcome text; resolves with [ms to reload, ms to new text]. */
    async function saveWelcome(next) {
      const reloaded = page.waitForEvent("load", { timeout: REBUILD });
      const saved = performance.now();
      edit(app, CHAT, `format!("${welcome} {peer}!")`, `format!("${next} {peer}!")`);
      welcome = next;
      await reloaded;
      const reloadMs = performance.now() - saved;
      await notices(page).filter({ hasText: new RegExp(`^${next} .+!$`) }).waitFor({ timeout: 30000 });
      return [reloadMs, performance.now() - saved];
    }

    test("saving the chat route reloads the page, which shows the new welcome", { timeout: REBUILD * 2 }, async (t) => {
      if (hmrPort) {
        const html = await (await fetch(dev.url, { headers: { accept: "text/html" } })).text();
        assert.match(html, /"port":\d+/, "the script names the channel's own port");
      }
      const [reloadMs, textMs] = await saveWelcome(hmrPort ? "Hi from the hmr port" : "Hello again");
      const figure = `${label}: ${(reloadMs / 1000).toFixed(2)} s to the reloaded page, ${(textMs / 1000).toFixed(2)} s to the new welcome on screen`;
      timings.push(figure);
      t.diagnostic(`save → reloaded page: ${figure}`);
      await page.screenshot({ path: join(outputDir, `dev-reloaded-${hmrPort ? "hmr-port" : "same-port"}.png`) });
    });

    test("a compile error shows the overlay while the old app answers; the fix reloads", { timeout: REBUILD * 2 }, async () => {
      const from = dev.mark();
      edit(app, CHAT, "peer.subscribe(\"chat\");", "peer.subscribe(\"chat\");\n            let broken: u32 = \"not a number\";");
      await dev.waitFor(/build failed after/, from);
      const overlay = page.locator("crosswire-error-overlay pre");
      await overlay.waitFor({ timeout: 30000 });
      const shown = await overlay.textContent();
      assert.match(shown, /mismatched types/);
      assert.match(shown, /src\/server\/routes\/api\/ws\/chat\.rs:\d+:\d+/);
      assert.equal(await page.locator("crosswire-error-overlay h2").textContent(), "Build failed");
      assert.match(await page.locator("crosswire-error-overlay p").textContent(), /keeps running its last good build/);
      await page.screenshot({ path: join(outputDir, "dev-build-error.png") });

      // The old build still serves pages and sockets.
      const answer = await fetch(dev.url);
      assert.equal(answer.status, 200);
      await page.locator('#status[data-state="open"]').waitFor();

      const reloaded = page.waitForEvent("load", { timeout: REBUILD });
      edit(app, CHAT, "\n            let broken: u32 = \"not a number\";", "");
      await reloaded;
      assert.equal(await page.locator("crosswire-error-overlay").count(), 0);
      await notices(page).filter({ hasText: new RegExp(`^${welcome} .+!$`) }).waitFor();
    });

    test("a WebSocket through the proxy gets 1012 on restart and reconnects; a request mid-restart is answered", { timeout: REBUILD * 2 }, async () => {
      // A page without the reload script (it sees the script as already
      // loaded), so it stays open across the restart and can watch its socket.
      const watcher = await browser.newPage();
      await watcher.addInitScript(() => { window.__crosswireDev = true; });
      await watcher.goto(dev.url);
      await watcher.evaluate(() => {
        window.closes = [];
        window.welcomes = 0;
        const open = () => {
          const socket = new WebSocket(`ws://${location.host}/api/ws/chat`);
          socket.onmessage = (event) => { if (/!$/.test(JSON.parse(event.data).message)) window.welcomes++; };
          socket.onclose = (event) => { window.closes.push(event.code); setTimeout(open, 50); };
        };
        open();
      });
      await watcher.waitForFunction(() => window.welcomes >= 1);

      // Another tool's socket on the reload path goes to the app (which has
      // no such route), never to the dev server.
      const vite = await watcher.evaluate(() => new Promise((done) => {
        const socket = new WebSocket(`ws://${location.host}/__crosswire/reload`, "vite-hmr");
        socket.onopen = () => done("open");
        socket.onclose = () => done("refused");
      }));
      assert.equal(vite, "refused");

      // Saving crosswire.toml restarts the app without a rebuild.
      const from = dev.mark();
      appendFileSync(join(app, "crosswire.toml"), `\n# touched ${Date.now()}\n`);
      await dev.waitFor(/stopping the app/, from);
      const sent = performance.now();
      const response = await fetch(`${dev.url}api/sse`, { headers: { accept: "text/event-stream" } });
      assert.equal(response.status, 200, "the request sent mid-restart got its answer");
      const reader = response.body.getReader();
      const first = new TextDecoder().decode((await reader.read()).value ?? new Uint8Array());
      await reader.cancel();
      // The restart takes tens of milliseconds, so whether the request
      // landed inside it depends on scheduling; the proxy's own tests hold a
      // request across a restart deterministically. Here it must simply be
      // answered, never refused.
      const ready = await dev.waitFor(/app ready at/, from);
      if (!(sent < ready)) console.log("# the request went out after the new app was up");
      assert.match(first, /^(data|:|retry|id|event)/m);

      await watcher.waitForFunction(() => window.closes.length >= 1, null, { timeout: 30000 });
      assert.equal((await watcher.evaluate(() => window.closes))[0], 1012, "close code 1012 (service restart)");
      await watcher.waitForFunction(() => window.welcomes >= 2, null, { timeout: 30000 });
      await watcher.close();
    });
  });
}

devLoop("on the app's port", null);
devLoop("on its own port", freePort);
