// What the page test, the page benchmark and the page profile share: a static server for
// dist/, headless Debian Chromium with the flags that work offline (see BUILD-NOTES), WebGPU on
// or off, and waiting for a training step.

import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { chromium } from "playwright-core";

const TYPES = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".wasm": "application/wasm",
  ".css": "text/css",
  ".json": "application/json",
};

/**
 * Serves the directory `dist` at `prefix` (`/`, or a sub-path such as `/gradcause/`, as a project
 * site is served) on a free loopback port; resolves to the server. Nothing outside `prefix` exists.
 */
export function serve(dist, prefix = "/") {
  const server = createServer(async (request, response) => {
    const full = decodeURIComponent(new URL(request.url, "http://x").pathname);
    if (!full.startsWith(prefix)) {
      response.writeHead(404).end();
      return;
    }
    const path = full.slice(prefix.length);
    const file = normalize(join(dist, path === "" ? "index.html" : path));
    if (!file.startsWith(dist)) {
      response.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      response.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
      response.end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

/**
 * The two ways the page is run: WebGPU through SwiftShader (forced with `backend=webgpu`: left
 * to choose, the page prefers the CPU to a software adapter), and WebGPU disabled. `query` is
 * added to the page's URL; `backend` matches the page's backend line.
 */
export const MODES = {
  webgpu: { flags: ["--enable-unsafe-webgpu"], query: "&backend=webgpu", backend: /^Backend: WebGPU: / },
  "cpu-fallback": { flags: ["--disable-features=WebGPU"], query: "", backend: /^Backend: CPU: WebGPU offered no adapter/ },
};

/** Headless Chromium (CHROMIUM, default /usr/bin/chromium) with `flags` added. */
export function launch(flags) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      ...flags,
    ],
  });
}

/** Resolves once the page's status line shows step `step` or later; returns the time. */
export async function reached(page, step) {
  await page.waitForFunction(
    (n) => Number(/step (\d+) \//.exec(document.querySelector("#status")?.textContent ?? "")?.[1] ?? 0) >= n,
    step,
    { timeout: 1_800_000, polling: 20 },
  );
  return performance.now();
}
