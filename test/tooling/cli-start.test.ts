import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const SHIM = resolve(ROOT, 'cli/setpoll.mjs');

/** Fails the process if any module of a TypeScript compiler is loaded. */
const NO_COMPILER_HOOK = `data:text/javascript,${encodeURIComponent(`
import { registerHooks } from 'node:module';
registerHooks({
  resolve(specifier, context, next) {
    const result = next(specifier, context);
    if (/\\/node_modules\\/(tsx|typescript|esbuild|@esbuild)\\//.test(result.url)) throw new Error('a TypeScript compiler was loaded: ' + result.url);
    return result;
  },
});`)}`;

/** #15: a CLI call starts fast because Node strips the types itself; no compiler runs. */
describe('the setpoll CLI at start', () => {
  it.each(['--help', 'poll --help', 'publish --help', 'destinations --help'])('runs `setpoll %s` without loading a TypeScript compiler', (command) => {
    // Act
    const run = spawnSync(process.execPath, ['--import', NO_COMPILER_HOOK, SHIM, ...command.split(' ')], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });

    // Assess
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^Usage: setpoll /);
  });

  it('would notice a compiler: the same hook fails a run that loads tsx', () => {
    const run = spawnSync(process.execPath, ['--import', NO_COMPILER_HOOK, '--import', 'tsx', SHIM, '--help'], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('a TypeScript compiler was loaded');
  });
});
