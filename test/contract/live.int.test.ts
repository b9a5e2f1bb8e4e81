/**
 * Real responses of the running local stack (real mTLS, tokens from the local authorization server,
 * DynamoDB Local, real signatures) checked against the document: status documented for the
 * operation, body valid against the response schema, documented headers present and valid. Also:
 * every route the local stack serves is in the document, and every document path is served.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ClientAuthenticator } from '../../lambdas/core/client-authenticator.ts';
import { DEFAULT_SETTINGS } from '../../lambdas/core/settings.ts';
import { createPollHandler } from '../../lambdas/handlers/poll.ts';
import type { AccessTokenVerifier } from '../../lambdas/core/access-token.ts';
import type { QueueStore } from '../../lambdas/store/queue-store.ts';
import { lambdaContext } from '../../local/https-server.ts';
import { injectFaults } from '../support/faults.ts';
import { httpsRequest, type HttpsResponse } from '../support/https-client.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';
import { OpenApiDocument } from './openapi.ts';
import { documentPathsOf, parseRouteKey } from './routes.ts';
import { CREDENTIAL_CHANGE, SESSION_REVOKED } from '../support/event-types.ts';

// The route table the local stack hands its HTTPS server, as it hands it: captured on the way.
const captured = vi.hoisted(() => ({ routeKeys: [] as string[][] }));
vi.mock('../../local/https-server.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../local/https-server.ts')>();
  return {
    ...real,
    startHttpsServer: (options: Parameters<typeof real.startHttpsServer>[0]) => {
      captured.routeKeys.push(Object.keys(options.routes));
      return real.startHttpsServer(options);
    },
  };
});

const PROVIDER = 'provider-demo';

let doc: OpenApiDocument;
let stack: TestStack;

beforeAll(async () => {
  doc = new OpenApiDocument();
  stack = await startTestStack();
});
afterAll(() => stack?.stop());

/** The response is exactly as the document says for `method` on the document path of `path`. */
function expectDocumented(method: string, path: string, res: HttpsResponse): void {
  const template = doc.templateOf(new URL(path, 'https://x').pathname);
  expect({ method, path, template: template ?? 'none' }).toEqual({ method, path, template: expect.stringMatching(/^\//) });
  expect({ method, path, status: res.status, problems: doc.checkResponse(method, template!, res) }).toEqual({ method, path, status: res.status, problems: [] });
}

function expectError(method: string, path: string, res: HttpsResponse, status: number, err: string): void {
  expect({ status: res.status, err: (res.json() as { err?: string }).err }).toEqual({ status, err });
  expectDocumented(method, path, res);
}

const pollPath = () => new URL(stack.config.pollUrl).pathname;

/** Leaves the provider exactly these destinations (through the service: this is preparation, not the API under test). */
async function resetDestinations(wanted: Record<string, string[]>): Promise<void> {
  for (;;) {
    const page = await stack.destinations.list(PROVIDER, { limit: 100 });
    if (page.items.length === 0) break;
    for (const d of page.items) await stack.destinations.delete(PROVIDER, d.clientId);
  }
  for (const [clientId, eventTypes] of Object.entries(wanted)) await stack.destinations.register(PROVIDER, { clientId, eventTypes });
}
const manage = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => stack.manage(PROVIDER, method, path, body, headers);

describe("the local stack's routes", () => {
  it('are each in the document, and together serve every document path', () => {
    // Prepare
    const routeKeys = captured.routeKeys[0] ?? [];
    expect(routeKeys.length).toBeGreaterThan(0);

    // Act
    const undocumented = routeKeys.filter((key) => documentPathsOf(doc, parseRouteKey(key)).length === 0);
    const served = new Set(routeKeys.flatMap((key) => documentPathsOf(doc, parseRouteKey(key))));

    // Assess
    expect(undocumented).toEqual([]);
    expect(Object.keys(doc.paths).filter((path) => !served.has(path))).toEqual([]);
  });
});

describe('the poll endpoint', () => {
  it('200: SETs as documented, verifiable with the key at /jwks.json; then an ack-only poll', async () => {
    // Prepare
    const published = [];
    for (const id of ['user-1', 'user-2']) {
      published.push(await stack.publisher.publish({ recipients: ['tpp-alpha'], events: { [SESSION_REVOKED]: { initiating_entity: 'policy' } }, sub_id: { format: 'opaque', id } }));
    }
    const jwks = await httpsRequest(stack.config.jwksUrl, { method: 'GET', ...stack.client('tpp-alpha') });

    // Act
    const first = await stack.poll('tpp-alpha', { maxEvents: 1, returnImmediately: true });
    const ackOnly = await stack.poll('tpp-alpha', { maxEvents: 0, returnImmediately: true, ack: published.map((p) => p.jti) });

    // Assess
    expectDocumented('POST', pollPath(), first);
    const { sets, moreAvailable } = first.json<{ sets: Record<string, string>; moreAvailable: boolean }>();
    expect({ count: Object.keys(sets).length, moreAvailable }).toEqual({ count: 1, moreAvailable: true });
    const [jti, set] = Object.entries(sets)[0]!;
    const verified = await jwtVerify(set, createLocalJWKSet(jwks.json<JSONWebKeySet>()), { typ: 'secevent+jwt' });
    expect(verified.payload.jti).toBe(jti);
    expect(decodeProtectedHeader(set).alg).toBe('PS256');
    expectDocumented('POST', pollPath(), ackOnly);
    expect(ackOnly.json()).toEqual({ sets: {}, moreAvailable: false });
  });

  it('x-fapi-interaction-id: echoed when usable, else a new UUID', async () => {
    // Act
    const echoed = await stack.poll('tpp-alpha', { returnImmediately: true }, { 'x-fapi-interaction-id': 'req-7f3a' });
    const replaced = await stack.poll('tpp-alpha', { returnImmediately: true }, { 'x-fapi-interaction-id': 'has spaces in it' });

    // Assess
    expectDocumented('POST', pollPath(), echoed);
    expect(echoed.headers['x-fapi-interaction-id']).toBe('req-7f3a');
    expectDocumented('POST', pollPath(), replaced);
    expect(replaced.headers['x-fapi-interaction-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('4xx as documented: 400, 401, 403 (both codes), 405, 413, 415', async () => {
    // Prepare
    await stack.mintClient('stranger-poll', { register: false });
    const notifierToken = await stack.token(PROVIDER, 'notifications:read');

    // Act
    const invalid = await stack.poll('tpp-alpha', { maxevents: 1 });
    const noToken = await stack.poll('tpp-alpha', {}, { authorization: '' });
    const badToken = await stack.poll('tpp-alpha', {}, { authorization: 'Bearer not.a.token' });
    const wrongScope = await stack.poll(PROVIDER, { returnImmediately: true }, { authorization: `Bearer ${notifierToken}` });
    const unregistered = await stack.poll('stranger-poll', {}, { authorization: 'Bearer irrelevant' });
    const wrongMethod = await httpsRequest(stack.config.pollUrl, { method: 'GET', ...stack.client('tpp-alpha') });
    const tooLarge = await stack.poll('tpp-alpha', `{"ack":["${'x'.repeat(1_100_000)}"]}`);
    const notJson = await stack.poll('tpp-alpha', 'returnImmediately=true', { 'content-type': 'application/x-www-form-urlencoded' });

    // Assess
    expectError('POST', pollPath(), invalid, 400, 'invalid_request');
    expectError('POST', pollPath(), noToken, 401, 'invalid_token');
    expectError('POST', pollPath(), badToken, 401, 'invalid_token');
    expect(noToken.headers['www-authenticate']).toBe('Bearer realm="setpoll"');
    expect(badToken.headers['www-authenticate']).toBe('Bearer realm="setpoll", error="invalid_token"');
    expectError('POST', pollPath(), wrongScope, 403, 'insufficient_scope');
    expect(wrongScope.headers['www-authenticate']).toBe('Bearer realm="setpoll", error="insufficient_scope", scope="accounts fundsconfirmations payments ssf.manage ssf.manage.poll"');
    expectError('POST', pollPath(), unregistered, 403, 'access_denied');
    expectError('GET', pollPath(), wrongMethod, 405, 'method_not_allowed');
    expect(wrongMethod.headers.allow).toBe('POST');
    expectError('POST', pollPath(), tooLarge, 413, 'payload_too_large');
    expectError('POST', pollPath(), notJson, 415, 'unsupported_media_type');
  });

  it('503 as documented, with Retry-After, when DynamoDB is throttled', async () => {
    // Prepare: a first poll caches the caller's identity; then every queue read is throttled.
    await stack.poll('tpp-beta', { returnImmediately: true });
    const faults = injectFaults(stack.documentClient, { rate: 1, persistentRate: 1, kinds: ['throttle'], commands: ['QueryCommand'] });

    // Act
    let res: HttpsResponse;
    try {
      res = await stack.poll('tpp-beta', { returnImmediately: true });
    } finally {
      faults.stop();
    }

    // Assess
    expectError('POST', pollPath(), res, 503, 'temporarily_unavailable');
    expect(res.headers['retry-after']).toBe('1');
  });

  it('401 unauthenticated when no certificate reaches the handler (possible only off the mTLS domain, so in process)', async () => {
    // Prepare
    const handler = createPollHandler({
      store: {} as QueueStore,
      authenticator: new ClientAuthenticator({ registry: { lookup: async () => ({ revoked: false }) }, realm: 'setpoll' }),
      tokens: { warmUp: () => undefined } as unknown as AccessTokenVerifier,
      settings: DEFAULT_SETTINGS,
      logger: new Logger({ serviceName: 'setpoll-contract', logLevel: 'SILENT' }),
    });
    const event = { rawPath: '/events', headers: {}, requestContext: { http: { method: 'POST', path: '/events' } }, body: '{}', isBase64Encoded: false };

    // Act
    const result = (await handler(event as never, lambdaContext({ functionName: 'contract', timeoutMs: 5000 }))) as { statusCode: number; headers: Record<string, string>; body: string };

    // Assess
    const res = { status: result.statusCode, headers: result.headers, body: result.body };
    expect(JSON.parse(res.body)).toEqual({ err: 'unauthenticated', description: expect.any(String) });
    expect(doc.checkResponse('POST', '/events', res)).toEqual([]);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="setpoll"');
  });
});

describe('/jwks.json', () => {
  it('200: a JWK Set of the public SET key to any client certificate, without a token', async () => {
    // Act
    const res = await httpsRequest(stack.config.jwksUrl, { method: 'GET', ...stack.client('tpp-beta') });

    // Assess
    expectDocumented('GET', '/jwks.json', res);
    expect(res.json()).toEqual({ keys: [stack.publicJwk] });
  });

  it('405 to another method (locally; a deployment routes GET only)', async () => {
    // Act
    const res = await httpsRequest(stack.config.jwksUrl, { method: 'DELETE', ...stack.client('tpp-beta') });

    // Assess
    expectError('DELETE', '/jwks.json', res, 405, 'method_not_allowed');
    expect(res.headers.allow).toBe('GET');
  });
});

describe('the management API', () => {
  it('destinations: 201, 409, 200 pages, 200, 200, 409, 204, 404, all as documented', async () => {
    // Act + Assess, step by step.
    const registered = await manage('POST', '/destinations', { clientId: 'tpp-alpha' });
    expectDocumented('POST', '/destinations', registered);
    expect(registered.status).toBe(201);
    expect(registered.headers.location).toBe('/destinations/tpp-alpha');

    const second = await manage('POST', '/destinations', { clientId: 'tpp-beta', eventTypes: [SESSION_REVOKED, CREDENTIAL_CHANGE] });
    expectDocumented('POST', '/destinations', second);

    expectError('POST', '/destinations', await manage('POST', '/destinations', { clientId: 'tpp-alpha' }), 409, 'conflict');

    const page1 = await manage('GET', '/destinations?limit=1');
    expectDocumented('GET', '/destinations', page1);
    const { nextCursor } = page1.json<{ nextCursor?: string }>();
    expect(nextCursor).toEqual(expect.any(String));
    const page2 = await manage('GET', `/destinations?limit=1&cursor=${nextCursor}`);
    expectDocumented('GET', '/destinations', page2);
    expect(page2.json()).not.toHaveProperty('nextCursor');

    const read = await manage('GET', '/destinations/tpp-alpha');
    expectDocumented('GET', '/destinations/tpp-alpha', read);
    expect(read.headers.etag).toBe('"1"');

    const updated = await manage('PUT', '/destinations/tpp-alpha', { eventTypes: [SESSION_REVOKED] }, { 'if-match': '"1"' });
    expectDocumented('PUT', '/destinations/tpp-alpha', updated);
    expect(updated.headers.etag).toBe('"2"');
    expectError('PUT', '/destinations/tpp-alpha', await manage('PUT', '/destinations/tpp-alpha', { eventTypes: null }, { 'if-match': '"1"' }), 409, 'conflict');

    expectError('POST', '/destinations', await manage('POST', '/destinations', { clientId: 'tpp-gone' }), 403, 'access_denied');
    await stack.authorizations.authorize('tpp-gone', PROVIDER, 'operator');
    await manage('POST', '/destinations', { clientId: 'tpp-gone' });
    const deleted = await manage('DELETE', '/destinations/tpp-gone');
    expectDocumented('DELETE', '/destinations/tpp-gone', deleted);
    expect(deleted.status).toBe(204);
    expectError('GET', '/destinations/tpp-gone', await manage('GET', '/destinations/tpp-gone'), 404, 'not_found');
  });

  it('destination bulk: per-item results, non-atomic and atomic, as documented', async () => {
    // Prepare
    for (const id of ['tpp-bulk', 'tpp-atomic']) await stack.authorizations.authorize(id, PROVIDER, 'operator');
    // Act
    const each = await manage('POST', '/destinations/bulk', {
      operations: [
        { op: 'register', clientId: 'tpp-bulk' },
        { op: 'update', clientId: 'tpp-missing', eventTypes: null },
        { op: 'remove', clientId: 'tpp-bulk' },
        { op: 'delete', clientId: 'tpp-bulk', expectedVersion: 1 },
        { op: 'register', clientId: 'tpp-unauthorized' },
      ],
    });
    const atomic = await manage('POST', '/destinations/bulk', {
      atomic: true,
      operations: [
        { op: 'register', clientId: 'tpp-atomic' },
        { op: 'update', clientId: 'tpp-atomic-missing', eventTypes: null },
      ],
    });

    // Assess
    expectDocumented('POST', '/destinations/bulk', each);
    expect(each.json<{ results: { status: number }[] }>().results.map((r) => r.status)).toEqual([201, 404, 400, 204, 403]);
    expectDocumented('POST', '/destinations/bulk', atomic);
    expect(atomic.json()).toMatchObject({ applied: false, results: [{ status: 424 }, { status: 404 }] });
  });

  it('notifications: 201, 200 retry, 409, pages, 200, status after delivery, bulk, replace, withdraw, all as documented', async () => {
    // Prepare: exactly two destinations, both taking session-revoked.
    await resetDestinations({ 'tpp-alpha': [SESSION_REVOKED], 'tpp-beta': [SESSION_REVOKED, CREDENTIAL_CHANGE] });
    const body = { notificationId: 'n-live-1', events: { [SESSION_REVOKED]: { initiating_entity: 'policy' } }, sub_id: { format: 'opaque', id: 'user-9' } };

    // Act + Assess, step by step.
    const issued = await manage('POST', '/notifications', body);
    expectDocumented('POST', '/notifications', issued);
    expect(issued.status).toBe(201);
    const retried = await manage('POST', '/notifications', body);
    expectDocumented('POST', '/notifications', retried);
    expect(retried.status).toBe(200);
    expectError('POST', '/notifications', await manage('POST', '/notifications', { ...body, sub: 'other' }), 409, 'conflict');

    expectDocumented('GET', '/notifications', await manage('GET', '/notifications?limit=10'));
    expectDocumented('GET', '/notifications/n-live-1', await manage('GET', '/notifications/n-live-1'));

    // The recipients take delivery: tpp-alpha acknowledges, tpp-beta reports an error.
    const { jti } = issued.json<{ jti: string }>();
    for (const recipient of ['tpp-alpha', 'tpp-beta']) expect(Object.keys((await stack.poll(recipient, { returnImmediately: true })).json<{ sets: object }>().sets)).toContain(jti);
    await stack.poll('tpp-alpha', { maxEvents: 0, returnImmediately: true, ack: [jti] });
    await stack.poll('tpp-beta', { maxEvents: 0, returnImmediately: true, setErrs: { [jti]: { err: 'invalid_key', description: 'Unknown kid' } } }, { 'content-language': 'en-GB' });
    const status = await manage('GET', '/notifications/n-live-1/status');
    expectDocumented('GET', '/notifications/n-live-1/status', status);
    expect(status.json<{ items: { clientId: string; state: string }[] }>().items.map((i) => [i.clientId, i.state])).toEqual([
      ['tpp-alpha', 'acknowledged'],
      ['tpp-beta', 'errored'],
    ]);
    // The recipient's own review of what was addressed to it.
    const reviewed = await stack.manage('tpp-beta', 'GET', '/recipient/notifications', undefined, { authorization: `Bearer ${await stack.token('tpp-beta', 'notifications:recipient')}` });
    expectDocumented('GET', '/recipient/notifications', reviewed);
    expect(reviewed.json<{ items: { notificationId: string; state: string }[] }>().items.map((i) => [i.notificationId, i.state])).toContainEqual(['n-live-1', 'errored']);

    const bulk = await manage('POST', '/notifications/bulk', {
      notifications: [{ notificationId: 'n-live-2', events: { [CREDENTIAL_CHANGE]: {} } }, { events: {} }, { ...body, txn: 'changed' }],
    });
    expectDocumented('POST', '/notifications/bulk', bulk);
    expect(bulk.json<{ results: { status: number }[] }>().results.map((r) => r.status)).toEqual([201, 400, 409]);

    const replaced = await manage('PUT', '/notifications/n-live-1', { events: { [SESSION_REVOKED]: { initiating_entity: 'admin' } } }, { 'if-match': '"1"' });
    expectDocumented('PUT', '/notifications/n-live-1', replaced);
    const withdrawn = await manage('DELETE', '/notifications/n-live-1');
    expectDocumented('DELETE', '/notifications/n-live-1', withdrawn);
    expect(withdrawn.json()).toMatchObject({ state: 'withdrawn' });
    expectError('PUT', '/notifications/n-live-1', await manage('PUT', '/notifications/n-live-1', body), 409, 'conflict');
    expectError('GET', '/notifications/n-nope/status', await manage('GET', '/notifications/n-nope/status'), 404, 'not_found');
  });

  it('4xx as documented: 400, 401, 403 (both codes), 405, 413, 415', async () => {
    // Prepare
    await stack.mintClient('stranger-manage', { register: false });
    const readOnly = await stack.token(PROVIDER, 'notifications:read');

    // Act
    const invalid = await manage('POST', '/destinations', { clientId: 'tpp-alpha', eventtypes: [] });
    const badQuery = await manage('GET', '/notifications?limit=0');
    const noToken = await manage('GET', '/destinations', undefined, { authorization: '' });
    const readOnlyWrite = await manage('POST', '/notifications', { events: { [SESSION_REVOKED]: {} } }, { authorization: `Bearer ${readOnly}` });
    const unregistered = await stack.manage('stranger-manage', 'GET', '/destinations', undefined, { authorization: 'Bearer irrelevant' });
    const wrongMethod = await manage('PATCH', '/destinations', { clientId: 'x' });
    const tooLarge = await manage('POST', '/notifications', `{"events":{"urn:x:y":{"pad":"${'x'.repeat(1_100_000)}"}}}`);
    const notJson = await manage('POST', '/destinations', 'clientId=x', { 'content-type': 'text/plain' });

    // Assess
    expectError('POST', '/destinations', invalid, 400, 'invalid_request');
    expectError('GET', '/notifications', badQuery, 400, 'invalid_request');
    expectError('GET', '/destinations', noToken, 401, 'invalid_token');
    expectError('POST', '/notifications', readOnlyWrite, 403, 'insufficient_scope');
    expect(readOnlyWrite.headers['www-authenticate']).toBe('Bearer realm="setpoll", error="insufficient_scope", scope="notifications:write"');
    expectError('GET', '/destinations', unregistered, 403, 'access_denied');
    expectError('PATCH', '/destinations', wrongMethod, 405, 'method_not_allowed');
    expect(wrongMethod.headers.allow).toBe('GET, POST');
    expectError('POST', '/notifications', tooLarge, 413, 'payload_too_large');
    expectError('POST', '/destinations', notJson, 415, 'unsupported_media_type');
  });

  it('503 as documented, with Retry-After, when DynamoDB is throttled', async () => {
    // Prepare: every read of one item is throttled.
    await manage('GET', '/destinations');
    const faults = injectFaults(stack.documentClient, { rate: 1, persistentRate: 1, kinds: ['throttle'], commands: ['GetCommand'] });

    // Act
    let res: HttpsResponse;
    try {
      res = await manage('GET', '/destinations/tpp-alpha');
    } finally {
      faults.stop();
    }

    // Assess
    expectError('GET', '/destinations/tpp-alpha', res, 503, 'temporarily_unavailable');
    expect(res.headers['retry-after']).toBe('1');
  });
});

describe('the management API with a fan-out longer than one request', () => {
  let slow: TestStack;

  beforeAll(async () => {
    // Prepare: one destination per page and no time budget: every issue to two destinations goes on in the background.
    slow = await startTestStack({ notifier: { fanOutPageSize: 1, fanOutBudgetMs: 0 } });
  });
  afterAll(() => slow?.stop());

  it('202 as documented, with fanOut.pending', async () => {
    // Prepare
    for (const clientId of ['tpp-alpha', 'tpp-beta']) expect((await slow.manage(PROVIDER, 'POST', '/destinations', { clientId })).status).toBe(201);

    // Act
    const res = await slow.manage(PROVIDER, 'POST', '/notifications', { notificationId: 'n-slow', events: { [SESSION_REVOKED]: {} } });

    // Assess
    expectDocumented('POST', '/notifications', res);
    expect({ status: res.status, pending: res.json<{ fanOut: { pending: boolean } }>().fanOut.pending }).toEqual({ status: 202, pending: true });
  });
});

describe('the local token endpoint (local only)', () => {
  const form = (fields: Record<string, string>) => ({ 'content-type': 'application/x-www-form-urlencoded', body: new URLSearchParams(fields).toString() });
  const token = (clientId: string, fields: Record<string, string>, method = 'POST') => {
    const { body, ...headers } = form(fields);
    return httpsRequest(stack.config.tokenUrl, { method, headers, ...(method === 'POST' ? { body } : {}), ...stack.client(clientId) });
  };

  it('200, 400, 401 and 405 as documented; its keys at /oauth/jwks.json', async () => {
    // Prepare
    await stack.mintClient('stranger-token', { register: false });

    // Act
    const granted = await token('tpp-alpha', { grant_type: 'client_credentials', scope: 'accounts', client_id: 'tpp-alpha' });
    const badScope = await token('tpp-alpha', { grant_type: 'client_credentials', scope: 'notifications:write' });
    const badGrant = await token('tpp-alpha', { grant_type: 'password' });
    const unknown = await token('stranger-token', { grant_type: 'client_credentials' });
    const wrongMethod = await token('tpp-alpha', {}, 'GET');
    const keys = await httpsRequest(new URL('/oauth/jwks.json', stack.server.origin), { method: 'GET', ...stack.client('tpp-alpha') });

    // Assess
    expectDocumented('POST', '/oauth/token', granted);
    expect(granted.json()).toMatchObject({ token_type: 'Bearer', expires_in: 300, scope: 'accounts' });
    for (const [res, error] of [
      [badScope, 'invalid_scope'],
      [badGrant, 'unsupported_grant_type'],
    ] as const) {
      expectDocumented('POST', '/oauth/token', res);
      expect({ status: res.status, error: res.json<{ error: string }>().error }).toEqual({ status: 400, error });
    }
    expectDocumented('POST', '/oauth/token', unknown);
    expect(unknown.json()).toMatchObject({ error: 'invalid_client' });
    expectDocumented('GET', '/oauth/token', wrongMethod);
    expect([wrongMethod.status, wrongMethod.headers.allow]).toEqual([405, 'POST']);
    expectDocumented('GET', '/oauth/jwks.json', keys);
  });

  it('grants a client registered as constructor or toString its own scopes, never an answer from Object.prototype', async () => {
    // Prepare
    await stack.mintClient('constructor');
    await stack.mintClient('toString');

    // Act
    const constructor = await token('constructor', { grant_type: 'client_credentials', client_id: 'constructor' });
    const toString = await token('toString', { grant_type: 'client_credentials', scope: 'notifications:write' });
    const impostor = await token('tpp-alpha', { grant_type: 'client_credentials', client_id: 'constructor' });

    // Assess
    expect([constructor.status, constructor.json<{ scope: string }>().scope]).toEqual([200, 'accounts fundsconfirmations payments ssf.manage ssf.read ssf.manage.poll']);
    expect([toString.status, toString.json()]).toEqual([400, { error: 'invalid_scope', error_description: 'A requested scope is not allowed for this client' }]);
    expect([impostor.status, impostor.json()]).toEqual([401, { error: 'invalid_client', error_description: 'Client authentication failed' }]);
  });
});
