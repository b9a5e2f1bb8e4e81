/**
 * `setpoll keys` under --json: every subcommand answers one JSON object, as list and register do,
 * against real DynamoDB Local (a table of this file's own).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningJwk, publicJwk, writeSigningJwk } from '../../lambdas/producer/signer.ts';
import { signingKeyFileFor } from '../../local/config.ts';
import { configForTable, inProcess } from '../support/cli.ts';
import { createTestTable } from '../support/dynamo.ts';

describe('setpoll keys --json', () => {
  let table: Awaited<ReturnType<typeof createTestTable>>;
  let scratch: string;
  let config: string[];

  beforeAll(async () => {
    table = await createTestTable();
    scratch = mkdtempSync(join(tmpdir(), 'setpoll-keys-json-'));
    config = await configForTable(scratch, table);
  });

  afterAll(() => {
    table?.client.destroy();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('answers rotate, retire and remove as JSON, with what list --json then shows', async () => {
    // Prepare: the local stack's signing key, as npm start writes it next to local.json.
    const keyFile = signingKeyFileFor(join(scratch, 'local.json'));
    const current = await generateSigningJwk('PS256');
    await writeSigningJwk(keyFile, current);
    const startedAt = Math.floor(Date.now() / 1000);

    // Act
    const rotate = await inProcess('keys', 'rotate', '--keep', '3600', '--json', ...config);
    const retire = await inProcess('keys', 'retire', `--kid=${current.kid!}`, '--keep', '60', '--json', ...config);
    const listed = await inProcess('keys', 'list', '--json', ...config);
    const remove = await inProcess('keys', 'remove', `--kid=${current.kid!}`, '--json', ...config);
    const after = await inProcess('keys', 'list', '--all', '--json', ...config);

    // Assess
    const next = JSON.parse(readFileSync(keyFile, 'utf8')) as JWK;
    expect(next.kid).not.toBe(current.kid);
    expect(rotate).toMatchObject({ code: 0, stderr: '' });
    const rotated = JSON.parse(rotate.stdout) as { previous: { kid: string; kind: string; until: number; jwk: JWK }; next: { kid: string; file: string } };
    expect(rotated).toEqual({
      previous: { kid: current.kid, jwk: publicJwk(current), kind: 'previous', addedAt: expect.any(Number), until: expect.any(Number) },
      next: { kid: next.kid, file: keyFile },
    });
    expect(rotated.previous.until - startedAt).toBeGreaterThanOrEqual(3600);
    expect(rotate.stdout.split('\n')).toHaveLength(2);

    expect(retire).toMatchObject({ code: 0, stderr: '' });
    const retired = JSON.parse(retire.stdout) as { kid: string; until: number };
    expect(retired).toEqual({ kid: current.kid, until: expect.any(Number) });
    expect(retired.until - startedAt).toBeGreaterThanOrEqual(60);
    expect(retired.until - startedAt).toBeLessThan(3600);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ kid: current.kid, until: retired.until, published: true })]);

    expect(remove).toEqual({ code: 0, stdout: `${JSON.stringify({ kid: current.kid, published: false })}\n`, stderr: '' });
    expect(JSON.parse(after.stdout)).toEqual([]);
  });

  it('answers a key that is not published as a JSON failure', async () => {
    // Act
    const run = await inProcess('keys', 'retire', '--kid=no-such-kid', '--json', ...config);

    // Assess
    expect(run).toEqual({ code: 1, stdout: '', stderr: `${JSON.stringify({ error: { kind: 'failure', message: 'No published key no-such-kid', command: 'keys', exitCode: 1 } })}\n` });
  });
});
