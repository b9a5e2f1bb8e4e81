#!/usr/bin/env node
/**
 * `npm run docs`: renders openapi/setpoll.yaml into docs/api/index.html, one self-contained page
 * that works offline, opened straight from disk.
 *
 * - Redocly's build-docs loads Redoc from its CDN unless told `--inlineBundle`: the page embeds it.
 * - Redoc's usage telemetry is off (`--openapi.disableTelemetry`), and the browser "Try it" panel is
 *   hidden (`--openapi.hideTryItPanel`: every request needs a client certificate and a bound token).
 * - The one thing the page still fetched from a CDN at run time, the "API docs by Redocly" logo,
 *   is replaced by an inline SVG of the same words.
 * Then the page is checked: no external script, style sheet, image, font or frame, and no CDN URL
 * that Redoc is known to load at run time. `npm run docs:check` opens it in Chromium to prove it.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const DOCUMENT = 'openapi/setpoll.yaml';
const CONFIG = 'openapi/redocly.yaml';
const OUTPUT = 'docs/api/index.html';
const TITLE = 'setpoll API reference';

/** What Redoc fetches at run time (the attribution logo), and what stands in for it. */
const svg = (width, text) =>
  `data:image/svg+xml,${encodeURIComponent(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="16" viewBox="0 0 ${width} 16"><text x="0" y="12.5" font-family="sans-serif" font-size="12" font-weight="600" fill="#5c5c66">${text}</text></svg>`,
  )}`;
const RUNTIME_ASSETS = {
  'https://cdn.redoc.ly/redoc/logo-mini-full.svg': svg(52, 'Redocly'),
  'https://cdn.redoc.ly/redoc/logo-mini.svg': svg(10, 'R'),
};

function render() {
  mkdirSync(dirname(`${root}${OUTPUT}`), { recursive: true });
  const cli = fileURLToPath(new URL('../node_modules/@redocly/cli/bin/cli.js', import.meta.url));
  const args = [cli, 'build-docs', DOCUMENT, '--config', CONFIG, '--inlineBundle', '--openapi.disableTelemetry', '--openapi.hideTryItPanel', '--title', TITLE, '--output', OUTPUT];
  const run = spawnSync(process.execPath, args, {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
  });
  if (run.status !== 0) throw new Error(`redocly build-docs failed (exit ${run.status ?? run.signal})`);
}

function makeSelfContained(html) {
  let out = html;
  for (const [url, replacement] of Object.entries(RUNTIME_ASSETS)) {
    if (!out.includes(url)) throw new Error(`Expected Redoc to reference ${url}; check what this Redoc version loads at run time`);
    out = out.split(url).join(replacement);
  }
  return out;
}

/** Fails when the page would load anything from the network. */
function assertOffline(html) {
  const problems = [];
  const external = /^(https?:)?\/\//i;
  // Elements that load what they name (an <a href> does not).
  for (const [, tag, attr, url] of html.matchAll(/<(script|link|img|iframe|source|audio|video|embed|object)\b[^>]*?\s(src|href|data)\s*=\s*["']([^"']*)["']/gi)) {
    if (external.test(url)) problems.push(`<${tag} ${attr}="${url}">`);
  }
  for (const [, url] of html.matchAll(/@import\s+(?:url\()?["']?((?:https?:)?\/\/[^"')\s]+)/gi)) problems.push(`@import ${url}`);
  for (const [, url] of html.matchAll(/url\(\s*["']?((?:https?:)?\/\/[^"')\s]+)/gi)) problems.push(`url(${url})`);
  for (const url of ['cdn.redoc.ly', 'cdn.redocly.com/redoc', 'fonts.googleapis.com', 'fonts.gstatic.com']) {
    if (html.includes(url)) problems.push(`a reference to ${url}`);
  }
  if (!/<script>[\s\S]{100000,}?<\/script>/.test(html)) problems.push('no inline Redoc bundle');
  if (problems.length > 0) throw new Error(`${OUTPUT} is not self-contained:\n  ${problems.join('\n  ')}`);
}

render();
const page = makeSelfContained(readFileSync(`${root}${OUTPUT}`, 'utf8'));
assertOffline(page);
writeFileSync(`${root}${OUTPUT}`, page);
console.log(`${OUTPUT}: ${(statSync(`${root}${OUTPUT}`).size / 1024).toFixed(0)} KiB, self-contained (Redoc inlined, no CDN, no telemetry)`);
