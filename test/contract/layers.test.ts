import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

/** Every TypeScript file below `folder` (relative to the project root). */
function sourcesIn(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => join(folder, name));
}

/** The project files `file` imports (relative specifiers only), as paths from the project root. */
function localImportsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specifiers = [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s+'(\.{1,2}\/[^']+)'/gm)].map((m) => m[1]!);
  return specifiers.map((s) => relative(ROOT, resolve(join(ROOT, dirname(file)), s)));
}

/** The imports of files below `folder` that fall outside the folders it may use. */
function importsOutside(folder: string, allowed: readonly string[]): string[] {
  return sourcesIn(folder).flatMap((file) =>
    localImportsOf(file)
      .filter((target) => !allowed.some((a) => target === a || target.startsWith(`${a}/`)))
      .map((target) => `${file} -> ${target}`));
}

// The layers of docs/development.md: handlers -> services -> ports <- DynamoDB adapters.
describe('import layers', () => {
  it('finds the imports it checks (the scan itself works)', () => {
    expect(localImportsOf('lambdas/store/dynamo-authorization-store.ts')).toContain('lambdas/shared/client-id.ts');
    // The services use the core and the ports, so a rule leaving those out must report them.
    expect(importsOutside('lambdas/notifier', ['lambdas/notifier'])).toContain('lambdas/notifier/validation.ts -> lambdas/shared/client-id.ts');
  });

  it('keeps the DynamoDB adapters free of the protocol: lambdas/store imports only storage, shared helpers, the contract and the runtime', () => {
    expect(importsOutside('lambdas/store', ['lambdas/store', 'lambdas/shared', 'lambdas/contract.ts', 'lambdas/runtime'])).toEqual([]);
  });

  it('keeps the shared helpers and the contract at the bottom', () => {
    expect(importsOutside('lambdas/shared', ['lambdas/shared'])).toEqual([]);
    expect(localImportsOf('lambdas/contract.ts').filter((t) => !t.startsWith('lambdas/shared/'))).toEqual([]);
  });

  it('keeps the Lambda code free of the CLI, the local stack, the constructs and the tests', () => {
    expect(importsOutside('lambdas', ['lambdas'])).toEqual([]);
  });
});
