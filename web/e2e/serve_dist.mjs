// A static server for a built app (dist/) on 127.0.0.1 at a free port, for
// the browser test and the page-speed benchmark. `corrupt` serves damaged
// weights instead, to test the page's error message.

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

const types = {
  '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm',
  '.css': 'text/css', '.bin': 'application/octet-stream', '.csv': 'text/csv',
};

/** Resolves to the listening server; `dist` must be an absolute path. */
export function serveDist(dist, { corrupt = false } = {}) {
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
