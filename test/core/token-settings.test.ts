import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { SignJWT, exportJWK, generateKeyPair, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProgrammerError } from '../../lambdas/core/errors.ts';
import { tokenVerifierFromEnv } from '../../lambdas/handlers/wiring.ts';

const digest = createHash('sha256').update('cert').digest();
const CLIENT = { clientId: 'tpp-alpha', thumbprint: { hex: digest.toString('hex'), x5tS256: digest.toString('base64url') } };

describe('tokenVerifierFromEnv', () => {
  let server: Server;
  let env: NodeJS.ProcessEnv;
  let sign: (typ: string | undefined, lifetime: number) => Promise<string>;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), alg: 'ES256', kid: 'k' }] });
    server = createServer((_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end(jwks));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    env = { SETPOLL_TOKEN_JWKS_URL: `http://127.0.0.1:${port}/jwks.json`, SETPOLL_TOKEN_ISSUER: 'https://as.example', SETPOLL_TOKEN_AUDIENCE: 'https://events.example' };
    sign = (typ, lifetime) => {
      const iat = Math.floor(Date.now() / 1000);
      const claims: JWTPayload = { client_id: 'tpp-alpha', scope: 'accounts', cnf: { 'x5t#S256': CLIENT.thumbprint.x5tS256 }, iat, exp: iat + lifetime };
      return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k', ...(typ ? { typ } : {}) }).setIssuer('https://as.example').setAudience('https://events.example').sign(pair.privateKey);
    };
  });
  afterAll(() => void server.close());

  it('applies SETPOLL_TOKEN_REQUIRE_AT_JWT and SETPOLL_TOKEN_MAX_LIFETIME_SECONDS, and neither by default', async () => {
    const strict = tokenVerifierFromEnv({ ...env, SETPOLL_TOKEN_REQUIRE_AT_JWT: 'true', SETPOLL_TOKEN_MAX_LIFETIME_SECONDS: '300' }, 'r');
    const lenient = tokenVerifierFromEnv(env, 'r');
    const unlimited = tokenVerifierFromEnv({ ...env, SETPOLL_TOKEN_REQUIRE_AT_JWT: 'false', SETPOLL_TOKEN_MAX_LIFETIME_SECONDS: '0' }, 'r');
    const refused = { statusCode: 401, code: 'invalid_token' };

    await expect(strict.verify(`Bearer ${await sign('at+jwt', 300)}`, CLIENT)).resolves.toEqual({ clientId: 'tpp-alpha', scopes: ['accounts'] });
    await expect(strict.verify(`Bearer ${await sign(undefined, 300)}`, CLIENT)).rejects.toMatchObject(refused);
    await expect(strict.verify(`Bearer ${await sign('at+jwt', 301)}`, CLIENT)).rejects.toMatchObject(refused);
    await expect(lenient.verify(`Bearer ${await sign(undefined, 86_400)}`, CLIENT)).resolves.toEqual({ clientId: 'tpp-alpha', scopes: ['accounts'] });
    await expect(unlimited.verify(`Bearer ${await sign(undefined, 86_400)}`, CLIENT)).resolves.toEqual({ clientId: 'tpp-alpha', scopes: ['accounts'] });
  });

  it.each([
    [{ SETPOLL_TOKEN_REQUIRE_AT_JWT: 'yes' }, 'SETPOLL_TOKEN_REQUIRE_AT_JWT must be true or false'],
    [{ SETPOLL_TOKEN_MAX_LIFETIME_SECONDS: '-1' }, 'SETPOLL_TOKEN_MAX_LIFETIME_SECONDS must be a whole number of seconds (0: no limit)'],
    [{ SETPOLL_TOKEN_MAX_LIFETIME_SECONDS: '5m' }, 'SETPOLL_TOKEN_MAX_LIFETIME_SECONDS must be a whole number of seconds (0: no limit)'],
  ])('refuses to start with %j', (extra, message) => {
    expect(() => tokenVerifierFromEnv({ ...env, ...extra }, 'r')).toThrow(new ProgrammerError(message));
  });
});
