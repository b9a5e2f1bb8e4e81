#!/usr/bin/env node
/**
 * `npm run docs:check`: opens docs/api/index.html (made by `npm run docs`) from disk in headless
 * Chromium, offline as a reader would, and proves it works:
 *
 * - the page hydrates (Redoc's script runs: the search button stops saying "Loading...") and
 *   reports no error;
 * - the rendered text names every operation (its summary) and every tag of openapi/setpoll.yaml;
 * - navigation works from file:// (a click on the poll operation in the sidebar routes to it);
 * - the page requests nothing but file: and data: URLs (every request is recorded);
 * - docs/api/screenshot.png shows the poll operation, 1400×1000.
 *
 * Chromium: `apt-get install -y chromium` (or set CHROMIUM to its path). It is driven over the
 * DevTools protocol with Node's WebSocket (behind --experimental-websocket on Node 20). Not part of
 * `npm test`: it needs a browser.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse } from 'yaml';

if (typeof WebSocket === 'undefined') {
  // Node 20: WebSocket is behind a flag. Run this script again with it.
  const again = spawnSync(process.execPath, ['--experimental-websocket', '--no-warnings=ExperimentalWarning', fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(again.status ?? 1);
}

const root = fileURLToPath(new URL('..', import.meta.url));
const PAGE = join(root, 'docs/api/index.html');
const SCREENSHOT = join(root, 'docs/api/screenshot.png');
const DOCUMENT = join(root, 'openapi/setpoll.yaml');
const WIDTH = 1400;
const HEIGHT = 1000;
const POLL_SUMMARY = 'Poll for SETs, acknowledge SETs, report SET errors';

function chromiumPath() {
  const candidates = [process.env.CHROMIUM, 'chromium', 'chromium-browser', 'google-chrome'].filter(Boolean);
  for (const candidate of candidates) {
    if (spawnSync(candidate, ['--version'], { stdio: 'ignore' }).status === 0) return candidate;
  }
  throw new Error('No Chromium found: apt-get install -y chromium, or set CHROMIUM to its path');
}

/** A minimal DevTools protocol client over one WebSocket. */
async function connect(url) {
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => {
    socket.addEventListener('open', resolve, { once: true });
    socket.addEventListener('error', () => reject(new Error(`Cannot connect to ${url}`)), { once: true });
  });
  let next = 0;
  const pending = new Map();
  const listeners = [];
  socket.addEventListener('message', (message) => {
    const data = JSON.parse(String(message.data));
    if (data.id !== undefined) {
      const waiter = pending.get(data.id);
      pending.delete(data.id);
      if (data.error) waiter?.reject(new Error(`${data.error.message} (${data.error.code})`));
      else waiter?.resolve(data.result);
    } else for (const listener of listeners) listener(data.method, data.params);
  });
  return {
    send: (method, params = {}) =>
      new Promise((resolve, reject) => {
        const id = ++next;
        pending.set(id, { resolve, reject });
        socket.send(JSON.stringify({ id, method, params }));
      }),
    on: (listener) => listeners.push(listener),
    close: () => socket.close(),
  };
}

async function waitFor(what, check, timeoutMs = 20_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`Timed out waiting for ${what}`);
    await sleep(200);
  }
}

/** Closes the browser this script started (gracefully, so its helpers exit too) and removes its profile. */
async function closeBrowser(chromium, profile) {
  const exited = new Promise((resolve) => (chromium.exitCode !== null || chromium.signalCode !== null ? resolve() : chromium.once('exit', resolve)));
  try {
    const port = readFileSync(join(profile, 'DevToolsActivePort'), 'utf8').split('\n')[0];
    const { webSocketDebuggerUrl } = await (await fetch(`http://127.0.0.1:${port}/json/version`)).json();
    const browser = await connect(webSocketDebuggerUrl);
    await Promise.race([browser.send('Browser.close'), sleep(2000)]);
  } catch {
    // Not started, or already gone.
  }
  await Promise.race([exited, sleep(5000)]);
  if (chromium.exitCode === null && chromium.signalCode === null) {
    chromium.kill();
    await exited;
  }
  try {
    rmSync(profile, { recursive: true, force: true, maxRetries: 20, retryDelay: 250 });
  } catch (error) {
    console.warn(`Could not remove the browser profile ${profile}: ${error.message}`);
  }
}

async function main() {
  if (!existsSync(PAGE)) throw new Error(`${PAGE} is missing: run npm run docs first`);
  const doc = parse(readFileSync(DOCUMENT, 'utf8'));
  const summaries = Object.values(doc.paths).flatMap((item) =>
    ['get', 'put', 'post', 'delete', 'patch'].filter((m) => item[m]).map((m) => item[m].summary),
  );
  const tags = doc.tags.map((t) => t.name);
  const summariesByTag = new Map();
  for (const item of Object.values(doc.paths)) {
    for (const op of ['get', 'put', 'post', 'delete', 'patch'].map((m) => item[m]).filter(Boolean)) {
      for (const tag of op.tags ?? []) summariesByTag.set(tag, [...(summariesByTag.get(tag) ?? []), op.summary]);
    }
  }

  const profile = mkdtempSync(join(tmpdir(), 'setpoll-docs-check-'));
  const chromium = spawn(
    chromiumPath(),
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--hide-scrollbars',
      `--user-data-dir=${profile}`,
      '--remote-debugging-port=0',
      `--window-size=${WIDTH},${HEIGHT}`,
      // The browser's own background traffic (updates, sync, metrics) is not the page's.
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--no-default-browser-check',
      'about:blank',
    ],
    { stdio: 'ignore' },
  );
  let client;
  try {
    const portFile = join(profile, 'DevToolsActivePort');
    const port = await waitFor('Chromium to start', () => existsSync(portFile) && readFileSync(portFile, 'utf8').split('\n')[0]);
    const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
    client = await connect(targets.find((t) => t.type === 'page').webSocketDebuggerUrl);

    const requests = [];
    const errors = [];
    client.on((method, params) => {
      if (method === 'Network.requestWillBeSent') requests.push(params.request.url);
      if (method === 'Runtime.exceptionThrown') errors.push(params.exceptionDetails?.exception?.description ?? params.exceptionDetails?.text);
      if (method === 'Runtime.consoleAPICalled' && params.type === 'error') errors.push(params.args.map((a) => a.value ?? a.description).join(' '));
    });
    await client.send('Network.enable');
    await client.send('Runtime.enable');
    await client.send('Page.enable');
    await client.send('Emulation.setDeviceMetricsOverride', { width: WIDTH, height: HEIGHT, deviceScaleFactor: 1, mobile: false });
    const evaluate = async (expression) => (await client.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true })).result.value;

    await client.send('Page.navigate', { url: pathToFileURL(PAGE).href });
    // Hydrated: the server-rendered search button says "Loading..." until Redoc's script has run.
    await waitFor('the page to hydrate', () => evaluate(`/Search/.test(document.querySelector('[data-testid="search-trigger"]')?.textContent ?? '')`));

    // Open every tag in the sidebar as a reader does (Redoc renders a section when it is opened),
    // collecting what the page shows; then every operation and tag must have been shown.
    const click = (label) =>
      evaluate(`(() => { const a = [...document.querySelectorAll('a')].find((a) => a.textContent.trim().startsWith(${JSON.stringify(label)})); if (!a) return false; a.click(); return true; })()`);
    let shown = await evaluate('document.body.innerText');
    for (const tag of tags) {
      if (!(await click(tag))) throw new Error(`No sidebar link to the tag ${tag}`);
      const expected = summariesByTag.get(tag) ?? [];
      const text = await waitFor(`the operations of ${tag}`, async () => {
        const now = await evaluate('document.body.innerText');
        return expected.every((summary) => now.includes(summary)) && now;
      }).catch(() => evaluate('document.body.innerText'));
      shown += `\n${text}`;
    }
    const missing = [...summaries, ...tags].filter((name) => !shown.includes(name));
    if (missing.length > 0) throw new Error(`The page does not show: ${missing.join('; ')}`);
    if (await evaluate(`!!document.querySelector('.api-docs-error-page')`)) throw new Error('The page shows its error page');

    // Then to the main operation, for the screenshot.
    await click('Polling');
    await waitFor('the poll operation in the sidebar', () => click(POLL_SUMMARY));
    const routed = await waitFor('the route to change', () => evaluate(`location.hash.length > 2 && location.hash`));
    await sleep(1500);
    const shot = await client.send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: false });
    writeFileSync(SCREENSHOT, Buffer.from(shot.data, 'base64'));

    const external = requests.filter((url) => !/^(file|data|blob|about):/.test(url));
    if (external.length > 0) throw new Error(`The page requested the network:\n  ${[...new Set(external)].join('\n  ')}`);
    if (errors.length > 0) throw new Error(`The page reported errors:\n  ${errors.join('\n  ')}`);

    console.log(
      [
        `${PAGE}: hydrated; shows all ${summaries.length} operations and ${tags.length} tags`,
        `navigation from file:// works (${routed})`,
        `${requests.length} requests, all file: or data:`,
        `${SCREENSHOT}: ${WIDTH}x${HEIGHT}, ${(statSync(SCREENSHOT).size / 1024).toFixed(0)} KiB`,
      ].join('\n'),
    );
  } finally {
    client?.close();
    await closeBrowser(chromium, profile);
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
