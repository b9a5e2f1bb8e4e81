/**
 * ClientCredentialsTokenSource against the local authorization server: client credentials over
 * mutual TLS (RFC 8705 tls_client_auth), the token bound to the certificate, cached and refreshed
 * before expires_in runs out.
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { thumbprintOfPem } from '../../lambdas/core/certificate.ts';
import { TokenRequestFailed } from '../../recipient/errors.ts';
import { ClientCredentialsTokenSource } from '../../recipient/token-source.ts';
import { mtlsTransport, type MtlsTransport } from '../../recipient/transport.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';
import { Recorder, injectTokenFaults, oauthErrorAnswer } from './helpers.ts';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack?.stop());

function transportOf(clientId: string): MtlsTransport {
  const material = stack.client(clientId);
  const transport = mtlsTransport({ cert: material.cert, key: material.key, ca: material.ca });
  stack.closeOnStop(transport);
  return transport;
}

describe('ClientCredentialsTokenSource', () => {
  describe('token', () => {
    it('gets a Bearer token bound to the client certificate, asking with tls_client_auth', async () => {
      // Prepare
      const recorder = new Recorder();
      const tokens = new ClientCredentialsTokenSource({ tokenUrl: stack.config.tokenUrl, clientId: 'tpp-alpha', scope: 'accounts', transport: recorder.wrap(transportOf('tpp-alpha')) });

      // Act
      const token = await tokens.token();

      // Assess
      const [exchange] = recorder.exchanges;
      expect(exchange!.request.url.href).toBe(stack.config.tokenUrl);
      expect(exchange!.request.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(exchange!.request.body).toBe('grant_type=client_credentials&client_id=tpp-alpha&scope=accounts');
      expect(exchange!.response!.status).toBe(200);
      expect(decodeJwt(token)).toMatchObject({
        client_id: 'tpp-alpha',
        scope: 'accounts',
        cnf: { 'x5t#S256': thumbprintOfPem(stack.client('tpp-alpha').cert)!.x5tS256 },
      });
    });

    it('answers the cached token until shortly before expires_in, then fetches a new one', async () => {
      // Prepare: the local server issues 300 s tokens; refresh 30 s before
      const recorder = new Recorder();
      let now = Date.now();
      const tokens = new ClientCredentialsTokenSource({
        tokenUrl: stack.config.tokenUrl,
        clientId: 'tpp-alpha',
        transport: recorder.wrap(transportOf('tpp-alpha')),
        refreshBeforeSeconds: 30,
        now: () => now,
      });

      // Act
      const first = await tokens.token();
      now += 269_000;
      const cached = await tokens.token();
      now += 2_000;
      const refreshed = await tokens.token();

      // Assess
      expect(cached).toBe(first);
      expect(refreshed).not.toBe(first);
      expect(recorder.exchanges).toHaveLength(2);
    });

    it('shares one request between concurrent callers', async () => {
      // Prepare
      const recorder = new Recorder();
      const tokens = new ClientCredentialsTokenSource({ tokenUrl: stack.config.tokenUrl, clientId: 'tpp-beta', transport: recorder.wrap(transportOf('tpp-beta')) });

      // Act
      const all = await Promise.all([tokens.token(), tokens.token(), tokens.token()]);

      // Assess
      expect(new Set(all).size).toBe(1);
      expect(recorder.exchanges).toHaveLength(1);
    });

    it('fetches a new token after invalidate() of the current one', async () => {
      // Prepare
      const recorder = new Recorder();
      const tokens = new ClientCredentialsTokenSource({ tokenUrl: stack.config.tokenUrl, clientId: 'tpp-alpha', transport: recorder.wrap(transportOf('tpp-alpha')) });
      const first = await tokens.token();

      // Act
      tokens.invalidate('some other token');
      const same = await tokens.token();
      tokens.invalidate(first);
      await tokens.token();

      // Assess
      expect(same).toBe(first);
      expect(recorder.exchanges).toHaveLength(2);
    });

    it('throws TokenRequestFailed with the OAuth error of an unregistered certificate (401 invalid_client), not retryable', async () => {
      // Prepare
      await stack.mintClient('tpp-unregistered', { register: false });
      const tokens = new ClientCredentialsTokenSource({ tokenUrl: stack.config.tokenUrl, clientId: 'tpp-unregistered', transport: transportOf('tpp-unregistered') });

      // Act
      const error = await tokens.token().catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(TokenRequestFailed);
      expect(error).toMatchObject({
        code: 'token_request_failed',
        status: 401,
        error: 'invalid_client',
        errorDescription: 'Client authentication failed',
        retryable: false,
        message: `The token endpoint ${stack.config.tokenUrl} refused tpp-unregistered: invalid_client: Client authentication failed`,
      });
    });

    it("carries the token endpoint's Retry-After (seconds or an HTTP date) on a 429 or 5xx, and none on another 4xx", async () => {
      // Prepare: three refusals in front of the real authorization server
      const tokens = new ClientCredentialsTokenSource({
        tokenUrl: stack.config.tokenUrl,
        clientId: 'tpp-alpha',
        transport: injectTokenFaults([
          oauthErrorAnswer(429, 'temporarily_unavailable', 'Slow down', { 'retry-after': '2' }),
          () => oauthErrorAnswer(503, 'temporarily_unavailable', 'Maintenance', { 'retry-after': new Date(Date.now() + 3000).toUTCString() }),
          oauthErrorAnswer(400, 'invalid_request', 'Bad form', { 'retry-after': '5' }),
        ])(transportOf('tpp-alpha')),
      });

      // Act
      const errors = [];
      for (let i = 0; i < 3; i++) errors.push(await tokens.token().catch((e: unknown) => e));
      const token = await tokens.token();

      // Assess
      expect(errors[0]).toBeInstanceOf(TokenRequestFailed);
      expect(errors[0]).toMatchObject({ status: 429, error: 'temporarily_unavailable', retryable: true, retryAfterMs: 2000 });
      expect(errors[1]).toMatchObject({ status: 503, retryable: true, retryAfterMs: expect.any(Number) });
      expect((errors[1] as TokenRequestFailed).retryAfterMs).toBeGreaterThan(1000); // an HTTP date drops the milliseconds
      expect((errors[1] as TokenRequestFailed).retryAfterMs).toBeLessThanOrEqual(3000);
      expect(errors[2]).toMatchObject({ status: 400, error: 'invalid_request', retryable: false });
      expect((errors[2] as TokenRequestFailed).retryAfterMs).toBeUndefined();
      expect(decodeJwt(token)).toMatchObject({ client_id: 'tpp-alpha' });
    });

    it('throws TokenRequestFailed for a scope the client may not have (400 invalid_scope)', async () => {
      // Prepare
      const tokens = new ClientCredentialsTokenSource({ tokenUrl: stack.config.tokenUrl, clientId: 'tpp-alpha', scope: 'notifications:write', transport: transportOf('tpp-alpha') });

      // Act
      const error = await tokens.token().catch((e: unknown) => e);

      // Assess
      expect(error).toMatchObject({ status: 400, error: 'invalid_scope', retryable: false });
    });
  });

  describe('constructor', () => {
    it('refuses a token URL that is not https, and a missing client id (TypeError)', () => {
      // Prepare
      const transport = transportOf('tpp-alpha');

      // Act / Assess
      expect(() => new ClientCredentialsTokenSource({ tokenUrl: 'http://localhost/oauth/token', clientId: 'a', transport })).toThrow(TypeError);
      expect(() => new ClientCredentialsTokenSource({ tokenUrl: stack.config.tokenUrl, clientId: '', transport })).toThrow(TypeError);
    });
  });
});
