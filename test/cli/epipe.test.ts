/**
 * `setpoll … | head`: when the reader of its output goes away, the CLI ends with 0 and says
 * nothing, instead of crashing on an unhandled EPIPE. A real subprocess, a real pipe.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SHIM = resolve(import.meta.dirname, '../../cli/setpoll.mjs');

/** Runs the CLI with its stdout a pipe whose reading end is closed at once (before the CLI writes). */
function runWithClosedOutput(...args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [SHIM, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SETPOLL_STATE_DIR: '/nonexistent-setpoll-state' } });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', fail);
    child.on('close', (code, signal) => done({ code, signal, stderr }));
  });
}

describe('setpoll with its output piped into a reader that stops', () => {
  it.each(['--help', 'poll --help', 'queue --help'])('setpoll %s ends with 0 and no error', async (command) => {
    // Act
    const run = await runWithClosedOutput(...command.split(' '));

    // Assess
    expect(run).toEqual({ code: 0, signal: null, stderr: '' });
  });
});
