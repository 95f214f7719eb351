// Where a browser training step's time goes: V8's sampling profiler (`--prof`) in headless
// Chromium while the page trains the paper config on the CPU fallback (in its worker), then the
// worker's samples attributed to the functions of the page's wasm and JavaScript, by own time
// and by time with callees. `scripts/profile-page` builds a page that keeps its function names
// and runs this; on a page built without them every wasm function reads `wasm-function[N]`.
//
//   node tests/page/profile.mjs DIST [STEPS]
//
// The rows printed are shares of the worker's samples in the engine's code: the STEPS training
// steps (default 25), and the model's set-up before them (under 1%).

import { mkdtemp, readdir, readFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { MODES, launch, reached, serve } from "./browser.mjs";

const dist = resolve(process.argv[2] ?? "dist");
const steps = Number(process.argv[3] ?? 25);
const logs = await mkdtemp(join(tmpdir(), "gradcause-profile-"));

/** Trains until the status line shows `steps`; returns the time per step after the first. */
async function train(origin) {
  const browser = await launch([...MODES["cpu-fallback"].flags, `--js-flags=--prof --logfile=${logs}/v8.log`]);
  try {
    const page = await browser.newPage();
    await page.goto(`${origin}/?task=sort&seed=42&max-steps=${steps + 1}&eval-every=${steps + 1}`);
    await page.waitForSelector("#train:not([disabled])", { timeout: 120_000 });
    await page.click("#train");
    const first = await reached(page, 1);
    return ((await reached(page, steps)) - first) / (steps - 1);
  } finally {
    await browser.close();
  }
}

/**
 * The samples of one V8 log: each a list of function names, innermost first. Code objects are
 * placed by their `code-creation` (and `code-move`) lines in log order, so a function
 * recompiled by a higher tier is found at its new address from then on.
 */
function samples(log) {
  const code = new Map(); // address -> [size, name]
  const ticks = [];
  let sorted = null;
  const name = (pc) => {
    sorted ??= [...code.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
    let [lo, hi] = [0, sorted.length - 1];
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid][0] <= pc) lo = mid + 1;
      else hi = mid - 1;
    }
    const hit = sorted[hi];
    return hit && pc < hit[0] + BigInt(hit[1][0]) ? hit[1][1] : "(outside the page's code)";
  };
  for (const line of log.split("\n")) {
    const f = line.split(",");
    if (f[0] === "code-creation" && f.length > 6 && f[4].startsWith("0x")) {
      code.set(BigInt(f[4]), [Number(f[5]), f[6].replace(/::h[0-9a-f]{16}(\[\d+\])?$/, "").replaceAll("\\x2C", ",")]);
      sorted = null;
    } else if (f[0] === "code-move") {
      const moved = code.get(BigInt(f[1]));
      if (moved) code.delete(BigInt(f[1])), code.set(BigInt(f[2]), moved);
      sorted = null;
    } else if (f[0] === "tick") {
      const pcs = [f[1], ...f.slice(6)].filter((x) => x.startsWith("0x")).map(BigInt);
      ticks.push(pcs.map(name));
    }
  }
  return ticks;
}

const server = await serve(dist);
const origin = `http://127.0.0.1:${server.address().port}`;
let perStep;
try {
  perStep = await train(origin);
} finally {
  server.close();
}

// The worker is the isolate with the most samples in the engine's code (the training loop
// inlines into the worker's message handler, so no one frame marks a step).
const inEngine = (stack) => stack.some((n) => n.startsWith("gradcause::"));
let training = [];
for (const file of await readdir(logs)) {
  if ((await stat(join(logs, file))).size === 0) continue;
  const ticks = samples(await readFile(join(logs, file), "utf8")).filter(inEngine);
  if (ticks.length > training.length) training = ticks;
}
if (training.length === 0) throw new Error(`no samples in the engine in ${logs} (a page without function names?)`);

const own = new Map();
const total = new Map();
for (const stack of training) {
  own.set(stack[0], (own.get(stack[0]) ?? 0) + 1);
  for (const n of new Set(stack)) total.set(n, (total.get(n) ?? 0) + 1);
}
const rows = (counts, keep, limit) =>
  [...counts.entries()]
    .filter(([n]) => keep(n))
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([n, c]) => `${((100 * c) / training.length).toFixed(1).padStart(5)}%  ${n.slice(0, 110)}`)
    .join("\n");
console.log(`${perStep.toFixed(0)} ms a step (steps 1-${steps}); ${training.length} samples in the engine's code (logs: ${logs})`);
console.log(`\nown time:\n${rows(own, () => true, 20)}`);
const ours = /^(gradcause::|gemm::gemm::gemm$|burn_flex::ops::matmul::matmul$|burn_autodiff::runtime::server::AutodiffServer::backward$)/;
console.log(`\nwith callees:\n${rows(total, (n) => ours.test(n), 25)}`);
