// Screenshots of the page's first screen before any click, at a desktop and a phone size, for
// the README (docs/first-screen-*.png).
//
//   node tests/page/first-screen.mjs [dist-dir]

import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { launch, serve } from "./browser.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
const dist = resolve(process.argv[2] ?? join(here, "../../dist"));
const docs = join(here, "../../docs");

const server = await serve(dist);
const browser = await launch(["--disable-features=WebGPU"]);
try {
  for (const [width, height] of [
    [1400, 1000],
    [390, 844],
  ]) {
    const page = await browser.newPage({ viewport: { width, height } });
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForSelector("#claims tr.claim", { timeout: 60_000 });
    await page.waitForSelector("#sweep-scatter-sort g.point", { timeout: 60_000 });
    const path = join(docs, `first-screen-${width}.png`);
    await page.screenshot({ path });
    console.log(`wrote ${path}`);
    await page.close();
  }
} finally {
  await browser.close();
  server.close();
}
