// The chat example over TLS in a real browser: ten pages load over HTTP/2 and
// each one's EventSource on /api/sse ticks, and the chat's WebSocket opens
// over wss. Then SIGHUP to the running server: new connections get the new
// certificate while the pages already open keep ticking. The certificates
// are made here with openssl; Chromium is told to accept them.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { launchBrowser, startExample } from "./support.mjs";

let server;
let browser;
let context;
let dir;

/** A self-signed P-256 certificate for localhost in `<name>.cert.pem` / `<name>.key.pem`. */
function makeCert(name) {
  const cert = join(dir, `${name}.cert.pem`);
  const key = join(dir, `${name}.key.pem`);
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
    "-keyout", key, "-out", cert, "-days", "1", "-subj", `/CN=${name}.localhost`,
    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
  ], { stdio: "ignore" });
  return { cert, key };
}

/** The SHA-256 fingerprint of the certificate a new TLS connection gets. */
function presentedFingerprint(port) {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, servername: "localhost", rejectUnauthorized: false }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fingerprint);
    });
    socket.once("error", reject);
  });
}

function fileFingerprint(certPath) {
  const out = execFileSync("openssl", ["x509", "-in", certPath, "-noout", "-fingerprint", "-sha256"]).toString();
  return out.trim().split("=")[1];
}

let served;
let next;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "crosswire-tls-"));
  const first = makeCert("first");
  next = makeCert("next");
  served = { cert: join(dir, "served.cert.pem"), key: join(dir, "served.key.pem") };
  copyFileSync(first.cert, served.cert);
  copyFileSync(first.key, served.key);
  server = await startExample("chat", {
    CROSSWIRE_SERVER_TLS_CERT: served.cert,
    CROSSWIRE_SERVER_TLS_KEY: served.key,
  });
  server.url = `https://localhost:${server.port}/`;
  browser = await launchBrowser();
  context = await browser.newContext({ ignoreHTTPSErrors: true });
});

after(async () => {
  await context?.close();
  await browser?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function nextTick(page, previous) {
  await page.waitForFunction(
    (before) => {
      const text = document.querySelector('[data-testid="clock"]').textContent;
      return text.startsWith("Message @ ") && text !== before;
    },
    previous,
    { timeout: 15000 },
  );
  return page.locator('[data-testid="clock"]').textContent();
}

const pages = [];

test("ten pages over HTTP/2 all tick, and the chat opens over wss", async () => {
  for (let i = 0; i < 10; i++) {
    const page = await context.newPage();
    await page.goto(server.url);
    pages.push(page);
  }
  for (const page of pages) {
    const protocol = await page.evaluate(() => performance.getEntriesByType("navigation")[0].nextHopProtocol);
    assert.equal(protocol, "h2");
    const first = await nextTick(page, "");
    await nextTick(page, first);
    await page.locator('#status[data-state="open"]').waitFor();
  }
});

test("SIGHUP serves the new certificate to new connections; open pages keep ticking", async () => {
  const before = await presentedFingerprint(server.port);
  assert.equal(before, fileFingerprint(served.cert));
  copyFileSync(next.cert, served.cert);
  copyFileSync(next.key, served.key);
  server.child.kill("SIGHUP");
  const wanted = fileFingerprint(next.cert);
  const deadline = Date.now() + 10000;
  let now = await presentedFingerprint(server.port);
  while (now !== wanted && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    now = await presentedFingerprint(server.port);
  }
  assert.equal(now, wanted);
  assert.equal(server.child.exitCode, null, "the server exited on SIGHUP");
  for (const page of pages) {
    const text = await page.locator('[data-testid="clock"]').textContent();
    await nextTick(page, text);
  }
});
