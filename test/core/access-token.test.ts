import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, UnsecuredJWT, createLocalJWKSet, createRemoteJWKSet, exportJWK, generateKeyPair, type CryptoKey, type JWTPayload, type RemoteJWKSetOptions } from 'jose';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AccessTokenVerifier } from '../../lambdas/core/access-token.ts';
import type { AuthenticatedClient } from '../../lambdas/core/client-authenticator.ts';

const NOW = 1_790_000_000;
const ISSUER = 'https://as.example';
const AUDIENCE = 'https://events.example';
const thumb = (seed: string) => {
  const digest = createHash('sha256').update(seed).digest();
  return { hex: digest.toString('hex'), x5tS256: digest.toString('base64url') };
};
const ALPHA: AuthenticatedClient = { clientId: 'tpp-alpha', thumbprint: thumb('alpha-cert') };
const BETA: AuthenticatedClient = { clientId: 'tpp-beta', thumbprint: thumb('beta-cert') };

let sign: (claims: JWTPayload, alg?: 'ES256' | 'PS256' | 'RS256') => Promise<string>;
let signWithStranger: (claims: JWTPayload) => Promise<string>;
let verifier: AccessTokenVerifier;

const claimsFor = (client: AuthenticatedClient, extra: JWTPayload = {}): JWTPayload => ({
  iss: ISSUER,
  aud: AUDIENCE,
  iat: NOW - 10,
  exp: NOW + 300,
  client_id: client.clientId,
  scope: 'accounts',
  cnf: { 'x5t#S256': client.thumbprint.x5tS256 },
  ...extra,
});

/** A JWKS of one ES256 public key, as the text a JWKS endpoint serves. */
const jwksText = async (publicKey: CryptoKey, kid: string): Promise<string> => JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), alg: 'ES256', kid }] });

/**
 * A JWKS served over HTTP on a local port (the text `jwks()` gives at each request, the requests
 * counted), and a verifier that fetches it with jose's createRemoteJWKSet.
 */
async function servedJwks(jwks: () => string, options: RemoteJWKSetOptions = {}) {
  let fetches = 0;
  const server = createServer((_req, res) => {
    fetches++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(jwks());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const verifier = new AccessTokenVerifier({
    keys: createRemoteJWKSet(new URL(`http://127.0.0.1:${port}/jwks.json`), options),
    issuer: ISSUER,
    audience: AUDIENCE,
    realm: 'events.example',
    now: () => NOW * 1000,
  });
  return { verifier, fetches: () => fetches, close: () => void server.close() };
}

beforeAll(async () => {
  const keys = await Promise.all((['ES256', 'PS256', 'RS256'] as const).map(async (alg) => ({ alg, ...(await generateKeyPair(alg, { extractable: true })) })));
  const stranger = await generateKeyPair('ES256');
  const jwks = { keys: await Promise.all(keys.map(async (k) => ({ ...(await exportJWK(k.publicKey)), alg: k.alg, kid: k.alg }))) };
  sign = (claims, alg = 'ES256') =>
    new SignJWT(claims).setProtectedHeader({ alg, kid: alg, typ: 'at+jwt' }).sign(keys.find((k) => k.alg === alg)!.privateKey);
  signWithStranger = (claims) => new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'ES256' }).sign(stranger.privateKey);
  verifier = new AccessTokenVerifier({
    keys: createLocalJWKSet(jwks),
    issuer: ISSUER,
    audience: AUDIENCE,
    realm: 'events.example',
    now: () => NOW * 1000,
  });
});

const INVALID_TOKEN = {
  statusCode: 401,
  code: 'invalid_token',
  headers: { 'www-authenticate': 'Bearer realm="events.example", error="invalid_token"' },
};

async function refusal(authorization: string | undefined, client = ALPHA) {
  try {
    await verifier.verify(authorization, client);
  } catch (error) {
    return error;
  }
  throw new Error('the token was accepted');
}

describe('AccessTokenVerifier', () => {
  describe('verify', () => {
    it.each(['ES256', 'PS256', 'RS256'] as const)('accepts a certificate-bound %s token with a polling scope', async (alg) => {
      const token = await sign(claimsFor(ALPHA, { scope: 'openid payments' }), alg);
      await expect(verifier.verify(`Bearer ${token}`, ALPHA)).resolves.toEqual({ clientId: 'tpp-alpha', scopes: ['openid', 'payments'] });
    });

    it('accepts the Bearer scheme in any case (RFC 9110 §11.1)', async () => {
      const token = await sign(claimsFor(ALPHA));
      await expect(verifier.verify(`bearer ${token}`, ALPHA)).resolves.toMatchObject({ clientId: 'tpp-alpha' });
    });

    it('accepts an scp array and a token just inside the clock tolerance', async () => {
      const token = await sign(claimsFor(ALPHA, { scope: undefined, scp: ['fundsconfirmations'], exp: NOW - 20 }));
      await expect(verifier.verify(`Bearer ${token}`, ALPHA)).resolves.toEqual({ clientId: 'tpp-alpha', scopes: ['fundsconfirmations'] });
    });

    it.each<[string, string | undefined]>([
      ['a missing Authorization header', undefined],
      ['an empty Authorization header', ''],
      ['a Basic credential', 'Basic dXNlcjpwYXNz'],
    ])('refuses %s with 401 invalid_token and a challenge without an error code (RFC 6750 §3.1)', async (_name, authorization) => {
      const error = await refusal(authorization);
      expect(error).toMatchObject({ ...INVALID_TOKEN, headers: { 'www-authenticate': 'Bearer realm="events.example"' } });
    });

    it.each<[string, () => Promise<string | undefined>]>([
      ['the Bearer scheme without a token', async () => 'Bearer'],
      ['a malformed token', async () => 'Bearer not.a.jwt'],
      ['two Authorization headers joined', async () => `Bearer ${await sign(claimsFor(ALPHA))},Bearer x`],
      ['an expired token', async () => `Bearer ${await sign(claimsFor(ALPHA, { exp: NOW - 31 }))}`],
      ['a token not yet valid', async () => `Bearer ${await sign(claimsFor(ALPHA, { nbf: NOW + 60 }))}`],
      ['a token issued in the future', async () => `Bearer ${await sign(claimsFor(ALPHA, { iat: NOW + 120 }))}`],
      ['a token without exp', async () => `Bearer ${await sign(claimsFor(ALPHA, { exp: undefined }))}`],
      ['another issuer', async () => `Bearer ${await sign(claimsFor(ALPHA, { iss: 'https://evil.example' }))}`],
      ['another audience', async () => `Bearer ${await sign(claimsFor(ALPHA, { aud: 'https://other.example' }))}`],
      ['a signature by an unknown key', async () => `Bearer ${await signWithStranger(claimsFor(ALPHA))}`],
      ['alg none', async () => `Bearer ${new UnsecuredJWT(claimsFor(ALPHA)).encode()}`],
      ['HMAC', async () => `Bearer ${await new SignJWT(claimsFor(ALPHA)).setProtectedHeader({ alg: 'HS256', kid: 'ES256' }).sign(randomBytes(32))}`],
      ['no cnf claim', async () => `Bearer ${await sign(claimsFor(ALPHA, { cnf: undefined }))}`],
      ['a token bound to another certificate (RFC 8705 §3)', async () => `Bearer ${await sign(claimsFor(BETA, { client_id: 'tpp-alpha' }))}`],
      ['a token issued to another client', async () => `Bearer ${await sign(claimsFor(ALPHA, { client_id: 'tpp-beta' }))}`],
    ])('refuses %s with 401 invalid_token and no detail', async (_name, make) => {
      const error = await refusal(await make());
      expect(error).toMatchObject(INVALID_TOKEN);
      expect((error as Error).message).toBe('The access token is missing, malformed, expired or not valid here');
    });

    it('makes a token stolen from one client useless with another client\'s certificate', async () => {
      const alphaToken = await sign(claimsFor(ALPHA));
      expect(await refusal(`Bearer ${alphaToken}`, BETA)).toMatchObject(INVALID_TOKEN);
    });

    it('refuses a valid token without a polling scope with 403 insufficient_scope', async () => {
      const error = await refusal(`Bearer ${await sign(claimsFor(ALPHA, { scope: 'openid notifications:write' }))}`);
      expect(error).toMatchObject({
        statusCode: 403,
        code: 'insufficient_scope',
        headers: { 'www-authenticate': 'Bearer realm="events.example", error="insufficient_scope", scope="accounts fundsconfirmations payments"' },
      });
    });
  });

  describe('constructor', () => {
    it('throws TypeError without issuer or audience', () => {
      expect(() => new AccessTokenVerifier({ keys: createLocalJWKSet({ keys: [] }), issuer: '', audience: AUDIENCE, realm: 'r' })).toThrow(TypeError);
    });
  });
});

describe('AccessTokenVerifier', () => {
  describe('warmUp', () => {
    it('fetches a remote JWKS once, ahead of verify, which then reuses it', async () => {
      // Prepare: a JWKS served over HTTP, counting fetches.
      const pair = await generateKeyPair('ES256', { extractable: true });
      const jwks = await jwksText(pair.publicKey, 'k1');
      const { verifier: remote, fetches, close } = await servedJwks(() => jwks);
      const token = await new SignJWT(claimsFor(ALPHA)).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(pair.privateKey);
      try {
        // Act: warm up (twice), and wait for the fetch without calling verify.
        remote.warmUp();
        remote.warmUp();
        for (let waited = 0; fetches() === 0 && waited < 2000; waited += 10) await new Promise((r) => setTimeout(r, 10));
        const fetchedAhead = fetches();
        await new Promise((r) => setTimeout(r, 50));
        const verified = await remote.verify(`Bearer ${token}`, ALPHA);
        remote.warmUp();
        // Assess
        expect(fetchedAhead).toBe(1);
        expect(verified).toEqual({ clientId: 'tpp-alpha', scopes: ['accounts'] });
        expect(fetches()).toBe(1);
      } finally {
        close();
      }
    });

    it('does nothing with a local key set', () => {
      expect(() => verifier.warmUp()).not.toThrow();
    });
  });
});

describe('AccessTokenVerifier', () => {
  describe('verify (remembered tokens)', () => {
    async function counting() {
      const pair = await generateKeyPair('ES256', { extractable: true });
      const local = createLocalJWKSet({ keys: [{ ...(await exportJWK(pair.publicKey)), alg: 'ES256', kid: 'k' }] });
      const clock = { now: NOW * 1000 };
      let lookups = 0;
      const counted = new AccessTokenVerifier({
        keys: (header, token) => {
          lookups++;
          return local(header, token);
        },
        issuer: ISSUER,
        audience: AUDIENCE,
        realm: 'events.example',
        now: () => clock.now,
      });
      const tokenFor = (client: AuthenticatedClient, extra: JWTPayload = {}) =>
        new SignJWT(claimsFor(client, extra)).setProtectedHeader({ alg: 'ES256', kid: 'k' }).sign(pair.privateKey);
      return { counted, tokenFor, clock, lookups: () => lookups };
    }

    afterEach(() => vi.restoreAllMocks());

    it('checks the signature of a token once, and binding, client, scope and its key on every request', async () => {
      // Prepare
      const { counted, tokenFor, lookups } = await counting();
      const token = await tokenFor(ALPHA);
      const signatureChecks = vi.spyOn(crypto.subtle, 'verify');
      // Act
      const first = await counted.verify(`Bearer ${token}`, ALPHA);
      const second = await counted.verify(`Bearer ${token}`, ALPHA);
      const otherCertificate = await counted.verify(`Bearer ${token}`, { ...ALPHA, thumbprint: thumb('another-cert') }).catch((e: unknown) => e);
      const otherScope = await counted.verify(`Bearer ${token}`, ALPHA, ['payments']).catch((e: unknown) => e);
      // Assess
      expect(first).toEqual({ clientId: 'tpp-alpha', scopes: ['accounts'] });
      expect(second).toEqual(first);
      expect(otherCertificate).toMatchObject(INVALID_TOKEN);
      expect(otherScope).toMatchObject({ statusCode: 403, code: 'insufficient_scope' });
      expect(signatureChecks).toHaveBeenCalledTimes(1);
      expect(lookups()).toBe(4);
    });

    it('drops a remembered token when its key leaves the served JWKS, and accepts it again if the key returns', async () => {
      // Prepare: a JWKS served over HTTP that jose refetches after 50 ms.
      const pair = await generateKeyPair('ES256', { extractable: true });
      const other = await generateKeyPair('ES256', { extractable: true });
      const withKey = await jwksText(pair.publicKey, 'k1');
      const withoutKey = await jwksText(other.publicKey, 'k2');
      let served = withKey;
      const { verifier: remote, close } = await servedJwks(() => served, { cacheMaxAge: 50, cooldownDuration: 0 });
      const token = await new SignJWT(claimsFor(ALPHA)).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(pair.privateKey);
      try {
        // Act
        const before = await remote.verify(`Bearer ${token}`, ALPHA);
        served = withoutKey;
        await new Promise((r) => setTimeout(r, 80));
        const afterRemoval = await remote.verify(`Bearer ${token}`, ALPHA).catch((e: unknown) => e);
        served = withKey;
        await new Promise((r) => setTimeout(r, 80));
        const afterReturn = await remote.verify(`Bearer ${token}`, ALPHA);
        // Assess
        expect(before).toEqual({ clientId: 'tpp-alpha', scopes: ['accounts'] });
        expect(afterRemoval).toMatchObject(INVALID_TOKEN);
        expect(afterReturn).toEqual(before);
      } finally {
        close();
      }
    });

    it('refuses a remembered token once it expires (exp plus the clock tolerance)', async () => {
      // Prepare
      const { counted, tokenFor, clock } = await counting();
      const token = await tokenFor(ALPHA, { exp: NOW + 60 });
      await counted.verify(`Bearer ${token}`, ALPHA);
      // Act
      clock.now = (NOW + 60 + 29) * 1000;
      const stillValid = await counted.verify(`Bearer ${token}`, ALPHA);
      clock.now = (NOW + 60 + 30) * 1000;
      const expired = await counted.verify(`Bearer ${token}`, ALPHA).catch((e: unknown) => e);
      // Assess
      expect(stillValid.clientId).toBe('tpp-alpha');
      expect(expired).toMatchObject(INVALID_TOKEN);
    });
  });
});

describe('AccessTokenVerifier', () => {
  describe('verify (at+jwt and lifetime options)', () => {
    let pair: Awaited<ReturnType<typeof generateKeyPair>>;
    let keys: ReturnType<typeof createLocalJWKSet>;
    const make = (options: { requireAtJwt?: boolean; maxLifetimeSeconds?: number }) =>
      new AccessTokenVerifier({ keys, issuer: ISSUER, audience: AUDIENCE, realm: 'events.example', now: () => NOW * 1000, ...options });
    const token = (typ: string | undefined, extra: JWTPayload = {}) =>
      new SignJWT(claimsFor(ALPHA, extra)).setProtectedHeader({ alg: 'ES256', kid: 'k', ...(typ === undefined ? {} : { typ }) }).sign(pair.privateKey);

    beforeAll(async () => {
      pair = await generateKeyPair('ES256', { extractable: true });
      keys = createLocalJWKSet({ keys: [{ ...(await exportJWK(pair.publicKey)), alg: 'ES256', kid: 'k' }] });
    });

    it('with requireAtJwt accepts typ at+jwt and application/at+jwt, and refuses JWT, secevent+jwt or no typ', async () => {
      const strict = make({ requireAtJwt: true });
      await expect(strict.verify(`Bearer ${await token('at+jwt')}`, ALPHA)).resolves.toEqual({ clientId: 'tpp-alpha', scopes: ['accounts'] });
      await expect(strict.verify(`Bearer ${await token('application/at+jwt')}`, ALPHA)).resolves.toEqual({ clientId: 'tpp-alpha', scopes: ['accounts'] });
      for (const typ of ['JWT', 'secevent+jwt', undefined]) {
        await expect(strict.verify(`Bearer ${await token(typ)}`, ALPHA)).rejects.toMatchObject(INVALID_TOKEN);
      }
    });

    it('without requireAtJwt accepts a token with no typ', async () => {
      await expect(make({}).verify(`Bearer ${await token(undefined)}`, ALPHA)).resolves.toEqual({ clientId: 'tpp-alpha', scopes: ['accounts'] });
    });

    it('with maxLifetimeSeconds refuses a token whose exp - iat is longer, and accepts one exactly that long', async () => {
      const bounded = make({ maxLifetimeSeconds: 600 });
      await expect(bounded.verify(`Bearer ${await token('at+jwt', { iat: NOW - 10, exp: NOW + 590 })}`, ALPHA)).resolves.toMatchObject({ clientId: 'tpp-alpha' });
      await expect(bounded.verify(`Bearer ${await token('at+jwt', { iat: NOW - 10, exp: NOW + 591 })}`, ALPHA)).rejects.toMatchObject(INVALID_TOKEN);
      await expect(bounded.verify(`Bearer ${await token('at+jwt', { iat: NOW - 10, exp: NOW + 86_400 * 365 })}`, ALPHA)).rejects.toMatchObject(INVALID_TOKEN);
    });

    it('refuses a maxLifetimeSeconds that is not a positive whole number', () => {
      for (const maxLifetimeSeconds of [0, -1, 1.5, Number.NaN]) expect(() => make({ maxLifetimeSeconds })).toThrow(TypeError);
    });
  });
});
