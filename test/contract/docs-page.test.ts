/**
 * The rendered reference page (docs/api/index.html, made by `npm run docs`) is of the current
 * document and loads nothing from the network. (`npm run docs:check` opens it in a browser.)
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { OpenApiDocument } from './openapi.ts';

const PAGE = fileURLToPath(new URL('../../docs/api/index.html', import.meta.url));

describe('docs/api/index.html', () => {
  it('embeds exactly the current openapi/setpoll.yaml (else run npm run docs)', () => {
    // Prepare
    const html = readFileSync(PAGE, 'utf8');

    // Act
    const embedded = /const __redoc_definition = (\{[\s\S]*?\});\n/.exec(html)?.[1];

    // Assess
    expect(embedded, 'no embedded definition: run npm run docs').toBeDefined();
    expect(JSON.parse(embedded!), 'the page is older than the document: run npm run docs').toEqual(new OpenApiDocument().doc);
  });

  it('carries Redoc inline and names no external script, style, image, font or frame', () => {
    // Prepare
    const html = readFileSync(PAGE, 'utf8');

    // Act
    const loads = [...html.matchAll(/<(script|link|img|iframe|source|embed|object)\b[^>]*?\s(?:src|href|data)\s*=\s*["']((?:https?:)?\/\/[^"']*)["']/gi)].map((m) => m[2]);
    const cssImports = [...html.matchAll(/url\(\s*["']?((?:https?:)?\/\/[^"')\s]+)/gi)].map((m) => m[1]);

    // Assess
    expect({ loads, cssImports }).toEqual({ loads: [], cssImports: [] });
    expect(html).not.toMatch(/cdn\.redoc\.ly|fonts\.googleapis\.com|fonts\.gstatic\.com/);
    expect(html).toMatch(/"disableTelemetry":true/);
    expect(html.length).toBeGreaterThan(1_000_000);
  });
});
