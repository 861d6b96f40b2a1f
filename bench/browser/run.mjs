// Serves www/, the wasm build (pkg/) and Strophe.js from node_modules on loopback, opens the
// page in headless Chromium and prints the medians. Usage: node run.mjs [stanzas] [rounds]
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = fileURLToPath(new URL('.', import.meta.url));
const roots = {
  '/pkg/': join(process.env.VIGIE_BENCH_PKG ?? join(here, 'pkg')),
  '/strophe/': join(here, 'node_modules/strophe.js/dist'),
  '/': join(here, 'www'),
};
const types = { '.html': 'text/html', '.mjs': 'text/javascript', '.js': 'text/javascript', '.wasm': 'application/wasm' };
const stanzas = Number(process.argv[2] ?? 100000);
const rounds = Number(process.argv[3] ?? 5);

const server = createServer(async (request, response) => {
  const path = new URL(request.url, 'http://localhost').pathname;
  const [prefix, root] = Object.entries(roots).find(([prefix]) => path.startsWith(prefix));
  const file = normalize(join(root, path.slice(prefix.length) || 'index.html'));
  if (!file.startsWith(root)) return response.writeHead(403).end();
  try {
    const body = await readFile(file);
    response.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(body);
  } catch {
    response.writeHead(404).end();
  }
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${server.address().port}/`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage();
  page.on('pageerror', (error) => console.error('page error:', error));
  await page.goto(url);
  const summary = await page.evaluate(([count, rounds]) => window.runBench(count, rounds), [stanzas, rounds]);
  console.log(JSON.stringify(summary, null, 2));
} finally {
  await browser.close();
  server.close();
}
