/**
 * RS256 for receivers that require it (CAEP interoperability: RS256, keys of 2048 bits or more): a
 * stack signing with RS256 (SETPOLL_SIGNING_ALG, as a deployment's signingAlg) publishes its RSA key
 * under RS256 at the metadata's jwks_uri, and a stream's SETs verify with RS256 alone.
 */
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SSF_PATHS, VERIFICATION_EVENT } from '../../lambdas/ssf/vocabulary.ts';
import { httpsRequest } from '../support/https-client.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';
import { SESSION_REVOKED } from '../support/event-types.ts';

const ALPHA = 'tpp-alpha';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ signingAlg: 'RS256' });
});
afterAll(() => stack?.stop());

async function call(method: string, url: string, body?: object) {
  return httpsRequest(url, { method, headers: { authorization: `Bearer ${await stack.token(ALPHA, 'ssf.manage')}` }, ...(body === undefined ? {} : { body }), ...stack.client(ALPHA) });
}

describe('an RS256 transmitter', () => {
  it("signs a stream's SETs with RS256 and publishes the 2048-bit RSA key as RS256 at jwks_uri", async () => {
    // Arrange
    const metadata = (await httpsRequest(`${stack.config.issuer}/.well-known/ssf-configuration`, { method: 'GET', ...stack.client(ALPHA) })).json<Record<string, string>>();
    const stream = (await call('POST', metadata.configuration_endpoint!, { events_requested: [SESSION_REVOKED] })).json<{ stream_id: string }>();
    // Act
    const verify = await call('POST', metadata.verification_endpoint!, { stream_id: stream.stream_id, state: 'rs' });
    const published = await stack.publisher.publish({ recipients: [ALPHA], events: { [SESSION_REVOKED]: {} }, txn: 'txn-rs' });
    const { sets } = (await stack.poll(ALPHA, { returnImmediately: true }, { authorization: `Bearer ${await stack.token(ALPHA, 'ssf.manage')}` })).json<{ sets: Record<string, string> }>();
    const jwks = (await httpsRequest(metadata.jwks_uri!, { method: 'GET', ...stack.client(ALPHA) })).json<JSONWebKeySet>();
    // Assert
    expect(verify.status).toBe(204);
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: expect.any(String), e: 'AQAB' });
    expect(Buffer.from(jwks.keys[0]!.n!, 'base64url').length * 8).toBeGreaterThanOrEqual(2048);
    const compacts = Object.values(sets);
    expect(compacts).toHaveLength(2);
    const events = [];
    for (const compact of compacts) {
      expect(decodeProtectedHeader(compact)).toMatchObject({ alg: 'RS256', typ: 'secevent+jwt', kid: jwks.keys[0]!.kid });
      const { payload } = await jwtVerify(compact, createLocalJWKSet(jwks), { algorithms: ['RS256'], issuer: metadata.issuer!, audience: ALPHA, typ: 'secevent+jwt' });
      events.push(Object.keys(payload.events as object)[0]);
    }
    expect(events).toEqual([VERIFICATION_EVENT, SESSION_REVOKED]);
    expect(Object.keys(sets)[1]).toBe(published.jti);
    expect(SSF_PATHS.configuration).toBe(new URL(metadata.configuration_endpoint!).pathname);
  });
});
