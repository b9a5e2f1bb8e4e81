/**
 * The SetVerifier against the local stack's real key set, fetched over mutual TLS from /jwks.json,
 * and SETs signed for real: by the stack's publisher, with the stack's key and chosen claims, or
 * with a key the stack does not publish.
 */
import { randomUUID } from 'node:crypto';
import { UnsecuredJWT, type JSONWebKeySet, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { KeySetUnavailable, SetVerificationError } from '../../recipient/index.ts';
import { SetVerifier } from '../../recipient/set-verifier.ts';
import { mtlsTransport, type HttpTransport, type MtlsTransport } from '../../recipient/transport.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';
import { EVENT, claimsFor, foreignKey, sign, stackKey } from './helpers.ts';

let stack: TestStack;
let transport: MtlsTransport;
let verifier: SetVerifier;

beforeAll(async () => {
  stack = await startTestStack();
  const material = stack.client('tpp-alpha');
  transport = mtlsTransport({ cert: material.cert, key: material.key, ca: material.ca });
  verifier = new SetVerifier({ keys: new URL(stack.config.jwksUrl), transport, issuer: stack.config.issuer, audience: 'tpp-alpha' });
});
afterAll(async () => {
  transport?.close();
  await stack?.stop();
});

/** The RFC 8935 code and description verify() rejects with. */
async function failure(jti: string, set: string, by: SetVerifier = verifier): Promise<{ code: string; message: string; name: string }> {
  const error = await by.verify(jti, set).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SetVerificationError);
  const { code, message, name } = error as SetVerificationError;
  return { code, message, name };
}

describe('SetVerifier', () => {
  describe('verify', () => {
    it('answers the claims and header of a SET the stack published', async () => {
      // Prepare
      const { jti, set } = await stack.publisher.publish({ recipients: ['tpp-alpha'], events: EVENT, sub: 'user-1' });

      // Act
      const verified = await verifier.verify(jti, set);

      // Assess
      expect(verified.jti).toBe(jti);
      expect(verified.set).toBe(set);
      expect(verified.header).toEqual({ alg: 'PS256', kid: stack.publicJwk.kid, typ: 'secevent+jwt' });
      expect(verified.claims).toEqual({ iss: stack.config.issuer, iat: expect.any(Number), jti, aud: 'tpp-alpha', events: EVENT, sub: 'user-1' });
    });

    it('refuses a SET signed with a key the transmitter does not publish: invalid_key', async () => {
      // Prepare: a verifier of its own, so the key set is fetched for this SET (not from a cache still cooling down)
      const claims = claimsFor(stack, 'tpp-alpha');
      const set = await sign(claims, { key: await foreignKey('not-the-stacks-kid') });
      const fresh = new SetVerifier({ keys: new URL(stack.config.jwksUrl), transport, issuer: stack.config.issuer, audience: 'tpp-alpha' });

      // Act
      const result = await failure(claims.jti, set, fresh);

      // Assess
      expect(result).toEqual({
        name: 'InvalidSetKey',
        code: 'invalid_key',
        message: `No key of the transmitter matches SET "${claims.jti}" (kid "not-the-stacks-kid", alg "PS256")`,
      });
    });

    it("refuses a forgery under the transmitter's own kid: invalid_key (the signature does not verify)", async () => {
      // Prepare
      const claims = claimsFor(stack, 'tpp-alpha');
      const set = await sign(claims, { key: await foreignKey(stack.publicJwk.kid) });

      // Act
      const result = await failure(claims.jti, set);

      // Assess
      expect(result).toEqual({ name: 'InvalidSetKey', code: 'invalid_key', message: `The signature of SET "${claims.jti}" does not verify with the transmitter's key` });
    });

    it('refuses an algorithm outside the accepted ones: invalid_key', async () => {
      // Prepare
      const claims = claimsFor(stack, 'tpp-alpha');
      const set = await sign(claims, { key: { kty: 'oct', k: Buffer.alloc(32, 7).toString('base64url'), alg: 'HS256', kid: 'shared' } });

      // Act
      const result = await failure(claims.jti, set);

      // Assess
      expect(result).toEqual({ name: 'InvalidSetKey', code: 'invalid_key', message: `SET "${claims.jti}" is signed with "HS256", which this recipient does not accept` });
    });

    it('refuses an unsecured SET (alg none): authentication_failed', async () => {
      // Prepare
      const claims = claimsFor(stack, 'tpp-alpha');
      const set = new UnsecuredJWT(claims).encode();

      // Act
      const result = await failure(claims.jti, set);

      // Assess
      expect(result).toEqual({ name: 'SetAuthenticationFailed', code: 'authentication_failed', message: `SET "${claims.jti}" is not signed (alg "none")` });
    });

    it('refuses a SET of another issuer: invalid_issuer', async () => {
      // Prepare
      const claims = claimsFor(stack, 'tpp-alpha', { iss: 'https://impostor.example' });
      const set = await sign(claims, { key: stackKey(stack) });

      // Act
      const result = await failure(claims.jti, set);

      // Assess
      expect(result).toEqual({ name: 'InvalidSetIssuer', code: 'invalid_issuer', message: `SET "${claims.jti}" is from an unexpected issuer` });
    });

    it('refuses a SET addressed to another recipient: invalid_audience', async () => {
      // Prepare
      const claims = claimsFor(stack, 'tpp-beta');
      const set = await sign(claims, { key: stackKey(stack) });

      // Act
      const result = await failure(claims.jti, set);

      // Assess
      expect(result).toEqual({ name: 'InvalidSetAudience', code: 'invalid_audience', message: `SET "${claims.jti}" is not addressed to this recipient (aud)` });
    });

    it('refuses a SET without typ, or with another typ: invalid_request', async () => {
      // Prepare
      const missing = claimsFor(stack, 'tpp-alpha');
      const plainJwt = claimsFor(stack, 'tpp-alpha');
      const withoutTyp = await sign(missing, { key: stackKey(stack), header: { typ: undefined } });
      const withJwtTyp = await sign(plainJwt, { key: stackKey(stack), header: { typ: 'JWT' } });

      // Act
      const results = [await failure(missing.jti, withoutTyp), await failure(plainJwt.jti, withJwtTyp)];

      // Assess
      expect(results).toEqual([
        { name: 'MalformedSet', code: 'invalid_request', message: `SET "${missing.jti}" does not have the JWS header typ "secevent+jwt"` },
        { name: 'MalformedSet', code: 'invalid_request', message: `SET "${plainJwt.jti}" does not have the JWS header typ "secevent+jwt"` },
      ]);
    });

    it('accepts typ application/secevent+jwt (the media type form)', async () => {
      // Prepare
      const claims = claimsFor(stack, 'tpp-alpha');
      const set = await sign(claims, { key: stackKey(stack), header: { typ: 'application/secevent+jwt' } });

      // Act
      const verified = await verifier.verify(claims.jti, set);

      // Assess
      expect(verified.header.typ).toBe('application/secevent+jwt');
    });

    it('refuses iat in the future beyond the clock tolerance (invalid_request) and accepts it within', async () => {
      // Prepare
      const now = Math.floor(Date.now() / 1000);
      const future = claimsFor(stack, 'tpp-alpha', { iat: now + 3600 });
      const skewed = claimsFor(stack, 'tpp-alpha', { iat: now + 10 });
      const [futureSet, skewedSet] = await Promise.all([sign(future, { key: stackKey(stack) }), sign(skewed, { key: stackKey(stack) })]);

      // Act
      const result = await failure(future.jti, futureSet);
      const accepted = await verifier.verify(skewed.jti, skewedSet);

      // Assess
      expect(result).toEqual({ name: 'MalformedSet', code: 'invalid_request', message: expect.stringMatching(/^SET "[^"]+" was issued 3(59\d|600) s in the future \(iat\)$/) });
      expect(accepted.claims.iat).toBe(now + 10);
    });

    it('refuses a SET whose jti claim is not the jti it was delivered under: invalid_request', async () => {
      // Prepare
      const claims = claimsFor(stack, 'tpp-alpha');
      const set = await sign(claims, { key: stackKey(stack) });
      const other = randomUUID();

      // Act
      const result = await failure(other, set);

      // Assess
      expect(result).toEqual({ name: 'MalformedSet', code: 'invalid_request', message: `SET "${other}" carries another jti claim` });
    });

    it('refuses a SET without events, or without jti or iat: invalid_request', async () => {
      // Prepare
      const noEvents = claimsFor(stack, 'tpp-alpha', { events: {} });
      const noIat = claimsFor(stack, 'tpp-alpha', { iat: undefined });
      const [noEventsSet, noIatSet] = await Promise.all([sign(noEvents, { key: stackKey(stack) }), sign(noIat, { key: stackKey(stack) })]);

      // Act
      const results = [await failure(noEvents.jti, noEventsSet), await failure(noIat.jti, noIatSet)];

      // Assess
      expect(results).toEqual([
        { name: 'MalformedSet', code: 'invalid_request', message: `SET "${noEvents.jti}" has no events object of event-type URI → object (RFC 8417 §2.2)` },
        { name: 'MalformedSet', code: 'invalid_request', message: `SET "${noIat.jti}": missing iat` },
      ]);
    });

    it('refuses what is not a compact JWS: invalid_request', async () => {
      // Act
      const results = [await failure('j1', 'not-a-jws'), await failure('j2', 'e30.e30')];

      // Assess
      expect(results).toEqual([
        { name: 'MalformedSet', code: 'invalid_request', message: 'SET "j1" is not a compact JWS' },
        { name: 'MalformedSet', code: 'invalid_request', message: 'SET "j2" is not a compact JWS' },
      ]);
    });

    it('shows the Data Provider a SET names, and accepts only the providers a recipient names when it names them: access_denied', async () => {
      // Prepare
      const named = (providers?: readonly string[], acceptDirect?: boolean) =>
        new SetVerifier({
          keys: new URL(stack.config.jwksUrl),
          transport,
          issuer: stack.config.issuer,
          audience: 'tpp-alpha',
          ...(providers ? { providers } : {}),
          ...(acceptDirect === undefined ? {} : { acceptDirect }),
        });
      const fromX = claimsFor(stack, 'tpp-alpha', { data_provider: 'provider-x' });
      const fromY = claimsFor(stack, 'tpp-alpha', { data_provider: 'provider-y' });
      const direct = claimsFor(stack, 'tpp-alpha');
      const bad = claimsFor(stack, 'tpp-alpha', { data_provider: 42 });
      const [xSet, ySet, directSet, badSet] = await Promise.all([fromX, fromY, direct, bad].map((c) => sign(c, { key: stackKey(stack) })));

      // Act
      const anyProvider = await verifier.verify(fromX.jti, xSet!);
      const onlyX = named(['provider-x']);
      const acceptedX = await onlyX.verify(fromX.jti, xSet!);
      const refusedY = await failure(fromY.jti, ySet!, onlyX);
      const directByDefault = await onlyX.verify(direct.jti, directSet!);
      const directRefused = await failure(direct.jti, directSet!, named(['provider-x'], false));
      const malformed = await failure(bad.jti, badSet!);

      // Assess
      expect([anyProvider.provider, acceptedX.provider, directByDefault.provider]).toEqual(['provider-x', 'provider-x', undefined]);
      expect(anyProvider.claims.data_provider).toBe('provider-x');
      expect(refusedY).toEqual({ name: 'SetAccessDenied', code: 'access_denied', message: `SET "${fromY.jti}" is from the Data Provider "provider-y", which this recipient does not accept` });
      expect(directRefused).toEqual({ name: 'SetAccessDenied', code: 'access_denied', message: `SET "${direct.jti}" names no Data Provider, and this recipient accepts only providers' SETs` });
      expect(malformed).toEqual({ name: 'MalformedSet', code: 'invalid_request', message: `SET "${bad.jti}" has a data_provider claim that is not a non-empty string` });
    });

    it('refuses an event type the recipient did not subscribe to, when it names its types: access_denied', async () => {
      // Prepare
      const strict = new SetVerifier({
        keys: new URL(stack.config.jwksUrl),
        transport,
        issuer: stack.config.issuer,
        audience: 'tpp-alpha',
        eventTypes: ['https://schemas.openid.net/secevent/caep/event-type/session-revoked'],
      });
      const { jti, set } = await stack.publisher.publish({ recipients: ['tpp-alpha'], events: EVENT });

      // Act
      const result = await failure(jti, set, strict);

      // Assess
      expect(result).toEqual({
        name: 'SetAccessDenied',
        code: 'access_denied',
        message: `SET "${jti}" carries the event type https://schemas.openid.net/secevent/caep/event-type/credential-change, which this recipient did not subscribe to`,
      });
    });

    it("does not blame a SET signed with a key rotated in during the key set's 30 s cooldown: KeySetUnavailable, then verified once the cooldown is over", async () => {
      // Prepare: a verifier whose key set is the stack's until the transmitter rotates a new key in
      const rotatedIn = await foreignKey('rotated-in');
      const { d, p, q, dp, dq, qi, ...publicRotatedIn } = rotatedIn;
      let served: JSONWebKeySet | undefined;
      let fetches = 0;
      const rotating: HttpTransport = async (request) => {
        if (request.method !== 'GET') return transport(request);
        fetches++;
        return served ? { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(served) } : transport(request);
      };
      const rotatingVerifier = new SetVerifier({ keys: new URL(stack.config.jwksUrl), transport: rotating, issuer: stack.config.issuer, audience: 'tpp-alpha' });
      const before = await stack.publisher.publish({ recipients: ['tpp-alpha'], events: EVENT });
      await rotatingVerifier.verify(before.jti, before.set);
      served = { keys: [stack.publicJwk as JWK, publicRotatedIn] };
      const claims = claimsFor(stack, 'tpp-alpha');
      const set = await sign(claims, { key: rotatedIn });

      // Act: within the cooldown of the first fetch, then 31 s later (jose's clock)
      const during = await rotatingVerifier.verify(claims.jti, set).catch((e: unknown) => e);
      const fetchesDuring = fetches;
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(Date.now() + 31_000);
      let after;
      try {
        after = await rotatingVerifier.verify(claims.jti, set);
      } finally {
        vi.useRealTimers();
      }

      // Assess
      expect(during).toBeInstanceOf(KeySetUnavailable);
      expect(during).toMatchObject({ code: 'key_set_unavailable', retryable: true });
      expect((during as Error).message).toBe(
        `No key of the transmitter's key set at ${stack.config.jwksUrl} matches kid "rotated-in" and it was fetched less than 30 s ago: it is fetched again after that`,
      );
      expect(fetchesDuring).toBe(1);
      expect(after.header.kid).toBe('rotated-in');
      expect(after.jti).toBe(claims.jti);
      expect(fetches).toBe(2);
    });

    it('blames an unreachable key set on the key set, not the SET: KeySetUnavailable, retryable', async () => {
      // Prepare
      const unreachable = new SetVerifier({ keys: new URL('https://127.0.0.1:9/jwks.json'), transport, issuer: stack.config.issuer, audience: 'tpp-alpha' });
      const { jti, set } = await stack.publisher.publish({ recipients: ['tpp-alpha'], events: EVENT });

      // Act
      const error = await unreachable.verify(jti, set).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(KeySetUnavailable);
      expect(error).toMatchObject({ code: 'key_set_unavailable', retryable: true });
      expect((error as Error).message).toMatch(/^The transmitter's key set at https:\/\/127\.0\.0\.1:9\/jwks\.json is unavailable: /);
    });
  });

  describe('constructor', () => {
    it('refuses symmetric or unsecured algorithms, and an empty issuer or audience (TypeError)', () => {
      // Prepare
      const keys = { keys: [stack.publicJwk] };
      const base = { keys, issuer: 'https://i.example', audience: 'a' };

      // Act / Assess
      expect(() => new SetVerifier({ ...base, algorithms: ['HS256'] })).toThrow(TypeError);
      expect(() => new SetVerifier({ ...base, algorithms: ['none'] })).toThrow(TypeError);
      expect(() => new SetVerifier({ ...base, issuer: [] })).toThrow(TypeError);
      expect(() => new SetVerifier({ ...base, audience: '' })).toThrow(TypeError);
      expect(() => new SetVerifier(base)).not.toThrow();
    });
  });
});
