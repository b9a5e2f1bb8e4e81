import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, customFetch, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Publisher } from '../../lambdas/producer/publish.ts';
import { JwkSigner, generateSigningJwk, publicJwk } from '../../lambdas/producer/signer.ts';
import { fetchTrustingCa } from '../../local/fetch-with-ca.ts';
import { inProcess } from '../support/cli.ts';
import { httpsRequest } from '../support/https-client.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';

const EVENT = { 'https://schemas.openid.net/secevent/caep/event-type/session-revoked': { initiating_entity: 'policy' } };

/** Verifies a SET the way a receiver without a client certificate does: keys from publicJwksUrl only. */
async function verifyWithPublicJwks(stack: TestStack, set: string, audience = 'tpp-alpha') {
  const keys = createRemoteJWKSet(new URL(stack.config.publicJwksUrl), { [customFetch]: fetchTrustingCa(stack.pki.caCertPem) });
  return jwtVerify(set, keys, { audience, typ: 'secevent+jwt' });
}

async function pollAll(stack: TestStack, clientId = 'tpp-alpha'): Promise<Record<string, string>> {
  const res = await stack.poll(clientId, { returnImmediately: true, maxEvents: 10 });
  expect(res.status).toBe(200);
  return res.json<{ sets: Record<string, string> }>().sets;
}

async function ack(stack: TestStack, jtis: string[], clientId = 'tpp-alpha'): Promise<void> {
  const res = await stack.poll(clientId, { returnImmediately: true, ack: jtis, maxEvents: 0 });
  expect(res.status).toBe(200);
  expect(res.json()).toEqual({ sets: {}, moreAvailable: false });
}

describe('public JWKS URL (no client certificate)', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('is in local.json and serves the current key, public members only, without a client certificate', async () => {
    const written = JSON.parse(readFileSync(stack.configFile, 'utf8')) as { publicJwksUrl: string };
    expect(written.publicJwksUrl).toBe(stack.config.publicJwksUrl);
    expect(written.publicJwksUrl).toMatch(/^https:\/\/localhost:\d+\/jwks\.json$/);

    const res = await httpsRequest(stack.config.publicJwksUrl, { method: 'GET', ca: stack.pki.caCertPem });

    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('public, max-age=300');
    const { keys } = res.json<{ keys: JWK[] }>();
    expect(keys).toEqual([stack.publicJwk]);
    expect(Object.keys(keys[0]!).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
  });

  it('serves the same keys as the mTLS /jwks.json', async () => {
    const mtls = await httpsRequest(stack.config.jwksUrl, { method: 'GET', ...stack.client('tpp-alpha') });
    const open = await httpsRequest(stack.config.publicJwksUrl, { method: 'GET', ca: stack.pki.caCertPem });
    expect(mtls.status).toBe(200);
    expect(open.json()).toEqual(mtls.json());
  });

  it('serves nothing but GET /jwks.json: not the poll route, not the management API, no other method', async () => {
    const origin = new URL(stack.config.publicJwksUrl).origin;
    const poll = await httpsRequest(`${origin}/events`, { method: 'POST', ca: stack.pki.caCertPem, body: { returnImmediately: true } });
    const destinations = await httpsRequest(`${origin}/destinations`, { method: 'GET', ca: stack.pki.caCertPem });
    const post = await httpsRequest(stack.config.publicJwksUrl, { method: 'POST', ca: stack.pki.caCertPem, body: {} });

    expect([poll.status, poll.json()]).toEqual([404, { err: 'not_found', description: 'No resource at this path' }]);
    expect([destinations.status, destinations.json()]).toEqual([404, { err: 'not_found', description: 'No resource at this path' }]);
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET');
  });

  it('leaves the mTLS listener closed to a caller without a client certificate', async () => {
    await expect(httpsRequest(stack.config.jwksUrl, { method: 'GET', ca: stack.pki.caCertPem })).rejects.toThrow();
  });
});

describe('producer keys', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack?.stop());

  it('a SET signed with a registered producer key is delivered, verifies through the public JWKS and is acked', async () => {
    // Prepare: the producer's own key; the operator publishes its public half.
    const producerKey = await generateSigningJwk('ES256');
    const file = join(stack.scratch, 'producer.pub.json');
    writeFileSync(file, JSON.stringify(publicJwk(producerKey)));
    const register = await inProcess('keys', 'register', '--jwk', file, '--label', 'team-x', '--config', stack.configFile);
    expect(register).toEqual({ code: 0, stdout: `Published producer key ${producerKey.kid}\n`, stderr: '' });
    const producer = new Publisher({ store: stack.store, signer: await JwkSigner.fromJwk(producerKey), issuer: 'https://team-x.example' });

    // Act
    const { jti } = await producer.publish({ recipients: ['tpp-alpha'], events: EVENT });
    const sets = await pollAll(stack);

    // Assess
    expect(Object.keys(sets)).toEqual([jti]);
    expect(decodeProtectedHeader(sets[jti]!)).toEqual({ alg: 'ES256', kid: producerKey.kid, typ: 'secevent+jwt' });
    const { payload } = await verifyWithPublicJwks(stack, sets[jti]!);
    expect(payload).toMatchObject({ iss: 'https://team-x.example', jti, events: EVENT });
    await ack(stack, [jti]);
    expect(await pollAll(stack)).toEqual({});
    const list = await inProcess('keys', 'list', '--json', '--config', stack.configFile);
    expect(JSON.parse(list.stdout)).toEqual([
      { kid: producerKey.kid, jwk: { ...publicJwk(producerKey), use: 'sig' }, kind: 'producer', label: 'team-x', addedAt: expect.any(Number), published: true },
    ]);
  });

  it('refuses a private key, and publishes nothing', async () => {
    const privateKey = await generateSigningJwk('ES256');
    const file = join(stack.scratch, 'private.json');
    writeFileSync(file, JSON.stringify(privateKey));
    const before = await stack.publishedKeys.keys();

    const run = await inProcess('keys', 'register', '--jwk', file, '--config', stack.configFile);

    expect(run).toEqual({ code: 1, stdout: '', stderr: 'setpoll: The key holds private material ("d"): publish the public key only\n' });
    expect(await stack.publishedKeys.keys()).toEqual(before);
  });

  it('after `keys remove`, a SET signed with the removed key no longer verifies', async () => {
    const producerKey = await generateSigningJwk('PS256');
    const file = join(stack.scratch, 'removed.pub.json');
    writeFileSync(file, JSON.stringify(publicJwk(producerKey)));
    expect((await inProcess('keys', 'register', '--jwk', file, '--config', stack.configFile)).code).toBe(0);
    const producer = new Publisher({ store: stack.store, signer: await JwkSigner.fromJwk(producerKey), issuer: 'https://team-y.example' });
    const { set } = await producer.publish({ recipients: ['tpp-beta'], events: EVENT, jti: `removed-${randomUUID()}` });
    await verifyWithPublicJwks(stack, set, 'tpp-beta');

    const run = await inProcess('keys', 'remove', `--kid=${producerKey.kid!}`, '--config', stack.configFile);

    expect(run).toEqual({ code: 0, stdout: `Key ${producerKey.kid} is no longer published\n`, stderr: '' });
    await expect(verifyWithPublicJwks(stack, set, 'tpp-beta')).rejects.toThrow(/no applicable key found/);
  });
});

describe('signing key rotation (local stack)', () => {
  let dir: string;
  let stack: TestStack | undefined;
  afterEach(async () => {
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('SETs queued before a rotation still verify after it, through the public JWKS', async () => {
    // Prepare: a SET signed with the first key, still queued when the key is rotated.
    dir = mkdtempSync(join(tmpdir(), 'setpoll-rotation-'));
    const tableName = `t-${randomUUID()}`;
    stack = await startTestStack({ dir, tableName });
    const oldKid = stack.publicJwk.kid;
    const before = await stack.publisher.publish({ recipients: ['tpp-alpha'], events: EVENT });

    // Act: rotate, then restart the stack (what a deploy with a new key is in AWS) and publish again.
    const rotate = await inProcess('keys', 'rotate', '--keep', '3600', '--config', stack.configFile);
    await stack.stop();
    stack = await startTestStack({ dir, tableName });
    const after = await stack.publisher.publish({ recipients: ['tpp-alpha'], events: EVENT });
    const sets = await pollAll(stack);

    // Assess
    expect(rotate.code).toBe(0);
    expect(rotate.stdout).toContain(`Previous key ${oldKid} stays published until `);
    expect(stack.publicJwk.kid).not.toBe(oldKid);
    expect(Object.keys(sets).sort()).toEqual([before.jti, after.jti].sort());
    expect(decodeProtectedHeader(sets[before.jti]!).kid).toBe(oldKid);
    expect(decodeProtectedHeader(sets[after.jti]!).kid).toBe(stack.publicJwk.kid);
    for (const jti of [before.jti, after.jti]) {
      const { payload } = await verifyWithPublicJwks(stack, sets[jti]!);
      expect(payload.jti).toBe(jti);
    }
    const { keys } = (await httpsRequest(stack.config.publicJwksUrl, { method: 'GET', ca: stack.pki.caCertPem })).json<{ keys: JWK[] }>();
    expect(keys.map((k) => k.kid)).toEqual([stack.publicJwk.kid, oldKid]);
    await ack(stack, [before.jti, after.jti]);
    expect(await pollAll(stack)).toEqual({});
  });
});
