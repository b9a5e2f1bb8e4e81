/**
 * SSF 1.0 end to end over real mTLS on the local stack: discovery, a receiver-managed stream,
 * verification, pause and re-enable with held SETs, isolation and deletion, every SET verified
 * against the metadata's jwks_uri, delivered through the ordinary poll endpoint.
 */
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamProfileViolation } from '../../lambdas/ssf/stream-queue-store.ts';
import { SSF_PATHS, STREAM_UPDATED_EVENT, VERIFICATION_EVENT } from '../../lambdas/ssf/vocabulary.ts';
import { OpenApiDocument } from '../contract/openapi.ts';
import { httpsRequest, type HttpsResponse } from '../support/https-client.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';
import { CREDENTIAL_CHANGE, SESSION_REVOKED } from '../support/event-types.ts';

const ALPHA = 'tpp-alpha';
const BETA = 'tpp-beta';
const SSF_SCOPE = 'ssf.manage ssf.read';

let stack: TestStack;
let metadata: Record<string, unknown>;
let doc: OpenApiDocument;

beforeAll(async () => {
  doc = new OpenApiDocument();
  stack = await startTestStack();
});
afterAll(() => stack?.stop());

/** A call to an SSF endpoint (an absolute URL from the metadata) as clientId, with its ssf token; its answer is as openapi/setpoll.yaml documents. */
async function ssf(clientId: string, method: string, url: string, body?: unknown, scope = SSF_SCOPE): Promise<HttpsResponse> {
  const res = await call(clientId, method, url, body, scope);
  const path = new URL(url).pathname;
  expect({ method, path, problems: doc.checkResponse(method, doc.templateOf(path)!, res) }).toEqual({ method, path, problems: [] });
  return res;
}

async function call(clientId: string, method: string, url: string, body: unknown, scope: string): Promise<HttpsResponse> {
  return httpsRequest(url, {
    method,
    headers: { authorization: `Bearer ${await stack.token(clientId, scope)}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    ...stack.client(clientId),
  });
}

/** Polls the stream's endpoint with an ssf.manage token (not an OB scope). */
async function pollStream(clientId: string, body: unknown = { returnImmediately: true }): Promise<{ sets: Record<string, string>; moreAvailable: boolean }> {
  const res = await stack.poll(clientId, body, { authorization: `Bearer ${await stack.token(clientId, 'ssf.manage')}` });
  expect(res.status).toBe(200);
  return res.json();
}

/** Verifies a SET against the keys at the metadata's jwks_uri, fetched over mTLS. */
async function verifySet(compact: string): Promise<JWTPayload> {
  const jwks = (await httpsRequest(String(metadata.jwks_uri), { method: 'GET', ...stack.client(ALPHA) })).json<JSONWebKeySet>();
  const { payload } = await jwtVerify(compact, createLocalJWKSet(jwks), { issuer: String(metadata.issuer), audience: ALPHA, typ: 'secevent+jwt' });
  return payload;
}

describe('an SSF receiver', () => {
  let streamId: string;
  const endpoint = (name: 'configuration_endpoint' | 'status_endpoint' | 'verification_endpoint') => String(metadata[name]);

  it('discovers the transmitter metadata with its client certificate and no token', async () => {
    // Act
    const res = await httpsRequest(`${stack.config.issuer}/.well-known/ssf-configuration`, { method: 'GET', ...stack.client(ALPHA) });
    // Assert
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(doc.checkResponse('GET', '/.well-known/ssf-configuration', res)).toEqual([]);
    metadata = res.json();
    const origin = stack.server.origin;
    expect(metadata).toEqual({
      spec_version: '1_0',
      issuer: stack.config.issuer,
      jwks_uri: stack.config.jwksUrl,
      delivery_methods_supported: ['urn:ietf:rfc:8936'],
      configuration_endpoint: `${origin}${SSF_PATHS.configuration}`,
      status_endpoint: `${origin}${SSF_PATHS.status}`,
      verification_endpoint: `${origin}${SSF_PATHS.verification}`,
      authorization_schemes: [{ spec_urn: 'urn:ietf:rfc:6749' }],
      default_subjects: 'ALL',
    });
  });

  it('reads the same metadata without a client certificate on the public listener, whose jwks_uri is its own', async () => {
    // Act
    const { ca } = stack.client(ALPHA);
    const publicOrigin = new URL(stack.config.publicJwksUrl).origin;
    const res = await httpsRequest(`${publicOrigin}/.well-known/ssf-configuration`, { method: 'GET', ca });
    const keys = await httpsRequest(String(res.json<Record<string, unknown>>().jwks_uri), { method: 'GET', ca });
    const management = await httpsRequest(`${publicOrigin}${SSF_PATHS.configuration}`, { method: 'GET', ca });
    const post = await httpsRequest(`${publicOrigin}/.well-known/ssf-configuration`, { method: 'POST', ca, body: {} });
    // Assert
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.json()).toEqual({ ...metadata, jwks_uri: stack.config.publicJwksUrl });
    expect(keys.status).toBe(200);
    expect(keys.json()).toEqual((await httpsRequest(String(metadata.jwks_uri), { method: 'GET', ...stack.client(ALPHA) })).json());
    expect([management.status, post.status, post.headers.allow]).toEqual([404, 405, 'GET']);
  });

  it('creates one poll stream for CAEP session-revoked (a second create is a 409)', async () => {
    // Act
    const res = await ssf(ALPHA, 'POST', endpoint('configuration_endpoint'), {
      events_requested: [SESSION_REVOKED, 'https://example.com/unknown-event'],
      delivery: { method: 'urn:ietf:rfc:8936' },
      description: 'alpha',
    });
    const again = await ssf(ALPHA, 'POST', endpoint('configuration_endpoint'), { events_requested: [SESSION_REVOKED] });
    // Assert
    expect(res.status).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    const config = res.json<Record<string, unknown>>();
    streamId = String(config.stream_id);
    expect(streamId).toMatch(/^[A-Za-z0-9._~-]+$/);
    expect(config).toEqual({
      stream_id: streamId,
      iss: stack.config.issuer,
      aud: ALPHA,
      events_supported: expect.arrayContaining([SESSION_REVOKED, CREDENTIAL_CHANGE]),
      events_requested: [SESSION_REVOKED, 'https://example.com/unknown-event'],
      events_delivered: [SESSION_REVOKED],
      delivery: { method: 'urn:ietf:rfc:8936', endpoint_url: stack.config.pollUrl },
      min_verification_interval: 30,
      description: 'alpha',
    });
    expect(again.status).toBe(409);
    expect(again.json()).toEqual({ err: 'conflict', description: expect.any(String) });
  });

  it('refuses push delivery, a foreign endpoint_url, a read-only token for changes and a missing token', async () => {
    // Act
    const push = await ssf(ALPHA, 'POST', endpoint('configuration_endpoint'), { delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: 'https://receiver.example/push' } });
    const foreignUrl = await ssf(ALPHA, 'PATCH', endpoint('configuration_endpoint'), { stream_id: streamId, delivery: { endpoint_url: 'https://elsewhere.example/events' } });
    const readOnly = await ssf(ALPHA, 'POST', endpoint('status_endpoint'), { stream_id: streamId, status: 'disabled' }, 'ssf.read');
    const obToken = await ssf(ALPHA, 'GET', endpoint('configuration_endpoint'), undefined, 'accounts');
    const noToken = await httpsRequest(endpoint('configuration_endpoint'), { method: 'GET', ...stack.client(ALPHA) });
    const badStatus = await ssf(ALPHA, 'POST', endpoint('status_endpoint'), { stream_id: streamId, status: 'stopped' });
    // Assert
    expect([push, foreignUrl, badStatus].map((r) => r.json())).toEqual([
      { err: 'invalid_request', description: 'Only poll delivery (urn:ietf:rfc:8936) is offered; push and other methods are not' },
      { err: 'invalid_request', description: 'delivery.endpoint_url of a poll stream is supplied by the transmitter: leave it out or echo it unchanged' },
      { err: 'invalid_request', description: 'status must be enabled, paused or disabled' },
    ]);
    expect([readOnly.status, obToken.status, noToken.status]).toEqual([403, 403, 401]);
    expect(readOnly.headers['www-authenticate']).toBe('Bearer realm="setpoll", error="insufficient_scope", scope="ssf.manage"');
    expect(obToken.headers['www-authenticate']).toBe('Bearer realm="setpoll", error="insufficient_scope", scope="ssf.read ssf.manage"');
    expect((await ssf(ALPHA, 'GET', `${endpoint('status_endpoint')}?stream_id=${streamId}`)).json()).toEqual({ stream_id: streamId, status: 'enabled' });
  });

  it('verifies its stream: the verification SET echoes state, names the stream, has no sub or exp, and is acked', async () => {
    // Act
    const res = await ssf(ALPHA, 'POST', endpoint('verification_endpoint'), { stream_id: streamId, state: 'st-1' });
    const tooSoon = await ssf(ALPHA, 'POST', endpoint('verification_endpoint'), { stream_id: streamId, state: 'st-2' });
    const polled = await pollStream(ALPHA);
    // Assert
    expect(res.status).toBe(204);
    expect(res.body).toBe('');
    expect(tooSoon.status).toBe(429);
    expect(Number(tooSoon.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(tooSoon.headers['retry-after'])).toBeLessThanOrEqual(30);
    const [jti, compact] = Object.entries(polled.sets)[0]!;
    expect(Object.keys(polled.sets)).toHaveLength(1);
    expect(decodeProtectedHeader(compact).typ).toBe('secevent+jwt');
    const claims = await verifySet(compact);
    expect(claims).toEqual({
      iss: stack.config.issuer,
      aud: ALPHA,
      iat: expect.any(Number),
      jti,
      txn: expect.any(String),
      sub_id: { format: 'opaque', id: streamId },
      events: { [VERIFICATION_EVENT]: { state: 'st-1' } },
    });
    // Ack it: the queue is empty afterwards.
    expect(await pollStream(ALPHA, { ack: [jti], returnImmediately: true })).toEqual({ sets: {}, moreAvailable: false });
  });

  it('pauses: a published SET is held, and delivered when the stream is enabled again', async () => {
    // Arrange
    const paused = await ssf(ALPHA, 'POST', endpoint('status_endpoint'), { stream_id: streamId, status: 'paused', reason: 'maintenance' });
    const read = await ssf(ALPHA, 'GET', `${endpoint('status_endpoint')}?stream_id=${streamId}`, undefined, 'ssf.read');
    const published = await stack.publisher.publish({
      recipients: [ALPHA],
      events: { [SESSION_REVOKED]: { event_timestamp: 1_700_000_000 } },
      sub_id: { format: 'email', email: 'user@example.com' },
      txn: 'txn-1',
    });
    // Act
    const whilePaused = await pollStream(ALPHA);
    const enabled = await ssf(ALPHA, 'POST', endpoint('status_endpoint'), { stream_id: streamId, status: 'enabled' });
    const afterwards = await pollStream(ALPHA);
    // Assert
    expect(paused.status).toBe(200);
    expect(paused.json()).toEqual({ stream_id: streamId, status: 'paused', reason: 'maintenance' });
    expect(read.json()).toEqual({ stream_id: streamId, status: 'paused', reason: 'maintenance' });
    expect(published.outcomes.get(ALPHA)).toBe('queued');
    expect(whilePaused).toEqual({ sets: {}, moreAvailable: false });
    expect(enabled.json()).toEqual({ stream_id: streamId, status: 'enabled' });
    expect(Object.keys(afterwards.sets)).toEqual([published.jti]);
    const claims = await verifySet(afterwards.sets[published.jti]!);
    expect(claims.events).toEqual({ [SESSION_REVOKED]: { event_timestamp: 1_700_000_000 } });
    expect(claims).not.toHaveProperty('sub');
    expect(claims).not.toHaveProperty('exp');
    await pollStream(ALPHA, { ack: [published.jti], maxEvents: 0, returnImmediately: true });
  });

  it('is sent only the event types it asked for, and only in the SSF SET profile', async () => {
    // Act
    const other = await stack.publisher.publish({ recipients: [ALPHA], events: { [CREDENTIAL_CHANGE]: {} }, txn: 'txn-2' });
    const publish = (input: Omit<Parameters<TestStack['publisher']['publish']>[0], 'recipients'>) => stack.publisher.publish({ recipients: [ALPHA], ...input });
    // Assert
    expect(other.outcomes.get(ALPHA)).toBe('filtered');
    await expect(publish({ events: { [SESSION_REVOKED]: {} }, sub: 'user-1', txn: 'txn-3' })).rejects.toThrow(
      new StreamProfileViolation("tpp-alpha receives SETs through an SSF stream, so a SET to it must not carry sub (use sub_id or the event's subject) (SSF 1.0 §4.1)"),
    );
    await expect(publish({ events: { [SESSION_REVOKED]: {}, [CREDENTIAL_CHANGE]: {} }, txn: 'txn-4' })).rejects.toThrow(/must carry exactly one event/);
    await expect(publish({ events: { [SESSION_REVOKED]: {} } })).rejects.toThrow(/must carry txn/);
    expect(await pollStream(ALPHA)).toEqual({ sets: {}, moreAvailable: false });
  });

  it('leaves recipients without a stream as they were (OB polling, sub allowed)', async () => {
    // Act
    const published = await stack.publisher.publish({ recipients: [BETA], events: { [CREDENTIAL_CHANGE]: {} }, sub: 'user-1' });
    const polled = await stack.poll(BETA);
    // Assert
    expect(Object.keys(polled.json<{ sets: object }>().sets)).toEqual([published.jti]);
    await stack.poll(BETA, { ack: [published.jti], maxEvents: 0, returnImmediately: true });
  });

  it("answers 404 to another receiver's stream id, whatever the operation", async () => {
    // Act
    const answers = await Promise.all([
      ssf(BETA, 'GET', `${endpoint('configuration_endpoint')}?stream_id=${streamId}`),
      ssf(BETA, 'PATCH', endpoint('configuration_endpoint'), { stream_id: streamId, events_requested: [] }),
      ssf(BETA, 'PUT', endpoint('configuration_endpoint'), { stream_id: streamId }),
      ssf(BETA, 'DELETE', `${endpoint('configuration_endpoint')}?stream_id=${streamId}`),
      ssf(BETA, 'GET', `${endpoint('status_endpoint')}?stream_id=${streamId}`),
      ssf(BETA, 'POST', endpoint('status_endpoint'), { stream_id: streamId, status: 'disabled' }),
      ssf(BETA, 'POST', endpoint('verification_endpoint'), { stream_id: streamId }),
    ]);
    const list = await ssf(BETA, 'GET', endpoint('configuration_endpoint'));
    // Assert
    expect(answers.map((r) => r.status)).toEqual([404, 404, 404, 404, 404, 404, 404]);
    expect(list.json()).toEqual([]);
    expect((await ssf(ALPHA, 'GET', `${endpoint('status_endpoint')}?stream_id=${streamId}`)).json()).toEqual({ stream_id: streamId, status: 'enabled' });
  });

  it('announces an operator pause with a stream-updated SET before delivery stops', async () => {
    // Arrange
    await stack.streams.changeStatus(ALPHA, { streamId, status: 'paused', reason: 'operator' }, { announce: true });
    const held = await stack.publisher.publish({ recipients: [ALPHA], events: { [SESSION_REVOKED]: {} }, txn: 'txn-5' });
    // Act
    const announced = await pollStream(ALPHA);
    // Assert
    const [jti, compact] = Object.entries(announced.sets)[0]!;
    expect(Object.keys(announced.sets)).toHaveLength(1);
    expect(jti).not.toBe(held.jti);
    const claims = await verifySet(compact);
    expect(claims.events).toEqual({ [STREAM_UPDATED_EVENT]: { status: 'paused', reason: 'operator' } });
    expect(claims.sub_id).toEqual({ format: 'opaque', id: streamId });
    expect(await pollStream(ALPHA, { ack: [jti], returnImmediately: true })).toEqual({ sets: {}, moreAvailable: false });
    await stack.streams.changeStatus(ALPHA, { streamId, status: 'enabled' }, { announce: true });
    const resumed = await pollStream(ALPHA);
    const types = await Promise.all(Object.values(resumed.sets).map(async (s) => Object.keys((await verifySet(s)).events as object)[0]));
    expect(types).toEqual([SESSION_REVOKED, STREAM_UPDATED_EVENT]);
    await pollStream(ALPHA, { ack: Object.keys(resumed.sets), maxEvents: 0, returnImmediately: true });
  });

  it('deletes its stream: 204, then nothing is listed or queued', async () => {
    // Act
    const res = await ssf(ALPHA, 'DELETE', `${endpoint('configuration_endpoint')}?stream_id=${streamId}`);
    const list = await ssf(ALPHA, 'GET', endpoint('configuration_endpoint'), undefined, 'ssf.read');
    const published = await stack.publisher.publish({ recipients: [ALPHA], events: { [SESSION_REVOKED]: {} }, txn: 'txn-6' });
    // Assert
    expect(res.status).toBe(204);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(list.status).toBe(200);
    expect(list.json()).toEqual([]);
    expect(published.outcomes.get(ALPHA)).toBe('filtered');
    expect((await ssf(ALPHA, 'GET', `${endpoint('configuration_endpoint')}?stream_id=${streamId}`)).status).toBe(404);
  });
});
