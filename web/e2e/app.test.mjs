// End-to-end test of the browser app in headless Chromium (Debian's chromium,
// driven by playwright-core): the page loads the shipped weights, samples and
// draws molecules, is usable by keyboard and at phone size, gives the same
// molecules for the same seed, and says clearly when the weights are broken.
//
//   node web/e2e/app.test.mjs [--webgpu] [--dist dist] [--out target/web-e2e]
//
// Prints the measured figures as JSON lines; exits non-zero on any failure.

import { chromium } from 'playwright-core';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const webgpu = args.includes('--webgpu');
const dist = path.resolve(flag('--dist', 'dist'));
const out = path.resolve(flag('--out', 'target/web-e2e'), webgpu ? 'webgpu' : 'cpu');
fs.mkdirSync(out, { recursive: true });

const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css', '.bin': 'application/octet-stream' };

// A static server for dist/; `corrupt` serves damaged weights instead.
function serve(corrupt) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    let file = path.join(dist, decodeURIComponent(url.pathname));
    if (!file.startsWith(dist)) { res.writeHead(403).end(); return; }
    if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, 'index.html');
    if (!fs.existsSync(file)) { res.writeHead(404).end('not found'); return; }
    let body = fs.readFileSync(file);
    if (corrupt && file.endsWith('weights.bin')) {
      body = Buffer.from(body);
      body[body.length - 100] ^= 0x55;
    }
    res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' });
    res.end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const launchArgs = [
  '--headless', '--no-sandbox', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
// playwright gives every launch a fresh temporary profile (its own --user-data-dir).
if (webgpu) launchArgs.push('--enable-unsafe-webgpu');

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: launchArgs });
const report = (what, value) => console.log(JSON.stringify({ mode: webgpu ? 'webgpu' : 'cpu', what, value }));
let failed = false;

async function check(name, body) {
  try {
    await body();
    console.log(`ok   ${name}`);
  } catch (e) {
    failed = true;
    console.log(`FAIL ${name}\n${e.stack ?? e}`);
  }
}

const good = await serve(false);
const base = `http://127.0.0.1:${good.address().port}/`;
const smilesOnPage = (page) => page.$$eval('.molecule', (cards) => cards.map((c) => c.dataset.smiles));

await check('loads, samples and draws at least 100 molecules', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const started = Date.now();
  await page.goto(base);
  await page.waitForSelector('main[data-state=ready]', { timeout: 180_000 });
  report('first_molecules_drawn_ms', Date.now() - started);
  const drawings = await page.$$eval('.molecule .drawing svg', (svgs) => svgs.length);
  assert.ok(drawings >= 100, `only ${drawings} drawings`);
  const smiles = await smilesOnPage(page);
  assert.ok(smiles.every((s) => /^[A-Za-z0-9()=#@+\-\[\]]+$/.test(s)), 'every card shows a SMILES');
  const status = await page.textContent('#status');
  report('status', status.trim());
  const rate = Number(/\(([\d.]+) molecules\/s\)/.exec(status)?.[1]);
  assert.ok(rate > 0, status);
  report('molecules_per_second_100', rate);
  assert.equal(await page.title(), 'molgap: 100 molecules');
  assert.deepEqual(errors, []);
  // Whether this browser offers a WebGPU adapter (with --enable-unsafe-webgpu: SwiftShader's).
  const adapter = await page.evaluate(async () => {
    if (!navigator.gpu) return null;
    const a = await navigator.gpu.requestAdapter();
    return a ? (a.info?.description || a.info?.vendor || 'adapter') : null;
  });
  report('webgpu_adapter', adapter);
  if (webgpu) assert.ok(adapter, 'Chromium with --enable-unsafe-webgpu offers an adapter');
  await page.screenshot({ path: path.join(out, 'generate-desktop.png'), fullPage: false });

  // A bigger batch for a steadier throughput figure.
  await page.fill('input[type=number] >> nth=0', '1000');
  await page.click('#sample');
  await page.waitForSelector('main[data-state=ready]', { timeout: 180_000 });
  await page.waitForFunction(() => document.title === 'molgap: 1000 molecules');
  const big = await page.textContent('#status');
  report('molecules_per_second_1000', Number(/\(([\d.]+) molecules\/s\)/.exec(big)?.[1]));
  await page.close();
});

await check('keyboard only: same seed, same molecules; another seed, others', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(base);
  await page.waitForSelector('main[data-state=ready]', { timeout: 180_000 });
  const first = await smilesOnPage(page);
  // Tab to the seed field, type a new seed, submit with Enter.
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.closest('label')?.textContent.trim().startsWith('seed')), true);
  await page.keyboard.press('Control+A');
  await page.keyboard.type('7');
  await page.keyboard.press('Enter');
  await page.waitForFunction((before) => {
    const now = [...document.querySelectorAll('.molecule')].map((c) => c.dataset.smiles);
    return document.querySelector('main').dataset.state === 'ready' && now.join() !== before.join();
  }, first, { timeout: 120_000 });
  await page.keyboard.press('Control+A');
  await page.keyboard.type('0');
  await page.keyboard.press('Enter');
  await page.waitForFunction((before) => {
    const now = [...document.querySelectorAll('.molecule')].map((c) => c.dataset.smiles);
    return document.querySelector('main').dataset.state === 'ready' && now.join() === before.join();
  }, first, { timeout: 120_000 });
  await page.close();
});

await check('phone-sized viewport shows the grid without sideways scrolling', async () => {
  const page = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
  await page.goto(base);
  await page.waitForSelector('main[data-state=ready]', { timeout: 180_000 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page is ${overflow}px wider than the phone`);
  await page.screenshot({ path: path.join(out, 'generate-phone.png') });
  await page.close();
});

await check('corrupt weights give a clear message', async () => {
  const broken = await serve(true);
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${broken.address().port}/`);
  await page.waitForSelector('main[data-state=failed]', { timeout: 120_000 });
  const text = await page.textContent('#status');
  assert.match(text, /weights could not be loaded.*checksum/);
  await page.screenshot({ path: path.join(out, 'broken-weights.png') });
  broken.close();
  await page.close();
});

await browser.close();
good.close();
// Bundle sizes: what the page loads from dist/.
for (const file of fs.readdirSync(dist)) {
  const bytes = fs.readFileSync(path.join(dist, file));
  const { gzipSync } = await import('node:zlib');
  report(`bundle ${file}`, { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length });
}
process.exit(failed ? 1 : 0);
