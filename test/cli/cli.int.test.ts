import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectUsageErrors, inProcess, type Run, type UsageCase } from '../support/cli.ts';
import { issueClientCertificate } from '../../local/pki.ts';
import { httpsRequest } from '../support/https-client.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';

const SHIM = resolve(import.meta.dirname, '../../cli/setpoll.mjs');



/** Runs the CLI as a real subprocess, as `npx setpoll` would. */
function setpoll(...args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [SHIM, ...args], { timeout: 30_000, env: { ...process.env, SETPOLL_STATE_DIR: '/nonexistent-setpoll-state' } }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

describe('setpoll CLI', () => {
  let stack: TestStack;
  let config: string[];

  beforeAll(async () => {
    stack = await startTestStack();
    config = ['--config', stack.configFile];
  });

  afterAll(() => stack?.stop());

  describe('publish', () => {
    it('prints the jti and queues a signed SET that a poll then delivers', async () => {
      // Prepare
      const jti = 'cli-publish-1';

      // Act
      const run = await setpoll('publish', '--recipient', 'tpp-alpha', '--jti', jti, ...config);
      const poll = await stack.poll('tpp-alpha', { returnImmediately: true });

      // Assess
      expect(run).toEqual({ code: 0, stdout: `${jti}\n`, stderr: '' });
      expect(poll.status).toBe(200);
      const { sets, moreAvailable } = poll.json<{ sets: Record<string, string>; moreAvailable: boolean }>();
      expect(Object.keys(sets)).toEqual([jti]);
      expect(moreAvailable).toBe(false);
      expect(decodeProtectedHeader(sets[jti]!)).toMatchObject({ alg: 'PS256', typ: 'secevent+jwt', kid: stack.publicJwk.kid });
      expect(decodeJwt(sets[jti]!)).toMatchObject({
        iss: stack.config.issuer,
        aud: 'tpp-alpha',
        jti,
        events: { 'https://schemas.openid.net/secevent/caep/event-type/credential-change': { credential_type: 'x509', change_type: 'update' } },
      });
    });

    it('queues one SET for several recipients with the given claims, reported as JSON', async () => {
      // Prepare
      const events = { 'urn:example:event': { n: 1 } };

      // Act
      const run = await setpoll('publish', '-r', 'tpp-beta', '-r', 'tpp-alpha', '--events', JSON.stringify(events), '--sub', 'user-1', '--txn', 'tx-1', '--ttl', '60', '--json', ...config);

      // Assess
      expect(run.code).toBe(0);
      expect(run.stderr).toBe('');
      const out = JSON.parse(run.stdout) as { jti: string; queued: string[]; duplicate: string[] };
      expect(out).toEqual({ jti: expect.stringMatching(/^[0-9a-f-]{36}$/), queued: ['tpp-beta', 'tpp-alpha'], duplicate: [], filtered: [] });
      const poll = await stack.poll('tpp-beta');
      const set = poll.json<{ sets: Record<string, string> }>().sets[out.jti]!;
      const claims = decodeJwt(set);
      expect(claims).toMatchObject({ aud: ['tpp-beta', 'tpp-alpha'], sub: 'user-1', txn: 'tx-1', events });
    });
  });

  describe('recipients', () => {
    it('add registers a new certificate, so its polls get 200 instead of 403 once the 5 s refusal cache lets go', async () => {
      // Prepare
      const minted = await issueClientCertificate(stack.pki.ca, 'tpp-gamma');
      const certFile = join(stack.scratch, 'tpp-gamma.pem');
      writeFileSync(certFile, minted.certPem);
      const material = { cert: minted.certPem, key: minted.keyPem, ca: stack.pki.caCertPem };
      const pollAsGamma = (authorization = '') =>
        httpsRequest(stack.config.pollUrl, { ...material, headers: authorization ? { authorization } : {}, body: { returnImmediately: true } });
      const before = await pollAsGamma();

      // Act
      const run = await setpoll('recipients', 'add', '--client-id', 'tpp-gamma', '--cert', certFile, ...config);
      const token = await httpsRequest(stack.config.tokenUrl, {
        ...material,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials&scope=accounts&client_id=tpp-gamma',
      });
      const registeredAt = Date.now();
      let after = await pollAsGamma(`Bearer ${token.json<{ access_token: string }>().access_token}`);
      // The refusal of `before` is remembered for at most 5 s (a flood from an unknown certificate costs one read).
      while (after.status === 403 && Date.now() - registeredAt < 5500) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        after = await pollAsGamma(`Bearer ${token.json<{ access_token: string }>().access_token}`);
      }

      // Assess
      expect(before.status).toBe(403);
      expect(token.status).toBe(200);
      expect(run).toEqual({ code: 0, stdout: `Registered ${minted.fingerprint} to tpp-gamma\n`, stderr: '' });
      expect(after.status).toBe(200);
      expect(after.json()).toEqual({ sets: {}, moreAvailable: false });
    });

    it('list, revoke and remove manage a recipient certificate by fingerprint', async () => {
      // Prepare
      const minted = await issueClientCertificate(stack.pki.ca, 'tpp-delta');
      const colonFingerprint = minted.fingerprint.toUpperCase().match(/../g)!.join(':');
      const added = await inProcess('recipients', 'add', '--client-id', 'tpp-delta', '--fingerprint', colonFingerprint, '--json', ...config);

      // Act
      const revoked = await inProcess('recipients', 'revoke', '--fingerprint', minted.fingerprint, '--reason', 'key compromise', ...config);
      const listed = await inProcess('recipients', 'list', '--client-id', 'tpp-delta', '--json', ...config);
      const removed = await inProcess('recipients', 'remove', '--client-id', 'tpp-delta', '--fingerprint', minted.fingerprint, ...config);
      const removedAgain = await inProcess('recipients', 'remove', '--client-id', 'tpp-delta', '--fingerprint', minted.fingerprint, ...config);
      const listedAfter = await inProcess('recipients', 'list', '--client-id', 'tpp-delta', ...config);

      // Assess
      expect(added.code).toBe(0);
      expect(JSON.parse(added.stdout)).toEqual({ clientId: 'tpp-delta', fingerprint: minted.fingerprint, outcome: 'registered' });
      expect(revoked.code).toBe(0);
      expect(JSON.parse(listed.stdout)).toEqual({
        clientId: 'tpp-delta',
        certificates: [{ fingerprint: minted.fingerprint, addedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), revoked: true, subject: null, notAfter: null }],
      });
      expect(removed).toEqual({ code: 0, stdout: `Removed ${minted.fingerprint} from tpp-delta\n`, stderr: '' });
      expect(removedAgain).toEqual({ code: 1, stdout: '', stderr: `setpoll: ${minted.fingerprint} is not registered to tpp-delta\n` });
      expect(listedAfter).toEqual({ code: 0, stdout: 'No certificates are registered to tpp-delta\n', stderr: '' });
    });

    it('add refuses a certificate that belongs to another recipient', async () => {
      // Prepare
      const alpha = stack.config.clients.find((c) => c.clientId === 'tpp-alpha')!;

      // Act
      const run = await inProcess('recipients', 'add', '--client-id', 'tpp-beta', '--cert', alpha.certFile, ...config);

      // Assess
      const fingerprint = stack.pki.clients.find((c) => c.clientId === 'tpp-alpha')!.fingerprint;
      expect(run).toEqual({ code: 1, stdout: '', stderr: `setpoll: Certificate ${fingerprint} is already registered to tpp-alpha\n` });
    });
  });

  describe('destinations and notify (against the real management API of the local stack)', () => {
    it('registers a destination, issues a notification the recipient then polls, and reports its status', async () => {
      // Prepare
      const type = 'https://schemas.openid.net/secevent/caep/event-type/session-revoked';
      const events = { [type]: { initiating_entity: 'policy' } };
      // A recipient of its own: no SETs of other tests in its queue.
      await stack.mintClient('tpp-epsilon');
      await stack.authorizations.authorize('tpp-epsilon', 'provider-demo', 'operator');
      const added = await inProcess('destinations', 'add', '--recipient', 'tpp-epsilon', '--event-type', type, '--json', ...config);

      // Act
      const issued = await setpoll('notify', '--events', JSON.stringify(events), '--id', 'cli-e2e-1', '--sub', 'user-9', ...config);
      const poll = await stack.poll('tpp-epsilon', { returnImmediately: true });
      const { sets } = poll.json<{ sets: Record<string, string> }>();
      const [jti] = Object.keys(sets);
      await stack.poll('tpp-epsilon', { returnImmediately: true, maxEvents: 0, ack: [jti] });
      const status = await inProcess('notify', 'status', 'cli-e2e-1', '--json', ...config);
      const listed = await inProcess('destinations', 'list', ...config);

      // Assess
      expect(added.code).toBe(0);
      expect(JSON.parse(added.stdout)).toMatchObject({ clientId: 'tpp-epsilon', eventTypes: [type], version: 1 });
      expect(issued.code).toBe(0);
      expect(issued.stdout).toMatch(/^Issued notification cli-e2e-1 \(revision 1, jti [0-9a-f-]{36}\): queued for 1 destination\(s\), 0 skipped/);
      expect(Object.keys(sets)).toHaveLength(1);
      expect(decodeJwt(sets[jti!]!)).toMatchObject({ aud: 'tpp-epsilon', jti, sub: 'user-9', events });
      expect(JSON.parse(status.stdout)).toEqual({
        items: [expect.objectContaining({ clientId: 'tpp-epsilon', jti, revision: 1, state: 'acknowledged' })],
      });
      expect(listed.stdout).toMatch(/^CLIENT ID +VERSION +UPDATED +EVENT TYPES\ntpp-epsilon +1 +\S+ +https:\/\/schemas/);
    });

    it("exits 1 with the API's err: description", async () => {
      // Act
      const run = await inProcess('destinations', 'update', 'tpp-nobody', '--all-types', ...config);

      // Assess
      expect(run).toEqual({ code: 1, stdout: '', stderr: 'setpoll: not_found: No destination tpp-nobody\n' });
    });
  });

  describe('usage', () => {
    it('exits 2 with a message on a usage error', async () => {
      // Act
      const run = await setpoll('publish', '--jti', 'x', ...config);

      // Assess
      expect(run).toEqual({ code: 2, stdout: '', stderr: "setpoll: at least one --recipient is required\nRun 'setpoll publish --help' for usage.\n" });
    });

    it('answers each kind of usage error with exit code 2 and a message', async () => {
      // Prepare
      const cases: UsageCase[] = [
        [[], 'setpoll: a command is required: publish, recipients, destinations, notify, poll, queue, keys, doctor or streams'],
        [['frobnicate'], 'setpoll: unknown command "frobnicate": use publish, recipients, destinations, notify, poll, queue, keys, doctor or streams'],
        [['publish', ...config], 'setpoll: at least one --recipient is required'],
        [['publish', '-r', 'tpp-alpha', '--bogus', ...config], "setpoll: Unknown option '--bogus'"],
        [['publish', '-r', 'tpp-alpha', '--ttl', '0', ...config], 'setpoll: --ttl must be a positive whole number, got "0"'],
        [['publish', '-r', 'tpp-alpha', '--events', 'not json', ...config], 'setpoll: --events must be a JSON object (event type URI -> event payload object)'],
        [['publish', '-r', 'tpp-alpha', '--table', 'setpoll', ...config], 'setpoll: --config and --table cannot be used together'],
        [['recipients'], 'setpoll: a subcommand is required: add, remove, list, show, rotate, revoke, unrevoke, authorize, deauthorize or authorizations'],
        [['recipients', 'add', '--client-id', 'x', ...config], 'setpoll: give exactly one of --cert FILE.pem and --fingerprint HEX'],
        [['recipients', 'add', '--cert', 'a.pem', ...config], 'setpoll: --recipient is required'],
        [['recipients', 'revoke', '--fingerprint', 'abc', ...config], 'setpoll: --fingerprint must be a SHA-256 fingerprint: 64 hex digits'],
      ];

      // Act
      const runs = await Promise.all(cases.map(([args]) => inProcess(...args)));

      // Assess
      expectUsageErrors(cases, runs, /Run 'setpoll (\w+ )?--help' for usage\.\n$/);
    });

    it('prints help and exits 0 with --help', async () => {
      // Act
      const [top, publish, recipients] = await Promise.all([setpoll('--help'), inProcess('publish', '--help'), inProcess('recipients', 'add', '--help')]);

      // Assess
      expect([top.code, publish.code, recipients.code]).toEqual([0, 0, 0]);
      expect(top.stdout).toMatch(/^Usage: setpoll <command>/);
      expect(publish.stdout).toMatch(/^Usage: setpoll publish --recipient ID/);
      expect(recipients.stdout).toMatch(/^Usage: setpoll recipients <subcommand>/);
    });

    it('exits 1 when there is no local stack configuration', async () => {
      // Prepare
      const missing = join(stack.scratch, 'missing', 'local.json');

      // Act
      const run = await setpoll('publish', '--recipient', 'tpp-alpha', '--config', missing);

      // Assess
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(
        `setpoll: No local stack configuration at ${missing}: start the local stack with \`npm start\` (or pass --config FILE, or --table/--region for a deployed table)\n`,
      );
    });
  });
});
