// Benchmark of the built page (dist/, from `trunk build --release`) in headless Chromium, for
// BENCHMARKS.md. First the time to the first answer: from navigation to the first screen drawn
// (the claim rows and both tasks' Figure 6 over the shipped sweep), with the gzip weight of
// everything fetched until then, the sweep data included. Then the paper config (sort, seed 42, batch 64, lengths 3-7), on WebGPU (SwiftShader
// here, a real GPU elsewhere) and on the CPU fallback. For each: the time from navigation to a
// usable page, from pressing Train to the first step, and training steps per second between
// step WARMUP and step STEPS, read off the page's own status line, and the longest main-thread
// task meanwhile (training runs in a worker), and on WebGPU the calls a training step makes
// (compute dispatches, queue submissions, buffer writes, read-backs). Then, on the CPU fallback, the ten default seeds of
// a reduced config one at a time and PARALLEL at a time ("Run all 10 default seeds"). Then one
// seed of the paper config on the CPU on more workers ("workers": 1 worker in one whole-batch
// step; 1, 2, ... SEED_WORKERS workers sharing SEED_WORKERS micro-batches, the same step on
// each). Then ("side-by-side") the machine's own ceiling for those workers: two seeds of the paper
// config, one worker each, trained in two pages at once, against one alone (nothing passes
// between them, so what they lose is the cost of sharing the cores). Also the compressed size.
//
//   node tests/page/bench.mjs [dist-dir]
//
// Environment: CHROMIUM, GRADCAUSE_BENCH_PARTS (comma-separated, default
// first-answer,training,sweep,workers,side-by-side), GRADCAUSE_BENCH_STEPS (default 25),
// GRADCAUSE_BENCH_WARMUP (5), GRADCAUSE_BENCH_MODES (comma-separated, default all),
// GRADCAUSE_BENCH_PARALLEL (default 2), GRADCAUSE_BENCH_SEED_WORKERS (default 2).

import { readdir, readFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { MODES, launch, reached, serve } from "./browser.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
const dist = resolve(process.argv[2] ?? join(here, "../../dist"));
const steps = Number(process.env.GRADCAUSE_BENCH_STEPS ?? 25);
const warmup = Number(process.env.GRADCAUSE_BENCH_WARMUP ?? 5);
// Everything else is the paper's; the stop rule's evaluation comes after the last timed step.
const PAPER = `task=sort&seed=42&max-steps=${steps + 1}&eval-every=${steps + 1}`;
const modes = (process.env.GRADCAUSE_BENCH_MODES ?? Object.keys(MODES).join(",")).split(",");
const parallel = Number(process.env.GRADCAUSE_BENCH_PARALLEL ?? 2);
const parts = (process.env.GRADCAUSE_BENCH_PARTS ?? "first-answer,training,sweep,workers,side-by-side").split(",");
const seedWorkers = Number(process.env.GRADCAUSE_BENCH_SEED_WORKERS ?? 2);
// Loads of the page timed for the first answer (the median is reported).
const LOADS = 5;
// The sweep's config: small enough for ten seeds in minutes, large enough that each seed's
// training outweighs starting its worker.
const SWEEP =
  "task=reverse&d-model=32&d-ff=64&batch-size=16&max-length=5&eval-every=100&eval-examples=32" +
  "&max-steps=100&ood-lengths=6&ood-batches=2&ood-batch-size=16&window-low=0&window-high=1&attention-examples=2";

/** Records main-thread tasks of 50 ms or more from now on, in `window.longTasks`. */
async function watchLongTasks(page) {
  await page.evaluate(() => {
    window.longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.longTasks.push(e.duration);
    }).observe({ type: "longtask" });
  });
}

const longest = (page) => page.evaluate(() => Math.max(0, ...window.longTasks));

/**
 * Has a worker count its WebGPU calls from now on (where it has WebGPU): compute dispatches,
 * queue submissions, buffer writes and buffer maps (read-backs), in `self.gpuCalls`.
 */
function countGpuCalls(worker) {
  return worker.evaluate(() => {
    if (!self.GPUComputePassEncoder || self.gpuCalls) return;
    self.gpuCalls = { dispatches: 0, submits: 0, writes: 0, readbacks: 0 };
    const count = (proto, method, key) => {
      const original = proto[method];
      proto[method] = function (...args) {
        self.gpuCalls[key] += 1;
        return original.apply(this, args);
      };
    };
    count(GPUComputePassEncoder.prototype, "dispatchWorkgroups", "dispatches");
    count(GPUComputePassEncoder.prototype, "dispatchWorkgroupsIndirect", "dispatches");
    count(GPUQueue.prototype, "submit", "submits");
    count(GPUQueue.prototype, "writeBuffer", "writes");
    count(GPUBuffer.prototype, "mapAsync", "readbacks");
  });
}

/** The WebGPU calls counted so far by every worker, summed; `null` where none has WebGPU. */
async function gpuCalls(workers) {
  const counts = await Promise.all(workers.map((w) => w.evaluate(() => self.gpuCalls ?? null).catch(() => null)));
  const present = counts.filter(Boolean);
  if (present.length === 0) return null;
  const sum = { dispatches: 0, submits: 0, writes: 0, readbacks: 0 };
  for (const c of present) for (const key of Object.keys(sum)) sum[key] += c[key];
  return sum;
}

/** Training in mode `name` with `extra` added to the page's link (`&workers=2`, ...). */
async function measure(origin, name, extra = "") {
  const browser = await launch(MODES[name].flags);
  try {
    const page = await browser.newPage();
    // Each worker counts its WebGPU calls from its start (the page may start one on Train).
    const workers = [];
    page.on("worker", (w) => {
      workers.push(w);
      countGpuCalls(w).catch(() => {});
    });
    const opened = performance.now();
    await page.goto(`${origin}/?${PAPER}${MODES[name].query}${extra}`);
    await page.waitForSelector("#train:not([disabled])", { timeout: 120_000 });
    const mounted = performance.now();
    await watchLongTasks(page);
    await page.click("#train");
    const first = await reached(page, 1);
    const from = await reached(page, warmup);
    // On the CPU a training worker answers nothing between steps (it never waits on its event
    // loop), and there are no WebGPU calls to count.
    const counting = name === "webgpu";
    const callsFrom = counting ? await gpuCalls(workers) : null;
    const to = await reached(page, steps);
    const callsTo = counting ? await gpuCalls(workers) : null;
    const backend = (await page.textContent(".backend")).replace("Backend: ", "");
    const workersLine = / on (\d+) workers?/.exec(await page.textContent("#status"));
    const longestTask = await longest(page);
    // Per training step, between step `warmup` and step `steps` (read as the status line shows
    // them: the count may include part of the step after each).
    const gpu_calls_per_step =
      callsFrom &&
      Object.fromEntries(
        Object.keys(callsFrom).map((key) => [key, (callsTo[key] - callsFrom[key]) / (steps - warmup)]),
      );
    return {
      gpu_calls_per_step,
      mode: name,
      extra,
      workers: workersLine ? Number(workersLine[1]) : null,
      backend,
      load_ms: mounted - opened,
      first_step_after_train_ms: first - mounted,
      first_step_after_load_ms: first - opened,
      steps_per_second: (steps - warmup) / ((to - from) / 1000),
      longest_main_thread_task_ms: longestTask,
    };
  } finally {
    await browser.close();
  }
}

/** Steps per second of `count` seeds of the paper config (seeds 42, 43, ...), one worker each,
 * trained at once in as many pages of one browser, each timed as `measure` times one. */
async function sideBySide(origin, count) {
  const browser = await launch(MODES["cpu-fallback"].flags);
  try {
    const pages = [];
    for (let i = 0; i < count; i++) {
      const page = await browser.newPage();
      await page.goto(`${origin}/?${PAPER.replace("seed=42", `seed=${42 + i}`)}&backend=cpu&workers=1`);
      await page.waitForSelector("#train:not([disabled])", { timeout: 120_000 });
      pages.push(page);
    }
    await Promise.all(pages.map((page) => page.click("#train")));
    return await Promise.all(
      pages.map(async (page) => {
        const from = await reached(page, warmup);
        const to = await reached(page, steps);
        return (steps - warmup) / ((to - from) / 1000);
      }),
    );
  } finally {
    await browser.close();
  }
}

/** Seconds for the ten default seeds of SWEEP on the CPU fallback, `workers` at a time. */
async function sweep(origin, workers) {
  const browser = await launch(MODES["cpu-fallback"].flags);
  try {
    const page = await browser.newPage();
    await page.goto(`${origin}/?${SWEEP}`);
    await page.waitForSelector("#train-all:not([disabled])", { timeout: 120_000 });
    await page.fill("#parallel", String(workers));
    await page.dispatchEvent("#parallel", "change");
    await watchLongTasks(page);
    const started = performance.now();
    await page.click("#train-all");
    await page.waitForFunction(() => document.querySelectorAll("#seed-lines li.ended").length === 10, null, {
      timeout: 3_600_000,
      polling: 100,
    });
    const seconds = (performance.now() - started) / 1000;
    const lines = await page.locator("#seed-lines li").allTextContents();
    if (!lines.every((l) => /· finished$/.test(l))) throw new Error(`a seed did not finish: ${lines}`);
    return { workers, seconds, longest_main_thread_task_ms: await longest(page) };
  } finally {
    await browser.close();
  }
}

/**
 * One load of the page as a visitor opens it (automatic backend, WebGPU off as on this machine's
 * CPU-only test runs): milliseconds from navigation until the claim rows and every mark of both
 * tasks' Figure 6 are in the page, and the bytes (raw and gzip -9) of every response until then.
 */
async function firstAnswer(origin) {
  const browser = await launch(MODES["cpu-fallback"].flags);
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const bodies = [];
    page.on("response", (r) => bodies.push(r.body().then((b) => [r.url(), b]).catch(() => null)));
    await page.goto(`${origin}/`);
    const handle = await page.waitForFunction(
      () =>
        document.querySelector("#claims tr.claim") &&
        document.querySelector("#sweep-scatter-reverse g.point") &&
        document.querySelector("#sweep-scatter-sort g.point") &&
        performance.now(),
      null,
      { timeout: 120_000, polling: "raf" },
    );
    const ms = await handle.jsonValue();
    const fetched = (await Promise.all(bodies)).filter(Boolean);
    const raw = fetched.reduce((n, [, b]) => n + b.length, 0);
    const gzip = fetched.reduce((n, [, b]) => n + gzipSync(b, { level: 9 }).length, 0);
    const files = fetched.map(([url]) => new URL(url).pathname);
    return { ms, raw, gzip, files };
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
  let first = null;
  if (parts.includes("first-answer")) {
    const loads = [];
    for (let i = 0; i < LOADS; i++) loads.push(await firstAnswer(origin));
    const times = loads.map((l) => l.ms).sort((a, b) => a - b);
    first = { median_ms: times[Math.floor(LOADS / 2)], times_ms: times, ...loads[0] };
    console.log(
      `first answer (claim rows and both Figure 6 drawn): median ${first.median_ms.toFixed(0)} ms after navigation ` +
        `over ${LOADS} loads (${times.map((t) => t.toFixed(0)).join(", ")}); fetched until then: ` +
        `${(first.raw / 1e6).toFixed(2)} MB, ${(first.gzip / 1e6).toFixed(3)} MB gzip -9 (${first.files.join(", ")})`,
    );
  }
  const results = [];
  for (const name of parts.includes("training") ? modes : []) {
    const r = await measure(origin, name);
    results.push(r);
    console.log(
      `${name} (${r.backend}): page usable ${r.load_ms.toFixed(0)} ms after navigation; ` +
        `first step ${r.first_step_after_train_ms.toFixed(0)} ms after Train ` +
        `(${(r.first_step_after_load_ms / 1000).toFixed(1)} s after navigation); ` +
        `${r.steps_per_second.toFixed(2)} steps/s = ${(1000 / r.steps_per_second).toFixed(0)} ms/step ` +
        `(steps ${warmup}-${steps}, paper config); longest main-thread task ${r.longest_main_thread_task_ms.toFixed(0)} ms`,
    );
    if (r.gpu_calls_per_step) {
      const c = r.gpu_calls_per_step;
      console.log(
        `${name}: WebGPU calls per training step: ${c.dispatches.toFixed(1)} compute dispatches, ` +
          `${c.submits.toFixed(1)} queue submissions, ${c.writes.toFixed(1)} buffer writes, ` +
          `${c.readbacks.toFixed(1)} read-backs`,
      );
    }
  }
  const sweeps = [];
  for (const workers of parts.includes("sweep") ? [1, parallel] : []) {
    const r = await sweep(origin, workers);
    sweeps.push(r);
    console.log(
      `ten seeds (reduced config, CPU fallback), ${workers} at a time: ${r.seconds.toFixed(1)} s; ` +
        `longest main-thread task ${r.longest_main_thread_task_ms.toFixed(0)} ms`,
    );
  }
  const onWorkers = [];
  const workerRuns = [["&backend=cpu&workers=1", "1 worker, whole batch"]];
  for (let w = 1; w <= seedWorkers; w++) {
    workerRuns.push([`&backend=cpu&micro-batches=${seedWorkers}&workers=${w}`, `${w} worker${w > 1 ? "s" : ""}, ${seedWorkers} micro-batches`]);
  }
  for (const [extra, label] of parts.includes("workers") ? workerRuns : []) {
    const r = await measure(origin, "cpu-fallback", extra);
    onWorkers.push({ label, ...r });
    console.log(
      `one seed on the CPU, ${label} (status line: ${r.workers} worker${r.workers === 1 ? "" : "s"}): ` +
        `${r.steps_per_second.toFixed(2)} steps/s = ${(1000 / r.steps_per_second).toFixed(0)} ms/step ` +
        `(steps ${warmup}-${steps}, paper config); longest main-thread task ${r.longest_main_thread_task_ms.toFixed(0)} ms`,
    );
  }
  let side_by_side = null;
  if (parts.includes("side-by-side")) {
    const [alone] = await sideBySide(origin, 1);
    const together = await sideBySide(origin, 2);
    const sum = together.reduce((a, b) => a + b, 0);
    side_by_side = { alone, together };
    console.log(
      `two seeds side by side (paper config, CPU, one worker each): ${together.map((r) => r.toFixed(2)).join(" and ")} steps/s ` +
        `against ${alone.toFixed(2)} alone: ${(sum / alone).toFixed(2)}x the steps of one (steps ${warmup}-${steps})`,
    );
  }
  console.log(JSON.stringify({ steps, warmup, weight: size, first_answer: first, results, sweeps, workers: onWorkers, side_by_side }));
} finally {
  server.close();
}
