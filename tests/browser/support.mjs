// Shared helpers for the browser tests: start an example server on a free
// port, launch Debian's Chromium headless through playwright-core, and clean
// up whatever a test started.
import { spawn } from "node:child_process";
import { createServer, Socket } from "node:net";
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const outputDir = join(repoRoot, "target", "browser");
mkdirSync(outputDir, { recursive: true });

export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

export async function waitForPort(port, child, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const open = await new Promise((done) => {
      const socket = new Socket();
      socket.once("connect", () => { socket.destroy(); done(true); });
      socket.once("error", () => done(false));
      socket.connect(port, "127.0.0.1");
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listening on ${port}`);
}

/** Starts an example binary (built by cargo) with PORT set; returns {url, stop}. */
export async function startExample(name, env = {}, fixedPort = undefined) {
  const port = fixedPort ?? (await freePort());
  const bin = process.env[`${name.toUpperCase().replace(/-/g, "_")}_BIN`] ||
    join(repoRoot, "target", "debug", name);
  const child = spawn(bin, [], {
    cwd: repoRoot,
    env: { ...process.env, PORT: String(port), RUST_LOG: "warn", ...env },
    stdio: ["ignore", "inherit", "inherit"],
  });
  await waitForPort(port, child);
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    child,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
    },
  };
}

/** Launches headless Chromium with the flags this machine needs. */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-quic",
      "--no-first-run",
      "--disable-sync",
    ],
  });
}
