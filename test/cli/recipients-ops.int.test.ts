/**
 * The operator tasks on recipients' certificates (`setpoll recipients show|rotate|revoke`), proven
 * over the local stack's real mutual TLS: the poll handler and the token endpoint decide whether a
 * certificate works. The stack's identity cache is off (0 s), so a change shows on the next poll
 * instead of within 30 s.
 */
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inProcess } from '../support/cli.ts';
import { issueClientCertificate } from '../../local/pki.ts';
import { httpsRequest } from '../support/https-client.ts';
import { TEST_SETTINGS, startTestStack, type ClientMaterial, type TestStack } from '../support/local-stack.ts';

const ISO = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/.source;
/** A certificate minted by the test stack is registered by fingerprint: no subject or expiry on record. */
const UNKNOWN = /unknown \(registered before subjects were kept, or by fingerprint\)/.source;

describe('setpoll recipients: operator tasks', () => {
  let stack: TestStack;
  let config: string[];

  /** A client-credentials token for whoever holds `material` (401 once the certificate is unregistered). */
  const token = async (clientId: string, material: ClientMaterial) => {
    const res = await httpsRequest(stack.config.tokenUrl, {
      ...material,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&scope=accounts&client_id=${clientId}`,
    });
    return { status: res.status, token: res.status === 200 ? res.json<{ access_token: string }>().access_token : undefined };
  };
  /** A short poll over mTLS with `material`, as its holder. */
  const pollWith = (material: ClientMaterial, accessToken: string) =>
    httpsRequest(stack.config.pollUrl, { ...material, headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ returnImmediately: true }) });
  /** A certificate for clientId from the dev CA, written to a PEM file; not registered. */
  const newCertificate = async (clientId: string, name: string) => {
    const issued = await issueClientCertificate(stack.pki.ca, clientId);
    const certFile = join(stack.scratch, `${name}.pem`);
    writeFileSync(certFile, issued.certPem);
    return { fingerprint: issued.fingerprint, certFile, material: { cert: issued.certPem, key: issued.keyPem, ca: stack.pki.caCertPem } };
  };

  beforeAll(async () => {
    stack = await startTestStack({ settings: { ...TEST_SETTINGS, identityCacheSeconds: 0 } });
    config = ['--config', stack.configFile];
  });

  afterAll(() => stack?.stop());

  describe('rotate', () => {
    it('adds the new certificate beside the old one, verifies it, and says how to remove the old one', async () => {
      // Prepare
      const old = await stack.mintClient('tpp-rot-a');
      const next = await newCertificate('tpp-rot-a', 'rot-a-new');

      // Act
      const run = await inProcess('recipients', 'rotate', '--client-id', 'tpp-rot-a', '--cert', next.certFile, ...config);
      const oldToken = await token('tpp-rot-a', old);
      const newToken = await token('tpp-rot-a', next.material);
      const [oldPoll, newPoll] = await Promise.all([pollWith(old, oldToken.token!), pollWith(next.material, newToken.token!)]);

      // Assess: both work until the old one is removed.
      expect(run).toEqual({
        code: 0,
        stdout:
          `Registered ${next.fingerprint} to tpp-rot-a\n` +
          `Verified: ${next.fingerprint} identifies tpp-rot-a\n` +
          `Once tpp-rot-a polls with the new certificate: setpoll recipients remove --recipient tpp-rot-a --fingerprint ${old.fingerprint}\n`,
        stderr: '',
      });
      expect([oldPoll.status, newPoll.status]).toEqual([200, 200]);
    });

    it('with --remove-old swaps the certificates in one step: the new one works, the old one is refused', async () => {
      // Prepare: the old certificate polls fine and holds a token.
      const old = await stack.mintClient('tpp-rot-b');
      const oldToken = (await token('tpp-rot-b', old)).token!;
      const before = await pollWith(old, oldToken);
      const next = await newCertificate('tpp-rot-b', 'rot-b-new');

      // Act
      const run = await inProcess('recipients', 'rotate', '--client', 'tpp-rot-b', '--cert', next.certFile, '--remove-old', old.fingerprint, ...config);
      const newToken = await token('tpp-rot-b', next.material);
      const newPoll = await pollWith(next.material, newToken.token!);
      const oldPoll = await pollWith(old, oldToken);
      const oldTokenRequest = await token('tpp-rot-b', old);
      const shown = await inProcess('recipients', 'show', '--recipient', 'tpp-rot-b', '--json', ...config);

      // Assess
      expect(before.status).toBe(200);
      expect(run).toEqual({
        code: 0,
        stdout:
          `Registered ${next.fingerprint} to tpp-rot-b\n` +
          `Removed ${old.fingerprint} from tpp-rot-b (running servers may accept it for up to 30 s more)\n` +
          `Verified: ${next.fingerprint} identifies tpp-rot-b\n`,
        stderr: '',
      });
      expect(newPoll.status).toBe(200);
      expect(newPoll.json()).toEqual({ sets: {}, moreAvailable: false });
      expect(oldPoll.status).toBe(403);
      expect(oldPoll.json()).toEqual({ err: 'access_denied', description: 'The client certificate is not registered' });
      expect(oldTokenRequest.status).toBe(401);
      expect(JSON.parse(shown.stdout)).toEqual({
        clientId: 'tpp-rot-b',
        // Rotated from its PEM: the subject and expiry are kept.
        certificates: [
          { fingerprint: next.fingerprint, addedAt: expect.stringMatching(new RegExp(`^${ISO}$`)), state: 'active', subject: 'CN=tpp-rot-b', notAfter: expect.stringMatching(new RegExp(`^${ISO}$`)) },
        ],
      });
    });

    it('is idempotent: running the same rotation again changes nothing and exits 1 only for the removal already done', async () => {
      // Prepare
      const old = await stack.mintClient('tpp-rot-c');
      const next = await newCertificate('tpp-rot-c', 'rot-c-new');
      await inProcess('recipients', 'rotate', '--client-id', 'tpp-rot-c', '--cert', next.certFile, '--remove-old', old.fingerprint, ...config);

      // Act
      const again = await inProcess('recipients', 'rotate', '--client-id', 'tpp-rot-c', '--cert', next.certFile, '--json', ...config);
      const removeAgain = await inProcess('recipients', 'rotate', '--client-id', 'tpp-rot-c', '--cert', next.certFile, '--remove-old', old.fingerprint, ...config);

      // Assess
      expect(JSON.parse(again.stdout)).toEqual({
        clientId: 'tpp-rot-c',
        fingerprint: next.fingerprint,
        outcome: 'unchanged',
        removed: null,
        certificates: [
          { fingerprint: next.fingerprint, addedAt: expect.stringMatching(new RegExp(`^${ISO}$`)), state: 'active', subject: 'CN=tpp-rot-c', notAfter: expect.stringMatching(new RegExp(`^${ISO}$`)) },
        ],
      });
      expect(removeAgain).toEqual({ code: 1, stdout: '', stderr: `setpoll: ${old.fingerprint} is not registered to tpp-rot-c: nothing was changed\n` });
    });

    it('changes nothing when the new certificate belongs to another recipient, is revoked, or the old one is not the recipient\'s', async () => {
      // Prepare
      const own = await stack.mintClient('tpp-rot-d');
      const alpha = stack.pki.clients.find((c) => c.clientId === 'tpp-alpha')!;
      const revoked = await newCertificate('tpp-rot-d', 'rot-d-revoked');
      await inProcess('recipients', 'revoke', '--fingerprint', revoked.fingerprint, ...config);
      const next = await newCertificate('tpp-rot-d', 'rot-d-new');

      // Act
      const foreign = await inProcess('recipients', 'rotate', '--client-id', 'tpp-rot-d', '--fingerprint', alpha.fingerprint, '--remove-old', own.fingerprint, ...config);
      const denied = await inProcess('recipients', 'rotate', '--client-id', 'tpp-rot-d', '--cert', revoked.certFile, ...config);
      const notTheirs = await inProcess('recipients', 'rotate', '--client-id', 'tpp-rot-d', '--cert', next.certFile, '--remove-old', alpha.fingerprint, ...config);
      const shown = await inProcess('recipients', 'show', '--recipient', 'tpp-rot-d', ...config);
      const alphaToken = await token('tpp-alpha', stack.client('tpp-alpha'));

      // Assess
      expect(foreign).toEqual({ code: 1, stdout: '', stderr: `setpoll: Certificate ${alpha.fingerprint} is already registered to tpp-alpha\n` });
      expect(denied).toEqual({
        code: 1,
        stdout: '',
        stderr: `setpoll: ${revoked.fingerprint} is revoked, so it cannot identify tpp-rot-d: nothing was changed (lift the revocation with 'setpoll recipients unrevoke' if that is intended)\n`,
      });
      expect(notTheirs).toEqual({ code: 1, stdout: '', stderr: `setpoll: ${alpha.fingerprint} is not registered to tpp-rot-d: nothing was changed\n` });
      // The transaction registered nothing: only the original certificate is there, and tpp-alpha's still works.
      expect(shown.stdout).toMatch(new RegExp(`^tpp-rot-d: 1 certificate\\(s\\), 1 active\\nFINGERPRINT +ADDED +STATE +SUBJECT +EXPIRES\\n${own.fingerprint}  ${ISO}  active  ${UNKNOWN}  unknown\\n$`));
      expect(alphaToken.status).toBe(200);
    });
  });

  describe('revoke and show', () => {
    it('revoke refuses the certificate on the next poll (identity cache off here; at most 30 s in a deployment); show says when and why; unrevoke restores it', async () => {
      // Prepare
      const minted = await stack.mintClient('tpp-rev');
      const accessToken = (await token('tpp-rev', minted)).token!;
      const before = await pollWith(minted, accessToken);

      // Act
      const revoked = await inProcess('recipients', 'revoke', '--fingerprint', minted.fingerprint, '--reason', 'key compromise', ...config);
      const refused = await pollWith(minted, accessToken);
      const shown = await inProcess('recipients', 'show', '--recipient', 'tpp-rev', ...config);
      const shownJson = await inProcess('recipients', 'show', '--recipient', 'tpp-rev', '--json', ...config);
      const unrevoked = await inProcess('recipients', 'unrevoke', '--fingerprint', minted.fingerprint, ...config);
      const after = await pollWith(minted, accessToken);

      // Assess
      expect(before.status).toBe(200);
      expect(revoked).toEqual({ code: 0, stdout: `Revoked ${minted.fingerprint} (running servers refuse it within 30 s)\n`, stderr: '' });
      expect(refused.status).toBe(403);
      expect(shown.code).toBe(0);
      expect(shown.stdout).toMatch(new RegExp(`^tpp-rev: 1 certificate\\(s\\), 0 active\\nFINGERPRINT +ADDED +STATE +SUBJECT +EXPIRES\\n${minted.fingerprint}  ${ISO}  revoked ${ISO} \\(key compromise\\)  ${UNKNOWN}  unknown\\n$`));
      expect(JSON.parse(shownJson.stdout)).toEqual({
        clientId: 'tpp-rev',
        certificates: [
          { fingerprint: minted.fingerprint, addedAt: expect.stringMatching(ISO), state: 'revoked', subject: null, notAfter: null, revokedAt: expect.stringMatching(ISO), reason: 'key compromise' },
        ],
      });
      expect(unrevoked.code).toBe(0);
      expect(after.status).toBe(200);
    });

    it("show gives the demo recipients' certificate subject and expiry, which npm start reads off their PEMs", async () => {
      // Arrange
      const demo = stack.pki.clients.find((client) => client.clientId === 'tpp-alpha')!;
      const certificate = new X509Certificate(demo.certPem);

      // Act
      const shown = await inProcess('recipients', 'show', '--recipient', 'tpp-alpha', '--json', ...config);

      // Assess
      expect(shown.code).toBe(0);
      const certificates = (JSON.parse(shown.stdout) as { certificates: { fingerprint: string; subject: string; notAfter: string }[] }).certificates;
      expect(certificates.find((c) => c.fingerprint === demo.fingerprint)).toMatchObject({
        subject: certificate.subject.split('\n').join(', '),
        notAfter: new Date(certificate.validTo).toISOString(),
      });
    });

    it('show says when a recipient has no certificates', async () => {
      // Act
      const run = await inProcess('recipients', 'show', '--recipient', 'tpp-nobody', ...config);

      // Assess
      expect(run).toEqual({ code: 0, stdout: 'No certificates are registered to tpp-nobody\n', stderr: '' });
    });
  });

  describe('authorize, deauthorize, authorizations', () => {
    it('records which Data Providers may notify a recipient, lists them, and removes one', async () => {
      // Act
      const authorized = await inProcess('recipients', 'authorize', '--recipient', 'rcp-auth', '--provider', 'prov-b', ...config);
      const again = await inProcess('recipients', 'authorize', '--recipient', 'rcp-auth', '--provider', 'prov-b', '--json', ...config);
      await inProcess('recipients', 'authorize', '--recipient', 'rcp-auth', '--provider', 'prov-a', ...config);
      const listed = await inProcess('recipients', 'authorizations', 'rcp-auth', ...config);
      const removed = await inProcess('recipients', 'deauthorize', '--client-id', 'rcp-auth', '--provider', 'prov-b', ...config);
      const removedAgain = await inProcess('recipients', 'deauthorize', '--client-id', 'rcp-auth', '--provider', 'prov-b', ...config);
      const listedJson = await inProcess('recipients', 'authorizations', '--client-id', 'rcp-auth', '--json', ...config);
      const none = await inProcess('recipients', 'authorizations', '--client-id', 'rcp-nobody', ...config);

      // Assess
      expect(authorized).toEqual({ code: 0, stdout: 'Authorized prov-b to notify rcp-auth\n', stderr: '' });
      expect(JSON.parse(again.stdout)).toEqual({ recipientId: 'rcp-auth', providerId: 'prov-b', grantedBy: 'operator', authorizedAt: expect.stringMatching(new RegExp(`^${ISO}$`)), outcome: 'unchanged' });
      expect(listed.stdout).toMatch(new RegExp(`^PROVIDER  BY        SINCE\nprov-a    operator  ${ISO}\nprov-b    operator  ${ISO}\n$`));
      expect(removed).toEqual({ code: 0, stdout: 'prov-b may no longer notify rcp-auth; 0 undelivered SETs withdrawn from its queue\n', stderr: '' });
      expect(removedAgain).toEqual({ code: 1, stdout: '', stderr: 'setpoll: prov-b is not authorized to notify rcp-auth\n' });
      expect(JSON.parse(listedJson.stdout)).toEqual({
        recipientId: 'rcp-auth',
        authorizations: [{ recipientId: 'rcp-auth', providerId: 'prov-a', grantedBy: 'operator', authorizedAt: expect.stringMatching(new RegExp(`^${ISO}$`)) }],
      });
      expect(none).toEqual({ code: 0, stdout: 'No Data Provider may notify rcp-nobody\n', stderr: '' });
    });
  });

  describe('deauthorize', () => {
    it("withdraws the provider's undelivered SETs from the recipient's queue and says how many", async () => {
      // Prepare: provider-demo queues two SETs to rcp-wd, which the operator authorized.
      await inProcess('recipients', 'authorize', '--client-id', 'rcp-wd', '--provider', 'provider-demo', ...config);
      await stack.destinations.register('provider-demo', { clientId: 'rcp-wd' });
      for (const id of ['wd-1', 'wd-2']) await stack.notifications.issue('provider-demo', { notificationId: id, events: { 'urn:example:event': {} } });

      // Act
      const removed = await inProcess('recipients', 'deauthorize', '--client-id', 'rcp-wd', '--provider', 'provider-demo', '--json', ...config);
      const issuedAfter = await stack.notifications.issue('provider-demo', { notificationId: 'wd-3', events: { 'urn:example:event': {} } });

      // Assess
      expect(removed).toEqual({ code: 0, stdout: `${JSON.stringify({ recipientId: 'rcp-wd', providerId: 'provider-demo', outcome: 'removed', withdrawn: 2 })}\n`, stderr: '' });
      expect((await stack.store.readQueue('rcp-wd', 10)).items).toEqual([]);
      expect(issuedAfter.notification.fanOut).toMatchObject({ queued: 0, skipped: 1 });
    });
  });

  describe('usage', () => {
    it('answers each usage error with exit code 2 and the exact message', async () => {
      // Prepare
      const hex = 'ab'.repeat(32);
      const cases: Array<[string[], string]> = [
        [['recipients', 'rotate', '--cert', 'new.pem', ...config], '--recipient is required'],
        [['recipients', 'rotate', '--recipient', 'x', ...config], 'give exactly one of --cert FILE.pem and --fingerprint HEX'],
        [['recipients', 'rotate', '--recipient', 'x', '--fingerprint', hex, '--remove-old', 'nope', ...config], '--remove-old must be a SHA-256 fingerprint: 64 hex digits'],
        [['recipients', 'rotate', '--recipient', 'x', '--fingerprint', hex, '--remove-old', hex.toUpperCase(), ...config], '--remove-old names the new certificate: give the fingerprint of the one it replaces'],
        [['recipients', 'add', '-r', 'x', '--fingerprint', hex, '--remove-old', hex, ...config], '--remove-old is only for recipients rotate'],
        [['recipients', 'show', ...config], '--recipient is required'],
        [['recipients', 'show', '--recipient', 'x', '--fingerprint', hex, ...config], 'recipients show takes no --cert or --fingerprint'],
        [['recipients', 'show', '--recipient', 'x', '--client', 'y', ...config], 'give one recipient, with --recipient ID (got "x", "y")'],
        [['recipients', 'show', '--client-id', 'x', 'y', ...config], 'give one recipient, with --recipient ID (got "x", "y")'],
        [['recipients', 'revoke', '--client', 'x', '--fingerprint', hex, ...config], 'recipients revoke does not take --recipient'],
        [['recipients', 'unrevoke', 'x', '--fingerprint', hex, ...config], 'recipients unrevoke does not take --recipient'],
        [['recipients', 'add', '-r', 'prov#N#x', '--fingerprint', hex, ...config], '--recipient "prov#N#x" is not valid: a client id is 1 to 128 printable ASCII characters without spaces or any of # / ? %, and not "." or ".."'],
        [['recipients', 'rotate', '--recipient', 'x'.repeat(129), '--fingerprint', hex, ...config], `--recipient "${'x'.repeat(129)}" is not valid: a client id is 1 to 128 printable ASCII characters without spaces or any of # / ? %, and not "." or ".."`],
        [['recipients', 'add', '-r', 'tpp\u001balpha', '--fingerprint', hex, ...config], '--recipient "tpp\\u001balpha" is not valid: a client id is 1 to 128 printable ASCII characters without spaces or any of # / ? %, and not "." or ".."'],
        [['recipients', 'add', '-r', 'org/tpp', '--fingerprint', hex, ...config], '--recipient "org/tpp" is not valid: a client id is 1 to 128 printable ASCII characters without spaces or any of # / ? %, and not "." or ".."'],
        [['recipients', 'authorize', '--client-id', 'x', ...config], 'recipients authorize needs --provider'],
        [['recipients', 'deauthorize', '--client-id', 'x', '--provider', 'p#1', ...config], '--provider "p#1" is not valid: a client id is 1 to 128 printable ASCII characters without spaces or any of # / ? %, and not "." or ".."'],
        [['recipients', 'add', '-r', 'x', '--fingerprint', hex, '--provider', 'p', ...config], '--provider is only for recipients authorize and deauthorize'],
        [['recipients', 'authorize', '--client-id', 'x', '--provider', 'p', '--fingerprint', hex, ...config], 'recipients authorize takes no --cert or --fingerprint'],
        [['recipients', 'rename', ...config], 'unknown subcommand "rename": use add, remove, list, show, rotate, revoke, unrevoke, authorize, deauthorize or authorizations'],
      ];

      // Act
      const runs = await Promise.all(cases.map(([args]) => inProcess(...args)));

      // Assess
      runs.forEach((run, i) => {
        expect({ args: cases[i]![0], ...run }).toEqual({ args: cases[i]![0], code: 2, stdout: '', stderr: `setpoll: ${cases[i]![1]}\nRun 'setpoll recipients --help' for usage.\n` });
      });
    });

    it('prints the help, which names show and rotate, with --help', async () => {
      // Act
      const run = await inProcess('recipients', 'rotate', '--help');

      // Assess
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^Usage: setpoll recipients <subcommand>/);
      expect(run.stdout).toContain('\n  rotate   -r ID (--cert NEW.pem | --fingerprint HEX) [--remove-old OLD_HEX]\n');
      expect(run.stdout).toContain('\n  show     -r ID ');
    });
  });
});
