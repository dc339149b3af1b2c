// Benchmark: the page's sampling speed on the CPU (WebAssembly) in headless
// Chromium, for one or more builds of the app, alternating between them so
// that a busy machine slows each alike. The figure is the one the page shows
// in its status line (sampling only, not drawing).
//
//   node web/e2e/page_speed.mjs [--dist dist]... [--n 1000] [--rounds 3]
//
// Prints one JSON line per measurement and a summary per build.

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import { serveDist } from './serve_dist.mjs';

const args = process.argv.slice(2);
const values = (name) => args.flatMap((a, i) => (a === name ? [args[i + 1]] : []));
const one = (name, fallback) => values(name).at(-1) ?? fallback;
const dists = (values('--dist').length ? values('--dist') : ['dist']).map((d) => path.resolve(d));
const n = Number(one('--n', '1000'));
const rounds = Number(one('--rounds', '3'));
for (const dist of dists) {
  if (!fs.existsSync(path.join(dist, 'index.html'))) {
    console.error(`${dist} holds no built app; build one with scripts/trunk.sh build --release`);
    process.exit(2);
  }
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--no-first-run', '--disable-background-networking'],
});
const servers = await Promise.all(dists.map((d) => serveDist(d)));
const rates = dists.map(() => []);
const ready = (page) => page.waitForSelector('#generate[data-state=ready]', { timeout: 600_000 });

for (let round = 0; round < rounds; round++) {
  for (const [k, dist] of dists.entries()) {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${servers[k].address().port}/?backend=cpu`);
    await ready(page);
    await page.fill('#generate input[type=number] >> nth=0', String(n));
    await page.click('#sample');
    await page.waitForFunction((want) => document.title === `molgap: ${want} molecules`, n, { timeout: 600_000 });
    await ready(page);
    const status = await page.textContent('#status');
    const rate = Number(/\(([\d.]+) molecules\/s\)/.exec(status)?.[1]);
    if (!/CPU/.test(status) || !(rate > 0)) throw new Error(`unexpected status: ${status}`);
    rates[k].push(rate);
    console.log(JSON.stringify({ dist, round, n, molecules_per_second: rate }));
    await page.close();
  }
}
for (const [k, dist] of dists.entries()) {
  const sorted = [...rates[k]].sort((a, b) => a - b);
  console.log(JSON.stringify({ dist, n, rounds, min: sorted[0], median: sorted[sorted.length >> 1], max: sorted.at(-1) }));
}
await browser.close();
servers.forEach((s) => s.close());
