/**
 * `setpoll poll` end to end against the local stack: in this process through main() (same code,
 * output captured), and as a real subprocess for --follow and Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { POLL_HELP, pollCommand } from '../../cli/commands/poll.ts';
import { uuidv7 } from '../../lambdas/producer/uuidv7.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';
import { publishSets } from '../support/queue.ts';
import { inProcess } from '../support/cli.ts';
import { EVENT, claimsFor, drain, enqueue, foreignKey, queued } from './helpers.ts';

const SHIM = resolve(import.meta.dirname, '../../cli/setpoll.mjs');

let stack: TestStack;
let config: string[];

beforeAll(async () => {
  stack = await startTestStack();
  config = ['--config', stack.configFile];
});
afterAll(() => stack?.stop());
beforeEach(async () => {
  await drain(stack, 'tpp-alpha');
  await drain(stack, 'tpp-beta');
});

/** Runs the CLI in this process. */
const cli = inProcess;

const publish = (clientId: string, count: number) => publishSets(stack, clientId, count, { events: EVENT });

/**
 * A SET signed with a key the stack does not publish (kid "forger"), then a valid one. The forgery is
 * first in the queue (jti order), so its unknown kid is looked up in a key set fetched just now; after
 * a valid SET, within the key set's 30 s cooldown, it would be left to its lease as KeySetUnavailable
 * (the kid may be a key rotated in meanwhile).
 */
async function forgeryThenValid(clientId: string) {
  const forged = claimsFor(stack, clientId, { jti: uuidv7() });
  await enqueue(stack, clientId, forged, { key: await foreignKey('forger') });
  const [good] = await publish(clientId, 1);
  return { forged, good: good! };
}

describe('setpoll poll', () => {
  describe('without --follow', () => {
    it("prints the claims of each SET published to tpp-alpha, acknowledges them and exits 0 when the queue is empty", async () => {
      // Prepare
      const sets = await publish('tpp-alpha', 2);

      // Act
      const run = await cli('poll', '--recipient', 'tpp-alpha', ...config);

      // Assess
      expect(run).toEqual({
        code: 0,
        stdout: sets.map((s) => `SET ${s.jti} from transmitter\n${JSON.stringify(decodeJwt(s.set), null, 2)}\n`).join(''),
        stderr: '2 SETs received and acknowledged, 0 rejected\n',
      });
      expect(decodeJwt(sets[0]!.set)).toMatchObject({ iss: stack.config.issuer, aud: 'tpp-alpha', events: EVENT });
      expect(await queued(stack, 'tpp-alpha')).toEqual([]);
    });

    it('prints one {"jti","claims"} JSON object per line with --json', async () => {
      // Prepare
      const sets = await publish('tpp-alpha', 2);

      // Act
      const run = await cli('poll', '-r', 'tpp-alpha', '--json', '--max-events', '1', ...config);

      // Assess
      expect(run.code).toBe(0);
      expect(run.stderr).toBe('');
      expect(run.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as unknown)).toEqual(sets.map((s) => ({ jti: s.jti, provider: null, claims: decodeJwt(s.set) })));
      expect(await queued(stack, 'tpp-alpha')).toEqual([]);
    });

    it('prints nothing and exits 0 when the queue is empty', async () => {
      // Act
      const run = await cli('poll', '--client', 'tpp-beta', ...config);

      // Assess
      expect(run).toEqual({ code: 0, stdout: '', stderr: '0 SETs received and acknowledged, 0 rejected\n' });
    });

    it('prints a SET that fails verification to stderr with its error code, reports it, and does not print its claims', async () => {
      // Prepare
      const { forged, good } = await forgeryThenValid('tpp-alpha');

      // Act
      const run = await cli('poll', '--client', 'tpp-alpha', '--json', ...config);

      // Assess
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(`${JSON.stringify({ jti: good.jti, provider: null, claims: decodeJwt(good.set) })}\n`);
      expect(run.stderr).toBe(`rejected ${forged.jti}: invalid_key: No key of the transmitter matches SET "${forged.jti}" (kid "forger", alg "PS256")\n`);
      expect(await stack.store.readRecord('tpp-alpha', forged.jti)).toMatchObject({ state: 'errored', err: 'invalid_key', lang: 'en' });
    });

    it('works against a deployment given by flags (--url, --cert, --key, --token-url, --ca), deriving the key set and issuer from --url', async () => {
      // Prepare
      const beta = stack.config.clients.find((c) => c.clientId === 'tpp-beta')!;
      const [set] = await publish('tpp-beta', 1);

      // Act
      const run = await cli(
        'poll', '--json',
        '--url', stack.config.pollUrl,
        '--cert', beta.certFile,
        '--key', beta.keyFile,
        '--token-url', stack.config.tokenUrl,
        '--ca', stack.config.caCertFile,
      );

      // Assess
      expect(run).toEqual({ code: 0, stdout: `${JSON.stringify({ jti: set!.jti, provider: null, claims: decodeJwt(set!.set) })}\n`, stderr: '' });
    });

    it('takes the deployment from SETPOLL_URL (an origin polls /events), SETPOLL_CERT, SETPOLL_KEY, SETPOLL_TOKEN_URL and SETPOLL_CA; a flag wins over its variable, --config over all', async () => {
      // Prepare
      const alpha = stack.config.clients.find((c) => c.clientId === 'tpp-alpha')!;
      const beta = stack.config.clients.find((c) => c.clientId === 'tpp-beta')!;
      const [forBeta] = await publish('tpp-beta', 1);
      const [forAlpha, local] = await publish('tpp-alpha', 2);
      const line = (set: { jti: string; set: string } | undefined) => `${JSON.stringify({ jti: set!.jti, provider: null, claims: decodeJwt(set!.set) })}\n`;
      const env = {
        SETPOLL_URL: new URL(stack.config.pollUrl).origin,
        SETPOLL_CERT: beta.certFile,
        SETPOLL_KEY: beta.keyFile,
        SETPOLL_TOKEN_URL: stack.config.tokenUrl,
        SETPOLL_CA: stack.config.caCertFile,
      };
      for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);

      try {
        // Act
        const fromEnv = await cli('poll', '--json');
        const flags = await cli('poll', '--json', '--max-events', '1', '--cert', alpha.certFile, '--key', alpha.keyFile);
        const configFlag = await cli('poll', '--json', ...config);
        vi.stubEnv('SETPOLL_TOKEN_URL', '');
        const incomplete = await cli('poll');

        // Assess
        expect(fromEnv).toEqual({ code: 0, stdout: line(forBeta), stderr: '' });
        // --cert and --key name tpp-alpha (its CN); its first SET is acknowledged, then the queue empties.
        expect(flags).toEqual({ code: 0, stdout: line(forAlpha) + line(local), stderr: '' });
        expect(configFlag).toEqual({ code: 0, stdout: '', stderr: '' });
        expect(incomplete).toEqual({ code: 2, stdout: '', stderr: "setpoll: SETPOLL_URL needs --token-url (or SETPOLL_TOKEN_URL)\nRun 'setpoll poll --help' for usage.\n" });
      } finally {
        vi.unstubAllEnvs();
      }
    });

    it('takes --client, --jwks-url, --issuer and --audience explicitly with --url, and reports SETs for another audience', async () => {
      // Prepare
      const beta = stack.config.clients.find((c) => c.clientId === 'tpp-beta')!;
      const [set] = await publish('tpp-beta', 1);
      const flags = [
        '--url', stack.config.pollUrl, '--cert', beta.certFile, '--key', beta.keyFile, '--token-url', stack.config.tokenUrl, '--ca', stack.config.caCertFile,
        '--recipient', 'tpp-beta', '--jwks-url', stack.config.jwksUrl, '--issuer', stack.config.issuer,
      ];

      // Act
      const run = await cli('poll', ...flags, '--audience', 'https://tpp-beta.example/events');

      // Assess
      expect(run).toEqual({
        code: 0,
        stdout: '',
        stderr: `rejected ${set!.jti}: invalid_audience: SET "${set!.jti}" is not addressed to this recipient (aud)\n0 SETs received and acknowledged, 1 rejected\n`,
      });
      expect(await stack.store.readRecord('tpp-beta', set!.jti)).toMatchObject({ state: 'errored', err: 'invalid_audience', lang: 'en' });
    });

    it('reads the keys from --jwks-url when they are published apart, e.g. at a public URL without mTLS', async () => {
      // Prepare: a second server, without client certificates, publishing the SET signing key.
      const keys = createServer({ cert: stack.pki.server.certPem, key: stack.pki.server.keyPem }, (req, res) => {
        if (req.url !== '/keys/setpoll.json') return void res.writeHead(404).end();
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [stack.publicJwk] }));
      });
      await new Promise<void>((listening) => keys.listen(0, '127.0.0.1', listening));
      const keysUrl = `https://localhost:${(keys.address() as AddressInfo).port}/keys/setpoll.json`;
      const [set] = await publish('tpp-alpha', 1);
      const [other] = await publish('tpp-beta', 1);

      try {
        // Act: the right keys, then another key set (the authorization server's) for tpp-beta.
        const run = await cli('poll', '--client', 'tpp-alpha', '--json', '--jwks-url', keysUrl, ...config);
        const wrong = await cli('poll', '--client', 'tpp-beta', '--jwks-url', `${new URL(stack.config.tokenUrl).origin}/oauth/jwks.json`, ...config);

        // Assess
        expect(run).toEqual({ code: 0, stdout: `${JSON.stringify({ jti: set!.jti, provider: null, claims: decodeJwt(set!.set) })}\n`, stderr: '' });
        expect(wrong.stderr).toMatch(new RegExp(`^rejected ${other!.jti}: invalid_key: `));
      } finally {
        await new Promise((closed) => keys.close(closed));
      }
    });

    it('refuses SETs of another issuer when --issuer says so, reporting invalid_issuer', async () => {
      // Prepare
      const [set] = await publish('tpp-alpha', 1);

      // Act
      const run = await cli('poll', '--client', 'tpp-alpha', '--issuer', 'https://other.example', ...config);

      // Assess
      expect(run).toEqual({
        code: 0,
        stdout: '',
        stderr: `rejected ${set!.jti}: invalid_issuer: SET "${set!.jti}" is from an unexpected issuer\n0 SETs received and acknowledged, 1 rejected\n`,
      });
      expect(await stack.store.readRecord('tpp-alpha', set!.jti)).toMatchObject({ state: 'errored', err: 'invalid_issuer' });
    });

    it('exits 2 on usage errors: --max-events 0, an unknown client, deployment flags without --url', async () => {
      // Act
      const runs = [
        await cli('poll', '--client', 'tpp-alpha', '--max-events', '0', ...config),
        await cli('poll', '--recipient', 'tpp-gamma', ...config),
        await cli('poll', '--cert', 'x.pem', ...config),
      ];

      // Assess
      expect(runs).toEqual([
        { code: 2, stdout: '', stderr: `setpoll: --max-events must be a positive whole number, got "0"\nRun 'setpoll poll --help' for usage.\n` },
        { code: 2, stdout: '', stderr: `setpoll: --recipient "tpp-gamma" is not a recipient of the local stack: use tpp-alpha, tpp-beta\nRun 'setpoll poll --help' for usage.\n` },
        { code: 2, stdout: '', stderr: `setpoll: --cert goes with --url (a deployment); the local stack's come from local.json\nRun 'setpoll poll --help' for usage.\n` },
      ]);
    });

    it('exits 1 with the reason when the transmitter cannot be reached', async () => {
      // Prepare
      const beta = stack.config.clients.find((c) => c.clientId === 'tpp-beta')!;

      // Act
      const target = ['--url', 'https://127.0.0.1:9/events', '--cert', beta.certFile, '--key', beta.keyFile, '--token-url', 'https://127.0.0.1:9/oauth/token'];
      const runs = await Promise.all([cli('poll', ...target), cli('poll', '--once', ...target)]);

      // Assess: --once too (a request that failed brought nothing: it is retried, then the run fails).
      for (const run of runs) {
        expect(run.code).toBe(1);
        expect(run.stdout).toBe('');
        expect(run.stderr).toMatch(/^(poll: POST https:\/\/127\.0\.0\.1:9 failed: ECONNREFUSED: .*; retrying in \d+\.\d s\n){3}setpoll: POST https:\/\/127\.0\.0\.1:9 failed: ECONNREFUSED: .*\n$/);
      }
    });

    it('prints its help with --help, and main lists it', async () => {
      // Act
      const help = await cli('poll', '--help');
      const mainHelp = await cli('--help');

      // Assess
      expect(help).toEqual({ code: 0, stdout: `${POLL_HELP}\n`, stderr: '' });
      expect(mainHelp.stdout).toContain('  poll           poll as a recipient');
    });
  });

  describe('--no-ack, --max, --once and --raw', () => {
    it('--no-ack prints the SETs and acknowledges nothing: they stay queued, leased until their lease ends', async () => {
      // Prepare
      const sets = await publish('tpp-alpha', 2);

      // Act
      const peek = await cli('poll', '-r', 'tpp-alpha', '--no-ack', '--json', ...config);
      const after = await cli('poll', '-r', 'tpp-alpha', '--json', ...config);

      // Assess
      expect(peek).toEqual({ code: 0, stdout: sets.map((s) => `${JSON.stringify({ jti: s.jti, provider: null, claims: decodeJwt(s.set) })}\n`).join(''), stderr: '' });
      expect(await queued(stack, 'tpp-alpha')).toEqual(sets.map((s) => s.jti));
      // Leased to the peek: nothing is delivered again before the lease ends.
      expect(after).toEqual({ code: 0, stdout: '', stderr: '' });
    });

    it('--no-ack says on stderr that nothing was acknowledged, and reports no rejection either', async () => {
      // Prepare
      const { forged, good: set } = await forgeryThenValid('tpp-beta');

      // Act
      const run = await cli('poll', '--recipient', 'tpp-beta', '--no-ack', ...config);

      // Assess
      expect(run).toEqual({
        code: 0,
        stdout: `SET ${set.jti} from transmitter\n${JSON.stringify(decodeJwt(set.set), null, 2)}\n`,
        stderr:
          `rejected ${forged.jti}: invalid_key: No key of the transmitter matches SET "${forged.jti}" (kid "forger", alg "PS256")\n` +
          '1 SET received, none acknowledged (--no-ack): they are delivered again once their lease ends; 1 rejected, not reported\n',
      });
      expect(await queued(stack, 'tpp-beta')).toEqual([forged.jti, set.jti]);
      expect(await stack.store.readRecord('tpp-beta', forged.jti)).toBeUndefined();
    });

    it('--max N stops after N SETs and asks for no more than N: the rest stays queued, not leased', async () => {
      // Prepare
      const sets = await publish('tpp-alpha', 3);
      const line = (s: { jti: string; set: string }) => `${JSON.stringify({ jti: s.jti, provider: null, claims: decodeJwt(s.set) })}\n`;

      // Act
      const first = await cli('poll', '-r', 'tpp-alpha', '--max', '1', '--json', ...config);
      const queuedAfter = await queued(stack, 'tpp-alpha');
      const rest = await cli('poll', '-r', 'tpp-alpha', '--json', ...config);

      // Assess
      expect(first).toEqual({ code: 0, stdout: line(sets[0]!), stderr: '' });
      expect(queuedAfter).toEqual([sets[1]!.jti, sets[2]!.jti]);
      expect(rest).toEqual({ code: 0, stdout: line(sets[1]!) + line(sets[2]!), stderr: '' });
      expect(await queued(stack, 'tpp-alpha')).toEqual([]);
    });

    it('--once makes one poll request, acknowledges what it brought, and leaves the rest for the next', async () => {
      // Prepare
      const sets = await publish('tpp-alpha', 3);

      // Act
      const once = await cli('poll', '-r', 'tpp-alpha', '--once', '--max-events', '2', '--raw', ...config);
      const queuedAfter = await queued(stack, 'tpp-alpha');
      const next = await cli('poll', '-r', 'tpp-alpha', '--once', '--raw', ...config);

      // Assess
      expect(once).toEqual({ code: 0, stdout: `${sets[0]!.set}\n${sets[1]!.set}\n`, stderr: '2 SETs received and acknowledged, 0 rejected\n' });
      expect(queuedAfter).toEqual([sets[2]!.jti]);
      expect(next).toEqual({ code: 0, stdout: `${sets[2]!.set}\n`, stderr: '1 SET received and acknowledged, 0 rejected\n' });
      expect(await queued(stack, 'tpp-alpha')).toEqual([]);
    });

    it('--raw prints each SET as the signed compact JWS it arrived as, one per line', async () => {
      // Prepare
      const sets = await publish('tpp-beta', 2);

      // Act
      const run = await cli('poll', '-r', 'tpp-beta', '--raw', ...config);

      // Assess
      expect(run).toEqual({ code: 0, stdout: sets.map((s) => `${s.set}\n`).join(''), stderr: '2 SETs received and acknowledged, 0 rejected\n' });
      for (const line of run.stdout.trimEnd().split('\n')) expect(line).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    });

    it('refuses --json with --raw, --once with --follow or --max, and a --max that is not a positive whole number', async () => {
      // Act
      const runs = await Promise.all([
        cli('poll', '--json', '--raw', ...config),
        cli('poll', '--once', '--follow', ...config),
        cli('poll', '--once', '--max', '2', ...config),
        cli('poll', '--max', '0', ...config),
      ]);

      // Assess
      expect(runs.map((r) => r.stderr.split('\n')[0])).toEqual([
        // Under --json the error is JSON too.
        JSON.stringify({ error: { kind: 'usage', message: '--json and --raw cannot be used together', command: 'poll', exitCode: 2 } }),
        'setpoll: --once cannot be used with --follow: it makes one poll request',
        'setpoll: --once cannot be used with --max: it makes one poll request',
        'setpoll: --max must be a positive whole number, got "0"',
      ]);
      expect(runs.map((r) => r.code)).toEqual([2, 2, 2, 2]);
    });
  });

  describe('--follow', () => {
    it('long-polls until its signal aborts, then acknowledges what it printed and returns', async () => {
      // Prepare
      const lines: string[] = [];
      const stop = new AbortController();
      let printed!: () => void;
      const firstLine = new Promise<void>((resolve) => (printed = resolve));
      const io = { out: (line: string) => void (lines.push(line), printed()), err: () => undefined };
      const running = pollCommand(['--client', 'tpp-alpha', '--follow', '--json', ...config], io, stop.signal);
      await new Promise((r) => setTimeout(r, 300));

      // Act: a SET published while the command long-polls
      const [set] = await publish('tpp-alpha', 1);
      await firstLine;
      stop.abort();
      await running;

      // Assess
      expect(lines).toEqual([JSON.stringify({ jti: set!.jti, provider: null, claims: decodeJwt(set!.set) })]);
      expect(await queued(stack, 'tpp-alpha')).toEqual([]);
    });

    it('as a process: prints SETs as they come, and on SIGINT acknowledges them and exits 0', async () => {
      // Prepare
      const child = spawn(process.execPath, [SHIM, 'poll', '--client', 'tpp-alpha', '--follow', '--json', ...config], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      const sets = await publish('tpp-alpha', 2);

      // Act
      try {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no output within 30 s; stderr: ${stderr}`)), 30_000);
          child.stdout.on('data', (chunk: Buffer) => {
            stdout += chunk.toString();
            if (stdout.split('\n').length > sets.length) {
              clearTimeout(timer);
              resolve();
            }
          });
        });
        child.kill('SIGINT');
      } catch (error) {
        child.kill('SIGKILL');
        throw error;
      }
      const code = await exited;

      // Assess
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      expect(stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as unknown)).toEqual(sets.map((s) => ({ jti: s.jti, provider: null, claims: decodeJwt(s.set) })));
      expect(await queued(stack, 'tpp-alpha')).toEqual([]);
    });
  });
});
