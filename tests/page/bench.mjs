// Benchmark of the built page (dist/, from `trunk build --release`) in headless Chromium, for
// BENCHMARKS.md: the paper config (sort, seed 42, batch 64, lengths 3-7), on WebGPU (SwiftShader
// here, a real GPU elsewhere) and on the CPU fallback. For each: the time from navigation to a
// usable page, from pressing Train to the first step, and training steps per second between
// step WARMUP and step STEPS, read off the page's own status line. Also the compressed size.
//
//   node tests/page/bench.mjs [dist-dir]
//
// Environment: CHROMIUM, GRADCAUSE_BENCH_STEPS (default 25), GRADCAUSE_BENCH_WARMUP (5).

import { readdir, readFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { MODES, launch, serve } from "./browser.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
const dist = resolve(process.argv[2] ?? join(here, "../../dist"));
const steps = Number(process.env.GRADCAUSE_BENCH_STEPS ?? 25);
const warmup = Number(process.env.GRADCAUSE_BENCH_WARMUP ?? 5);
// Everything else is the paper's; the stop rule's evaluation comes after the last timed step.
const PAPER = `task=sort&seed=42&max-steps=${steps + 1}&eval-every=${steps + 1}`;

/** Resolves once the status line shows step `step` or later; returns the time. */
async function reached(page, step) {
  await page.waitForFunction(
    (n) => Number(/step (\d+) \//.exec(document.querySelector("#status")?.textContent ?? "")?.[1] ?? 0) >= n,
    step,
    { timeout: 1_800_000, polling: 20 },
  );
  return performance.now();
}

async function measure(origin, name) {
  const browser = await launch(MODES[name].flags);
  try {
    const page = await browser.newPage();
    const opened = performance.now();
    await page.goto(`${origin}/?${PAPER}${MODES[name].query}`);
    await page.waitForSelector("#train:not([disabled])", { timeout: 120_000 });
    const mounted = performance.now();
    await page.click("#train");
    const first = await reached(page, 1);
    const from = await reached(page, warmup);
    const to = await reached(page, steps);
    const backend = (await page.textContent(".backend")).replace("Backend: ", "");
    return {
      mode: name,
      backend,
      load_ms: mounted - opened,
      first_step_after_train_ms: first - mounted,
      first_step_after_load_ms: first - opened,
      steps_per_second: (steps - warmup) / ((to - from) / 1000),
    };
  } finally {
    await browser.close();
  }
}

/** Bytes of the served wasm and JS, raw and gzip -9. */
async function weight() {
  const files = (await readdir(dist)).filter((f) => /\.(wasm|js)$/.test(f));
  let raw = 0;
  let gzip = 0;
  for (const f of files) {
    const bytes = await readFile(join(dist, f));
    raw += bytes.length;
    gzip += gzipSync(bytes, { level: 9 }).length;
  }
  return { raw, gzip };
}

const server = await serve(dist);
const origin = `http://127.0.0.1:${server.address().port}`;
try {
  const size = await weight();
  console.log(`page weight: wasm + js ${(size.raw / 1e6).toFixed(2)} MB, ${(size.gzip / 1e6).toFixed(2)} MB gzip -9`);
  const results = [];
  for (const name of Object.keys(MODES)) {
    const r = await measure(origin, name);
    results.push(r);
    console.log(
      `${name} (${r.backend}): page usable ${r.load_ms.toFixed(0)} ms after navigation; ` +
        `first step ${r.first_step_after_train_ms.toFixed(0)} ms after Train ` +
        `(${(r.first_step_after_load_ms / 1000).toFixed(1)} s after navigation); ` +
        `${r.steps_per_second.toFixed(2)} steps/s (steps ${warmup}-${steps}, paper config)`,
    );
  }
  console.log(JSON.stringify({ steps, warmup, weight: size, results }));
} finally {
  server.close();
}
