import { execFile } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { createRemoteJWKSet, customFetch, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningJwk, publicJwk, type SetAlgorithm } from '../../lambdas/producer/signer.ts';
import { createDynamoClient } from '../../local/dynamodb.ts';
import { fetchTrustingCa } from '../../local/fetch-with-ca.ts';
import { inProcess } from '../support/cli.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';
import { schemaErrors } from '../support/queued-set-item.ts';

const run = promisify(execFile);
const PRODUCER = resolve(import.meta.dirname, '../../examples/python/setpoll_producer.py');
/** Debian's python3 with python3-boto3 and python3-cryptography (.ci/run installs them). */
const PYTHON = process.env.SETPOLL_PYTHON || 'python3';
const EVENT = { 'https://schemas.openid.net/secevent/risc/event-type/account-disabled': { reason: 'hijacking' } };

describe('a Python producer (boto3) against the local stack', () => {
  let stack: TestStack;

  beforeAll(async () => {
    // No silent skip: without boto3 this suite fails and says what to install.
    await run(PYTHON, ['-c', 'import boto3, cryptography']).catch((error: Error) => {
      throw new Error(`${PYTHON} with boto3 and cryptography is required (apt-get install -y python3-boto3 python3-cryptography): ${error.message}`);
    });
    stack = await startTestStack();
  });
  afterAll(() => stack?.stop());

  it.each(['ES256', 'PS256'] as SetAlgorithm[])('its %s SET is delivered, verifies against the public JWKS and is acked like any other', async (alg) => {
    // Prepare: the producer's key pair; the operator publishes the public half.
    const jwk = await generateSigningJwk(alg);
    const pem = join(stack.scratch, `${alg}.pem`);
    writeFileSync(pem, createPrivateKey({ key: jwk as never, format: 'jwk' }).export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const pub = join(stack.scratch, `${alg}.pub.json`);
    writeFileSync(pub, JSON.stringify(publicJwk(jwk)));
    expect((await inProcess('keys', 'register', '--jwk', pub, '--label', `python-${alg}`, '--config', stack.configFile)).code).toBe(0);

    // Act: the Python producer puts the SET; tpp-alpha polls it.
    const { stdout } = await run(
      PYTHON,
      [PRODUCER, '--table', stack.config.dynamodb.tableName, '--recipient', 'tpp-alpha', '--issuer', 'https://python-producer.example',
        '--key', pem, `--kid=${jwk.kid!}`, '--alg', alg, '--events', JSON.stringify(EVENT), '--region', 'us-east-1', '--endpoint-url', stack.config.dynamodb.endpoint],
      { env: { ...process.env, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' }, timeout: 30_000 },
    );
    const { jti, outcomes } = JSON.parse(stdout) as { jti: string; outcomes: Record<string, string> };
    const client = createDynamoClient(stack.config.dynamodb.endpoint);
    const stored = await client.send(new GetItemCommand({ TableName: stack.config.dynamodb.tableName, Key: { pk: { S: 'Q#tpp-alpha' }, sk: { S: `S#${jti}` } } }));
    client.destroy();
    const poll = await stack.poll('tpp-alpha', { returnImmediately: true });

    // Assess
    expect(outcomes).toEqual({ 'tpp-alpha': 'queued' });
    expect(jti).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(schemaErrors(stored.Item)).toEqual([]);
    expect(poll.status).toBe(200);
    const { sets } = poll.json<{ sets: Record<string, string> }>();
    expect(Object.keys(sets)).toEqual([jti]);
    expect(decodeProtectedHeader(sets[jti]!)).toEqual({ alg, kid: jwk.kid, typ: 'secevent+jwt' });
    const keys = createRemoteJWKSet(new URL(stack.config.publicJwksUrl), { [customFetch]: fetchTrustingCa(stack.pki.caCertPem) });
    const { payload } = await jwtVerify(sets[jti]!, keys, { issuer: 'https://python-producer.example', audience: 'tpp-alpha', typ: 'secevent+jwt' });
    expect(payload).toEqual({ iss: 'https://python-producer.example', iat: expect.any(Number), jti, aud: 'tpp-alpha', events: EVENT });
    const ack = await stack.poll('tpp-alpha', { returnImmediately: true, ack: [jti], maxEvents: 0 });
    expect(ack.json()).toEqual({ sets: {}, moreAvailable: false });
    expect((await stack.poll('tpp-alpha', { returnImmediately: true })).json()).toEqual({ sets: {}, moreAvailable: false });
  });

  it('publishing the same jti again is reported as a duplicate and keeps the first SET', async () => {
    const jwk = await generateSigningJwk('ES256');
    const pem = join(stack.scratch, 'dup.pem');
    writeFileSync(pem, createPrivateKey({ key: jwk as never, format: 'jwk' }).export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const args = [PRODUCER, '--table', stack.config.dynamodb.tableName, '--recipient', 'tpp-beta', '--issuer', 'https://python-producer.example',
      '--key', pem, `--kid=${jwk.kid!}`, '--jti', 'python-dup-1', '--region', 'us-east-1', '--endpoint-url', stack.config.dynamodb.endpoint];
    const env = { ...process.env, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' };

    const first = JSON.parse((await run(PYTHON, args, { env })).stdout) as unknown;
    const second = JSON.parse((await run(PYTHON, args, { env })).stdout) as unknown;

    expect(first).toEqual({ jti: 'python-dup-1', outcomes: { 'tpp-beta': 'queued' } });
    expect(second).toEqual({ jti: 'python-dup-1', outcomes: { 'tpp-beta': 'duplicate' } });
  });
});
