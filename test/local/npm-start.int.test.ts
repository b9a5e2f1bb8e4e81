import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inProcess } from '../support/cli.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const ACCESS_LINE = /^\d\d:\d\d:\d\d (GET|POST) (\/[^ ?]*) (\d{3}) \d+ms client=([^ ]+) interaction=([^ ]+)$/;

/** `npm start` as a developer runs it: its own process group, as a terminal's foreground job. */
describe('npm start', () => {
  let dir: string;
  let child: ChildProcess;
  let stdout = '';
  let stderr = '';
  let exited: Promise<number | null>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'setpoll-start-'));
    const env: NodeJS.ProcessEnv = { ...process.env, SETPOLL_PORT: '0', SETPOLL_STATE_DIR: dir };
    // vitest turns the AWS SDK's Node-version notice off; npm start must not need that.
    delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
    delete env.SETPOLL_LOG_FORMAT;
    child = spawn('npm', ['start'], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    exited = new Promise((done) => child.once('exit', (code) => done(code)));
    const deadline = Date.now() + 110_000;
    while (!stdout.includes('Press Ctrl-C to stop.')) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`npm start did not come up:\n${stdout}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 120_000);

  afterAll(() => {
    if (child?.pid && child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('leads its banner with the poll command, with no curl', () => {
    const lines = stdout.split('\n');
    const ready = lines.findIndex((l) => l.startsWith('setpoll local stack is ready'));
    const firstCommand = lines.slice(ready + 1).find((l) => l.trim() !== '');
    expect(firstCommand?.trim().split(/\s{2,}/)[0]).toBe('npx setpoll poll --follow');
    expect(stdout).not.toContain('curl');
  });

  it('logs one readable line per request, with no SET contents or tokens', async () => {
    const config = join(dir, 'local.json');
    const published = await inProcess('publish', '--config', config, '--recipient', 'tpp-alpha', '--json');
    expect(published.code).toBe(0);
    const jti = (JSON.parse(published.stdout) as { jti: string }).jti;
    const polled = await inProcess('poll', '--config', config, '--json');
    expect(polled.code).toBe(0);
    expect(polled.stdout).toContain(jti);
    await new Promise((r) => setTimeout(r, 300));

    const logged = stdout.slice(stdout.indexOf('Press Ctrl-C to stop.')).split('\n').slice(1).filter((l) => l.trim() !== '');
    for (const line of logged) expect(line).toMatch(ACCESS_LINE);
    const requests = logged.map((l) => ACCESS_LINE.exec(l)!.slice(1, 6));
    expect(requests.map(([m, p, s]) => `${m} ${p} ${s}`)).toEqual(expect.arrayContaining(['POST /oauth/token 200', 'GET /jwks.json 200', 'POST /events 200']));
    const polls = requests.filter(([m, p]) => m === 'POST' && p === '/events');
    for (const [, , , client, interaction] of polls) {
      expect(client).toBe('tpp-alpha');
      expect(interaction).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(stdout).not.toContain(jti);
    expect(stdout).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
    expect(stderr).toBe('');
  });

  it('stops everything on one Ctrl-C and exits 0', async () => {
    process.kill(-child.pid!, 'SIGINT');
    expect(await exited).toBe(0);
    expect(stdout).toContain('Stopped.');
    expect(stdout + stderr).not.toContain('again');
    expect(stderr).not.toContain('NodeVersionSupportWarning');
    // Nothing of the group (npm, node, DynamoDB Local's java) is left.
    await new Promise((r) => setTimeout(r, 500));
    expect(() => process.kill(-child.pid!, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
  }, 30_000);
});
