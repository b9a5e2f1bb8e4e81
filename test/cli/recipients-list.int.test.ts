/**
 * `setpoll recipients list` of every recipient, and the certificate subject and expiry that `add`
 * and `rotate` keep from the PEM, against real DynamoDB Local (a table of this file's own, so the
 * listing is exactly what these tests registered) with certificates from a real CA.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCertificateAuthority, issueClientCertificate, type CertificateAuthority } from '../../local/pki.ts';
import { configForTable, inProcess } from '../support/cli.ts';
import { createTestTable } from '../support/dynamo.ts';

const UNKNOWN = 'unknown (registered before subjects were kept, or by fingerprint)';

describe('setpoll recipients list and show', () => {
  let table: Awaited<ReturnType<typeof createTestTable>>;
  let scratch: string;
  let config: string[];
  let ca: CertificateAuthority;

  /** A certificate for clientId from the test CA, written to a PEM file; not registered. */
  const certificate = async (clientId: string, name: string, validity: { notBefore?: Date; notAfter: Date }) => {
    const issued = await issueClientCertificate(ca, clientId, validity);
    const certFile = join(scratch, `${name}.pem`);
    writeFileSync(certFile, issued.certPem);
    return { fingerprint: issued.fingerprint, certFile };
  };

  beforeAll(async () => {
    table = await createTestTable();
    scratch = mkdtempSync(join(tmpdir(), 'setpoll-recipients-list-'));
    config = await configForTable(scratch, table);
    ca = await createCertificateAuthority('setpoll list test CA');
  });

  afterAll(() => {
    table?.client.destroy();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('lists no recipient in an empty table', async () => {
    // Act
    const run = await inProcess('recipients', 'list', ...config);

    // Assess
    expect(run).toEqual({
      code: 0,
      stdout: 'No recipient has a registered certificate\n',
      stderr: expect.stringMatching(/^0 recipient\(s\), 0 certificate\(s\); the scan read \d+(\.\d+)? read unit\(s\)\n$/),
    });
  });

  it('shows the subject and expiry kept from the PEM, unknown for a fingerprint, and lists every recipient with them', async () => {
    // Prepare: lst-alpha by PEM; lst-beta by PEM (expired) and by fingerprint, one revoked.
    const alpha = await certificate('lst-alpha', 'alpha', { notAfter: new Date('2030-01-02T03:04:05Z') });
    const betaOld = await certificate('lst-beta', 'beta-old', { notBefore: new Date('2025-01-01T00:00:00Z'), notAfter: new Date('2026-01-01T00:00:00Z') });
    const betaNew = await certificate('lst-beta', 'beta-new', { notAfter: new Date('2031-06-30T12:00:00Z') });
    expect((await inProcess('recipients', 'add', '--recipient', 'lst-alpha', '--cert', alpha.certFile, ...config)).code).toBe(0);
    expect((await inProcess('recipients', 'add', '-r', 'lst-beta', '--cert', betaOld.certFile, ...config)).code).toBe(0);
    expect((await inProcess('recipients', 'add', '-r', 'lst-beta', '--fingerprint', betaNew.fingerprint, ...config)).code).toBe(0);
    expect((await inProcess('recipients', 'revoke', '--fingerprint', betaOld.fingerprint, ...config)).code).toBe(0);

    // Act
    const list = await inProcess('recipients', 'list', ...config);
    const listJson = await inProcess('recipients', 'list', '--json', ...config);
    const show = await inProcess('recipients', 'show', '-r', 'lst-beta', ...config);
    const showJson = await inProcess('recipients', 'show', '-r', 'lst-beta', '--json', ...config);

    // Assess
    const [a, o, n] = [alpha.fingerprint, betaOld.fingerprint, betaNew.fingerprint];
    expect(list).toEqual({
      code: 0,
      stdout:
        `RECIPIENT  ${'FINGERPRINT'.padEnd(64)}  STATE    SUBJECT       EXPIRES\n` +
        `lst-alpha  ${a}  active   CN=lst-alpha  2030-01-02T03:04:05.000Z\n` +
        `lst-beta   ${o}  revoked  CN=lst-beta   2026-01-01T00:00:00.000Z (expired)\n` +
        `lst-beta   ${n}  active   unknown       unknown\n`,
      stderr: expect.stringMatching(/^2 recipient\(s\), 3 certificate\(s\); the scan read \d+(\.\d+)? read unit\(s\)\n$/),
    });
    const listed = JSON.parse(listJson.stdout) as { recipients: unknown; readUnits: number };
    const added = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(listed.recipients).toEqual([
      { clientId: 'lst-alpha', certificates: [{ fingerprint: a, addedAt: added, revoked: false, subject: 'CN=lst-alpha', notAfter: '2030-01-02T03:04:05.000Z' }] },
      {
        clientId: 'lst-beta',
        certificates: [
          { fingerprint: o, addedAt: added, revoked: true, subject: 'CN=lst-beta', notAfter: '2026-01-01T00:00:00.000Z' },
          { fingerprint: n, addedAt: added, revoked: false, subject: null, notAfter: null },
        ],
      },
    ]);
    expect(listed.readUnits).toBeGreaterThan(0);
    expect(show.code).toBe(0);
    // One row a certificate, in the registry's (fingerprint) order; ADDED and WHEN are when the test ran.
    const [title, header, ...rows] = show.stdout.split('\n').map((line) => line.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z  (revoked|active)/, 'ADDED  $1').replace(/revoked \d{4}-\S+Z/, 'revoked WHEN').replace(/ +/g, ' '));
    expect(title).toBe('lst-beta: 2 certificate(s), 1 active');
    expect(header).toBe('FINGERPRINT ADDED STATE SUBJECT EXPIRES');
    expect(rows.sort()).toEqual(
      [
        '',
        `${o} ADDED revoked WHEN CN=lst-beta 2026-01-01T00:00:00.000Z (expired)`,
        `${n} ADDED active ${UNKNOWN} unknown`,
      ].sort(),
    );
    expect(JSON.parse(showJson.stdout)).toEqual({
      clientId: 'lst-beta',
      certificates: expect.arrayContaining([
        expect.objectContaining({ fingerprint: o, state: 'revoked', subject: 'CN=lst-beta', notAfter: '2026-01-01T00:00:00.000Z' }),
        expect.objectContaining({ fingerprint: n, state: 'active', subject: null, notAfter: null }),
      ]),
    });
  });

  it('fills in the subject and expiry when a certificate registered by fingerprint is added again from its PEM, and keeps them through rotate', async () => {
    // Prepare
    const first = await certificate('lst-gamma', 'gamma-1', { notAfter: new Date('2029-03-04T05:06:07Z') });
    const second = await certificate('lst-gamma', 'gamma-2', { notAfter: new Date('2032-08-09T10:11:12Z') });
    await inProcess('recipients', 'add', '-r', 'lst-gamma', '--fingerprint', first.fingerprint, ...config);
    const before = JSON.parse((await inProcess('recipients', 'list', '-r', 'lst-gamma', '--json', ...config)).stdout) as unknown;

    // Act
    const again = await inProcess('recipients', 'add', '-r', 'lst-gamma', '--cert', first.certFile, ...config);
    const filled = JSON.parse((await inProcess('recipients', 'list', '-r', 'lst-gamma', '--json', ...config)).stdout) as unknown;
    const rotated = await inProcess('recipients', 'rotate', '-r', 'lst-gamma', '--cert', second.certFile, '--remove-old', first.fingerprint, ...config);
    const after = JSON.parse((await inProcess('recipients', 'list', '-r', 'lst-gamma', '--json', ...config)).stdout) as unknown;

    // Assess
    expect(before).toEqual({ clientId: 'lst-gamma', certificates: [expect.objectContaining({ fingerprint: first.fingerprint, subject: null, notAfter: null })] });
    expect(again).toEqual({ code: 0, stdout: `${first.fingerprint} was already registered to lst-gamma\n`, stderr: '' });
    expect(filled).toEqual({ clientId: 'lst-gamma', certificates: [expect.objectContaining({ fingerprint: first.fingerprint, subject: 'CN=lst-gamma', notAfter: '2029-03-04T05:06:07.000Z' })] });
    expect(rotated.code).toBe(0);
    expect(after).toEqual({ clientId: 'lst-gamma', certificates: [expect.objectContaining({ fingerprint: second.fingerprint, subject: 'CN=lst-gamma', notAfter: '2032-08-09T10:11:12.000Z' })] });
  });
});
