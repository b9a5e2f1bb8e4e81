import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { LAMBDA_BUNDLE_ALIASES } from '../../lib/constructs/function-defaults.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'setpoll-bundle-names-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Bundled as the CDK bundles the handlers (lib/constructs/function-defaults.ts): minified ESM for node24. */
async function bundle(entry: string, outfile: string) {
  return build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    mainFields: ['module', 'main'],
    alias: Object.fromEntries(Object.entries(LAMBDA_BUNDLE_ALIASES).map(([from, to]) => [from, resolve(ROOT, to)])),
    banner: { js: "import { createRequire } from 'module';const require = createRequire(import.meta.url);" },
    metafile: true,
    logLevel: 'silent',
  });
}

/** Every error class whose name reaches logs or metrics, with the name it must keep. */
const ERRORS = {
  '../../lambdas/core/errors.ts': ['InvalidRequest', 'InvalidToken', 'Unauthenticated', 'AccessDenied', 'InsufficientScope', 'NotFound', 'Conflict', 'MethodNotAllowed', 'PayloadTooLarge', 'UnsupportedMediaType', 'TooManyRequests', 'ServiceUnavailable', 'ProgrammerError'],
  '../../lambdas/store/store-errors.ts': ['ItemMissing', 'ItemExists', 'VersionConflict', 'InvalidCursor', 'StoreUnavailable', 'LimitReached', 'WriteContended', 'TransactionRefused'],
  '../../lambdas/store/queue-store.ts': ['LeaseConflict'],
  '../../lambdas/store/recipient-registry.ts': ['CertificateInUse'],
  '../../lambdas/store/stream-store.ts': ['StreamWriteConflict'],
  '../../lambdas/store/key-set-store.ts': ['KeyAlreadyPublished'],
  '../../lambdas/store/queue-admin.ts': ['QueueBusy'],
  '../../lambdas/store/queue-admin-certificates.ts': ['RotationRefused'],
  // The recipient library's, as an application that bundles it with minification would log them.
  '../../recipient/errors.ts': [
    'MalformedSet', 'InvalidSetKey', 'InvalidSetIssuer', 'InvalidSetAudience', 'SetAuthenticationFailed', 'SetAccessDenied',
    'NetworkError', 'TokenRequestFailed', 'PollRejected', 'PollThrottled', 'PollUnavailable', 'MalformedPollResponse',
    'KeySetUnavailable', 'SsfSetupFailed', 'HandlerFailed',
  ],
} as const;

describe('the Lambda bundles', () => {
  it('keep every error class name when minified', async () => {
    // Prepare: one entry re-exporting the classes, built like the handlers.
    const entry = join(dir, 'errors-entry.ts');
    writeFileSync(entry, Object.entries(ERRORS).map(([file, names]) => `export { ${names.join(', ')} } from ${JSON.stringify(resolve(import.meta.dirname, file))};`).join('\n'));
    const outfile = join(dir, 'errors.mjs');
    await bundle(entry, outfile);
    // Act
    const built = (await import(pathToFileURL(outfile).href)) as Record<string, new (...args: never[]) => Error>;
    const named = Object.values(ERRORS).flat().map((name) => {
      const ErrorClass = built[name]!;
      const args = name === 'MethodNotAllowed' ? ['POST'] : ['message', 'realm', 'scope'];
      return { expected: name, name: new ErrorClass(...(args as never[])).name, className: ErrorClass.name };
    });
    // Assess: minification did rename the classes, and the names survived it.
    expect(named.filter((n) => n.className !== n.expected).length).toBeGreaterThan(0);
    for (const n of named) expect(n.name).toBe(n.expected);
  });

  it('keep the poll bundle free of the Notifier, KMS and Lambda SDKs, and of mnemonist (its stand-in is bundled instead)', async () => {
    // Prepare / Act
    const result = await bundle(join(ROOT, 'lambdas/handlers/poll.ts'), join(dir, 'poll.mjs'));
    // Assess
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((file) => /lambdas\/notifier\/|lambdas\/aws\/|@aws-sdk\/client-(kms|lambda)\/|\/mnemonist\//.test(file))).toEqual([]);
    expect(inputs).toContain('lambdas/runtime/lru-cache.ts');
    expect(inputs).toContain('lambdas/handlers/poll.ts');
  });
});
