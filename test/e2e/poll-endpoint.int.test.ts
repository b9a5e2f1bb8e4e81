import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT, importJWK, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateSettings } from '../../lambdas/core/settings.ts';
import { thumbprintOfPem } from '../../lambdas/core/certificate.ts';
import { httpsRequest } from '../support/https-client.ts';
import { TEST_SETTINGS, startTestStack, type TestStack } from '../support/local-stack.ts';
import { drain as drainQueue, publishSets } from '../support/queue.ts';

const EVENT = { 'https://schemas.openid.net/secevent/caep/event-type/credential-change': { credential_type: 'x509', change_type: 'update' } };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ settings: validateSettings({ ...TEST_SETTINGS, leaseSeconds: 2, identityCacheSeconds: 0 }) });
});
afterAll(() => stack?.stop());

/** Empties a recipient's queue so each test starts from a known state. */
const drain = (clientId: string) => drainQueue(stack, clientId);

const publish = (clientId: string, count: number) => publishSets(stack, clientId, count, { events: EVENT });

describe('POST /events', () => {
  describe('RFC 8936 §2.4.1 poll-only', () => {
    it('returns the queued SETs oldest first and moreAvailable false', async () => {
      // Prepare
      await drain('tpp-alpha');
      const queued = await publish('tpp-alpha', 3);
      // Act
      const res = await stack.poll('tpp-alpha', { returnImmediately: true });
      // Assess
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/json');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.json()).toEqual({ sets: Object.fromEntries(queued.map((q) => [q.jti, q.set])), moreAvailable: false });
      expect(Object.keys(res.json<{ sets: object }>().sets)).toEqual(queued.map((q) => q.jti));
    });

    it('{} is a long poll that answers {"sets":{},"moreAvailable":false} after the wait', async () => {
      await drain('tpp-beta');
      const started = performance.now();
      const res = await stack.poll('tpp-beta', {});
      expect(performance.now() - started).toBeGreaterThanOrEqual(1000);
      expect(res.status).toBe(200);
      expect(res.body).toBe('{"sets":{},"moreAvailable":false}');
    });

    it('a long poll is woken by a SET published during the wait', async () => {
      await drain('tpp-beta');
      const longStack = await startTestStack({ settings: validateSettings({ ...TEST_SETTINGS, longPollSeconds: 10 }) });
      try {
        const pending = longStack.poll('tpp-beta', { returnImmediately: false });
        await new Promise((r) => setTimeout(r, 1200));
        const [queued] = await longStack.publisher.publish({ recipients: ['tpp-beta'], events: EVENT }).then((p) => [p]);
        const publishedAt = performance.now();
        const res = await pending;
        expect(performance.now() - publishedAt).toBeLessThan(1500);
        expect(res.json()).toEqual({ sets: { [queued!.jti]: queued!.set }, moreAvailable: false });
      } finally {
        await longStack.stop();
      }
    });
  });

  describe('RFC 8936 §2.4.2 acknowledge-only', () => {
    it('maxEvents 0 with ack deletes the acked SETs and returns none', async () => {
      await drain('tpp-alpha');
      const [a, b] = await publish('tpp-alpha', 2);
      await stack.poll('tpp-alpha', { returnImmediately: true });
      const res = await stack.poll('tpp-alpha', { returnImmediately: true, maxEvents: 0, ack: [a!.jti] });
      expect(res.status).toBe(200);
      expect(res.json()).toEqual({ sets: {}, moreAvailable: false });
      expect((await stack.store.readQueue('tpp-alpha', 10)).items.map((i) => i.jti)).toEqual([b!.jti]);
    });
  });

  describe('RFC 8936 §2.4.3 combined acknowledge and poll', () => {
    it('acks the previous batch and returns the next one', async () => {
      await drain('tpp-alpha');
      const queued = await publish('tpp-alpha', 4);
      const first = await stack.poll('tpp-alpha', { returnImmediately: true, maxEvents: 2 });
      expect(first.json()).toEqual({ sets: { [queued[0]!.jti]: queued[0]!.set, [queued[1]!.jti]: queued[1]!.set }, moreAvailable: true });
      const second = await stack.poll('tpp-alpha', { returnImmediately: true, maxEvents: 2, ack: [queued[0]!.jti, queued[1]!.jti] });
      expect(second.json()).toEqual({ sets: { [queued[2]!.jti]: queued[2]!.set, [queued[3]!.jti]: queued[3]!.set }, moreAvailable: false });
      expect((await stack.store.readQueue('tpp-alpha', 10)).items.map((i) => i.jti)).toEqual([queued[2]!.jti, queued[3]!.jti]);
    });

    it('never returns a SET acked in the same request, even after its lease ran out', async () => {
      await drain('tpp-alpha');
      const [a] = await publish('tpp-alpha', 1);
      await stack.poll('tpp-alpha', { returnImmediately: true });
      await new Promise((r) => setTimeout(r, 2100));
      const res = await stack.poll('tpp-alpha', { returnImmediately: true, ack: [a!.jti] });
      expect(res.json()).toEqual({ sets: {}, moreAvailable: false });
    });
  });

  describe('RFC 8936 §2.4.4 setErrs', () => {
    it('records err, description and Content-Language, readable by producers, and stops delivery', async () => {
      await drain('tpp-alpha');
      const [bad] = await publish('tpp-alpha', 1);
      await stack.poll('tpp-alpha', { returnImmediately: true });
      const res = await stack.poll(
        'tpp-alpha',
        { returnImmediately: true, setErrs: { [bad!.jti]: { err: 'authentication_failed', description: 'The SET could not be authenticated' } } },
        { 'content-language': 'en-US' },
      );
      expect(res.json()).toEqual({ sets: {}, moreAvailable: false });
      expect(await stack.store.readRecord('tpp-alpha', bad!.jti)).toMatchObject({
        state: 'errored',
        err: 'authentication_failed',
        description: 'The SET could not be authenticated',
        lang: 'en-US',
        set: bad!.set,
      });
      await new Promise((r) => setTimeout(r, 2100));
      expect((await stack.poll('tpp-alpha', { returnImmediately: true })).json()).toEqual({ sets: {}, moreAvailable: false });
    });
  });

  describe('redelivery', () => {
    it('withholds an unacked SET for the lease, then delivers it again', async () => {
      await drain('tpp-alpha');
      const [a] = await publish('tpp-alpha', 1);
      expect((await stack.poll('tpp-alpha')).json()).toEqual({ sets: { [a!.jti]: a!.set }, moreAvailable: false });
      expect((await stack.poll('tpp-alpha')).json()).toEqual({ sets: {}, moreAvailable: false });
      await new Promise((r) => setTimeout(r, 2100));
      expect((await stack.poll('tpp-alpha')).json()).toEqual({ sets: { [a!.jti]: a!.set }, moreAvailable: false });
    });

    it('4 parallel pollers on one recipient receive each of 200 SETs exactly once within the lease', async () => {
      const concurrent = await startTestStack({ settings: validateSettings({ ...TEST_SETTINGS, leaseSeconds: 120, maxEvents: 10 }) });
      try {
        const all = new Set<string>();
        for (let i = 0; i < 200; i++) all.add((await concurrent.publisher.publish({ recipients: ['tpp-alpha'], events: EVENT })).jti);
        const seen: string[] = [];
        const poller = async () => {
          for (let idle = 0; idle < 2; ) {
            const res = await concurrent.poll('tpp-alpha', { returnImmediately: true });
            expect(res.status).toBe(200);
            const body = res.json<{ sets: Record<string, string>; moreAvailable: boolean }>();
            seen.push(...Object.keys(body.sets));
            idle = Object.keys(body.sets).length === 0 && !body.moreAvailable ? idle + 1 : 0;
          }
        };
        await Promise.all([poller(), poller(), poller(), poller()]);
        expect(seen).toHaveLength(200);
        expect(new Set(seen)).toEqual(all);
      } finally {
        await concurrent.stop();
      }
    });
  });

  describe('eviction', () => {
    it('never delivers an expired SET, whether or not DynamoDB has deleted it yet', async () => {
      await drain('tpp-alpha');
      await stack.publisher.publish({ recipients: ['tpp-alpha'], events: EVENT, ttlSeconds: 1 });
      const live = await stack.publisher.publish({ recipients: ['tpp-alpha'], events: EVENT });
      await new Promise((r) => setTimeout(r, 2100));
      // DynamoDB Local's TTL sweeper may or may not have deleted it by now; the read filter must not
      // depend on it (test/core/poll-service.int.test.ts › eviction proves the filter on a still-stored item).
      expect((await stack.poll('tpp-alpha')).json()).toEqual({ sets: { [live.jti]: live.set }, moreAvailable: false });
    });
  });

  describe('isolation', () => {
    it('two recipients cannot read, ack or report errors on each other\'s SETs', async () => {
      // Prepare
      await drain('tpp-alpha');
      await drain('tpp-beta');
      const [a] = await publish('tpp-alpha', 1);
      const [b1, b2] = await publish('tpp-beta', 2);
      // Act: alpha acks and reports beta's jtis; beta acks alpha's.
      const alpha = await stack.poll('tpp-alpha', { returnImmediately: true, ack: [b1!.jti], setErrs: { [b2!.jti]: { err: 'invalid_issuer' } } });
      const beta = await stack.poll('tpp-beta', { returnImmediately: true, maxEvents: 0, ack: [a!.jti] });
      // Assess
      expect(alpha.json()).toEqual({ sets: { [a!.jti]: a!.set }, moreAvailable: false });
      expect(beta.json()).toEqual({ sets: {}, moreAvailable: true });
      expect((await stack.store.readQueue('tpp-beta', 10)).items.map((i) => i.jti)).toEqual([b1!.jti, b2!.jti]);
      expect(await stack.store.readRecord('tpp-beta', b2!.jti)).toBeUndefined();
      expect((await stack.store.readQueue('tpp-alpha', 10)).items.map((i) => i.jti)).toEqual([a!.jti]);
      expect((await stack.poll('tpp-beta')).json()).toEqual({ sets: { [b1!.jti]: b1!.set, [b2!.jti]: b2!.set }, moreAvailable: false });
    });
  });

  describe('x-fapi-interaction-id', () => {
    it('echoes the request\'s own id, on success and on error', async () => {
      const ok = await stack.poll('tpp-alpha', { returnImmediately: true, maxEvents: 0 }, { 'x-fapi-interaction-id': 'c7f0a8f4-2f5e-4b53-9a6e-3c1f6c2a9d11' });
      const bad = await stack.poll('tpp-alpha', { maxEvents: -1 }, { 'x-fapi-interaction-id': 'c7f0a8f4-2f5e-4b53-9a6e-3c1f6c2a9d12' });
      expect(ok.headers['x-fapi-interaction-id']).toBe('c7f0a8f4-2f5e-4b53-9a6e-3c1f6c2a9d11');
      expect(bad.headers['x-fapi-interaction-id']).toBe('c7f0a8f4-2f5e-4b53-9a6e-3c1f6c2a9d12');
    });

    it('makes a new UUID when the request has none', async () => {
      const res = await stack.poll('tpp-alpha', { returnImmediately: true, maxEvents: 0 });
      expect(res.headers['x-fapi-interaction-id']).toMatch(UUID);
    });
  });

  describe('RFC 8936 §2.4.5 invalid requests', () => {
    it.each<[string, unknown, string]>([
      ['an array body', [], 'The request body must be a JSON object'],
      ['a string maxEvents', { maxEvents: '1' }, 'maxEvents must be a non-negative integer'],
      ['a negative maxEvents', { maxEvents: -1 }, 'maxEvents must be a non-negative integer'],
      ['a fractional maxEvents', { maxEvents: 0.5 }, 'maxEvents must be a non-negative integer'],
      ['a string returnImmediately', { returnImmediately: 'yes' }, 'returnImmediately must be a boolean'],
      ['a non-array ack', { ack: 'abc' }, 'ack must be an array of jti strings'],
      ['an empty ack entry', { ack: [''] }, 'ack entries must be strings of 1 to 128 characters'],
      ['a 129-char ack entry', { ack: ['x'.repeat(129)] }, 'ack entries must be strings of 1 to 128 characters'],
      ['a setErrs entry without err', { setErrs: { a: { description: 'd' } } }, 'setErrs err must be a string of 1 to 40 characters'],
      ['a 41-char err', { setErrs: { a: { err: 'e'.repeat(41) } } }, 'setErrs err must be a string of 1 to 40 characters'],
      ['a numeric description', { setErrs: { a: { err: 'e', description: 257 } } }, 'setErrs description must be a string'],
      ['a near-miss of maxEvents', { maxevents: 5 }, 'Unknown member "maxevents": did you mean "maxEvents"?'],
      ['a near-miss of ack', { acks: ['x'] }, 'Unknown member "acks": did you mean "ack"?'],
    ])('answers 400 invalid_request to %s', async (_name, body, description) => {
      const res = await stack.poll('tpp-alpha', body);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toBe('application/json');
      expect(res.json()).toEqual({ err: 'invalid_request', description });
    });

    it('answers 400 to a body that is not JSON, or not UTF-8', async () => {
      const notJson = await stack.poll('tpp-alpha', '{"maxEvents":');
      const notUtf8 = await stack.poll('tpp-alpha', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
      expect([notJson.status, notJson.json()]).toEqual([400, { err: 'invalid_request', description: 'The request body is not valid JSON' }]);
      expect([notUtf8.status, notUtf8.json()]).toEqual([400, { err: 'invalid_request', description: 'The request body is not valid UTF-8' }]);
    });

    it('answers 413 to a body over the documented limit', async () => {
      const res = await stack.poll('tpp-alpha', JSON.stringify({ ack: ['x'.repeat(100)] }).padEnd(1_048_577, ' '));
      expect(res.status).toBe(413);
      expect(res.json()).toEqual({ err: 'payload_too_large', description: 'The request body must be at most 1048576 bytes' });
    });

    it('answers 415 to a wrong or missing Content-Type', async () => {
      const wrong = await stack.poll('tpp-alpha', '{}', { 'content-type': 'text/plain' });
      const latin1 = await stack.poll('tpp-alpha', '{}', { 'content-type': 'application/json; charset=iso-8859-1' });
      expect([wrong.status, wrong.json()]).toEqual([415, { err: 'unsupported_media_type', description: 'Content-Type must be application/json' }]);
      expect([latin1.status, latin1.json()]).toEqual([415, { err: 'unsupported_media_type', description: 'The only supported charset is UTF-8' }]);
    });

    it('answers 405 with Allow: POST to other methods', async () => {
      const res = await httpsRequest(stack.config.pollUrl, { method: 'PUT', body: '{}', ...stack.client('tpp-alpha') });
      expect(res.status).toBe(405);
      expect(res.headers.allow).toBe('POST');
      expect(res.json()).toEqual({ err: 'method_not_allowed', description: 'Only POST is allowed on this resource' });
    });
  });
});

describe('Open Banking security profile', () => {
  const INVALID_TOKEN_BODY = { err: 'invalid_token', description: 'The access token is missing, malformed, expired or not valid here' };
  const challenge = 'Bearer realm="setpoll", error="invalid_token"';

  /** Signs a token with the local authorization server's real key, with claims of our choosing. */
  async function forgeWithAsKey(claims: Record<string, unknown>, expiresIn = 300): Promise<string> {
    const jwk = JSON.parse(readFileSync(join(stack.dir, 'as-key.json'), 'utf8')) as JWK;
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: jwk.alg!, kid: jwk.kid!, typ: 'at+jwt' })
      .setIssuer(`${new URL(stack.config.pollUrl).origin}/oauth`)
      .setAudience(new URL(stack.config.pollUrl).origin)
      .setIssuedAt(now - 10)
      .setExpirationTime(now + expiresIn)
      .sign(await importJWK(jwk, jwk.alg));
  }
  const alphaBinding = () => ({ client_id: 'tpp-alpha', cnf: { 'x5t#S256': thumbprintOfPem(stack.client('tpp-alpha').cert)!.x5tS256 } });

  describe('access tokens', () => {
    it.each([
      ['no Authorization header', ''],
      ['a Basic credential', 'Basic dGVzdDp0ZXN0'],
    ])('answers 401 with a challenge without an error code to %s: no token was sent (RFC 6750 §3.1)', async (_name, authorization) => {
      const res = await stack.poll('tpp-alpha', { returnImmediately: true }, { authorization });
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="setpoll"');
      expect(res.json()).toEqual(INVALID_TOKEN_BODY);
    });

    it.each<[string, () => Promise<string>]>([
      ['a malformed token', async () => 'Bearer abc.def.ghi'],
      ['an expired token', async () => `Bearer ${await forgeWithAsKey(alphaBinding(), -120)}`],
      ['tpp-beta\'s token with tpp-alpha\'s certificate', async () => `Bearer ${await stack.token('tpp-beta')}`],
      ['a token without certificate binding', async () => `Bearer ${await forgeWithAsKey({ client_id: 'tpp-alpha', scope: 'accounts' })}`],
    ])('answers 401 invalid_token with WWW-Authenticate to %s', async (_name, make) => {
      const res = await stack.poll('tpp-alpha', { returnImmediately: true }, { authorization: await make() });
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe(challenge);
      expect(res.json()).toEqual(INVALID_TOKEN_BODY);
    });

    it('answers 403 insufficient_scope to a bound token without a polling scope', async () => {
      const token = await forgeWithAsKey({ ...alphaBinding(), scope: 'openid' });
      const res = await stack.poll('tpp-alpha', { returnImmediately: true }, { authorization: `Bearer ${token}` });
      expect(res.status).toBe(403);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="setpoll", error="insufficient_scope", scope="accounts fundsconfirmations payments ssf.manage ssf.manage.poll"');
      expect(res.json()).toEqual({ err: 'insufficient_scope', description: 'The access token lacks a scope this endpoint requires' });
    });

    it('accepts each OB polling scope', async () => {
      for (const scope of ['accounts', 'fundsconfirmations', 'payments']) {
        const res = await stack.poll('tpp-alpha', { returnImmediately: true, maxEvents: 0 }, { authorization: `Bearer ${await stack.token('tpp-alpha', scope)}` });
        expect(res.status).toBe(200);
      }
    });
  });

  describe('token endpoint (RFC 6749 §4.4, RFC 8705 tls_client_auth)', () => {
    const askToken = (clientId: string, form: Record<string, string>, material = stack.client(clientId)) =>
      httpsRequest(stack.config.tokenUrl, {
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form).toString(),
        ...material,
      });

    it('issues a certificate-bound Bearer token', async () => {
      const res = await askToken('tpp-alpha', { grant_type: 'client_credentials', scope: 'accounts payments', client_id: 'tpp-alpha' });
      expect(res.status).toBe(200);
      const body = res.json<Record<string, unknown>>();
      expect(body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 300, scope: 'accounts payments' });
      const claims = JSON.parse(Buffer.from(String(body.access_token).split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
      expect(claims).toMatchObject({ client_id: 'tpp-alpha', sub: 'tpp-alpha', scope: 'accounts payments', cnf: { 'x5t#S256': alphaBinding().cnf['x5t#S256'] } });
    });

    it('answers invalid_client to an unregistered certificate, or a client_id that is not the certificate\'s', async () => {
      const stranger = await stack.mintClient('tpp-stranger', { register: false });
      const unknown = await askToken('tpp-stranger', { grant_type: 'client_credentials', client_id: 'tpp-stranger' }, stranger);
      const impostor = await askToken('tpp-alpha', { grant_type: 'client_credentials', client_id: 'tpp-beta' });
      for (const res of [unknown, impostor]) {
        expect(res.status).toBe(401);
        expect(res.json()).toEqual({ error: 'invalid_client', error_description: 'Client authentication failed' });
      }
    });

    it('answers invalid_scope to a scope the client may not have, and unsupported_grant_type to other grants', async () => {
      const scope = await askToken('tpp-alpha', { grant_type: 'client_credentials', scope: 'accounts admin' });
      const grant = await askToken('tpp-alpha', { grant_type: 'password', username: 'u', password: 'p' });
      expect([scope.status, scope.json()]).toEqual([400, { error: 'invalid_scope', error_description: 'A requested scope is not allowed for this client' }]);
      expect([grant.status, grant.json()]).toEqual([400, { error: 'unsupported_grant_type', error_description: 'Only client_credentials is supported' }]);
    });
  });

  describe('certificates', () => {
    it('a revoked certificate is refused with 403, even with a valid token', async () => {
      const gamma = await stack.mintClient('tpp-gamma');
      const token = await stack.token('tpp-gamma');
      expect((await stack.poll('tpp-gamma', { returnImmediately: true, maxEvents: 0 })).status).toBe(200);
      await stack.registry.revoke(gamma.fingerprint, 'key compromise');
      const res = await stack.poll('tpp-gamma', { returnImmediately: true, maxEvents: 0 }, { authorization: `Bearer ${token}` });
      expect(res.status).toBe(403);
      expect(res.json()).toEqual({ err: 'access_denied', description: 'The client certificate is not registered' });
    });

    it('rotation: a second certificate works beside the first, and the first stops once removed', async () => {
      const first = await stack.mintClient('tpp-delta');
      const firstMaterial = stack.client('tpp-delta');
      const firstToken = await stack.token('tpp-delta');
      const second = await stack.mintClient('tpp-delta');
      expect(second.fingerprint).not.toBe(first.fingerprint);
      expect((await stack.poll('tpp-delta', { returnImmediately: true, maxEvents: 0 })).status).toBe(200);
      expect(await stack.registry.remove('tpp-delta', first.fingerprint)).toBe(true);
      const old = await httpsRequest(stack.config.pollUrl, {
        headers: { 'content-type': 'application/json', authorization: `Bearer ${firstToken}` },
        body: '{"returnImmediately":true}',
        ...firstMaterial,
      });
      expect(old.status).toBe(403);
    });
  });
});
