/**
 * The Notifier management API end to end: real HTTPS with client certificates through the local
 * stack, tokens from the local authorization server, DynamoDB Local, real signatures, and delivery
 * through the real poll endpoint.
 */
import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import type { InvokeCommand } from '@aws-sdk/client-lambda';
import { createLocalJWKSet, jwtVerify, type JWK } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AccessTokenVerifier } from '../../lambdas/core/access-token.ts';
import { ClientAuthenticator } from '../../lambdas/core/client-authenticator.ts';
import { ServiceUnavailable } from '../../lambdas/core/errors.ts';
import { createManagementHandler, depsFromEnv, LambdaSelfScheduler } from '../../lambdas/handlers/management.ts';
import type { BulkResult, Destination } from '../../lambdas/notifier/destinations.ts';
import { createNotifierServices } from '../../lambdas/notifier/services.ts';
import { type DestinationStatus, type IssueBulkResult, type Notification } from '../../lambdas/notifier/notifications.ts';
import { JwkSigner, loadOrCreateSigningJwk } from '../../lambdas/producer/signer.ts';
import { lambdaContext } from '../../local/https-server.ts';
import { injectFaults } from '../support/faults.ts';
import { httpsRequest, type HttpsResponse } from '../support/https-client.ts';
import { OutputCapture } from '../support/output-capture.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';
import { drain as drainQueue } from '../support/queue.ts';
import { ACCOUNT_DISABLED, CREDENTIAL_CHANGE, SESSION_REVOKED } from '../support/event-types.ts';

const PROVIDER = 'provider-demo';
const OTHER = 'provider-other';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ providerIds: [PROVIDER, OTHER] });
});
afterAll(() => stack?.stop());

const manage = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => stack.manage(PROVIDER, method, path, body, headers);
/** The recipients authorize the provider (the operator's `setpoll recipients authorize`), so it may register them. */
const consent = async (recipientIds: readonly string[], providerId = PROVIDER, on: TestStack = stack) => {
  for (const id of recipientIds) await on.authorizations.authorize(id, providerId, 'operator');
};
const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

/** The documented error shape, with its status and the interaction id every response carries. */
function expectError(res: HttpsResponse, status: number, err: string): void {
  expect({ status: res.status, body: res.json() }).toEqual({ status, body: { err, description: expect.any(String) } });
  expect(res.headers['content-type']).toBe('application/json');
  expect(res.headers['x-fapi-interaction-id']).toEqual(expect.any(String));
}

/** Deletes every destination of a provider, so a fan-out reaches only what the test registers. */
async function clearDestinations(providerId: string): Promise<void> {
  for (;;) {
    const page = await stack.destinations.list(providerId, { limit: 100 });
    if (page.items.length === 0) return;
    for (const d of page.items) await stack.destinations.delete(providerId, d.clientId);
  }
}

/** Empties a recipient's queue. */
const drain = (clientId: string) => drainQueue(stack, clientId);

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > until) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('routing', () => {
  it('answers 404 not_found to a path no route has', async () => {
    // Act
    const responses = await Promise.all([manage('GET', '/destinations/a/b'), manage('GET', '/notifications/n-1/nope'), manage('GET', '/destinations/a/')]);
    // `{proxy+}` needs at least one character: API Gateway (and the local server) answer this one itself.
    const gateway = await manage('GET', '/destinations/');

    // Assess
    for (const res of responses) expectError(res, 404, 'not_found');
    expect(gateway.status).toBe(404);
  });

  it('answers 405 with Allow to a wrong method on a known path', async () => {
    // Act
    const collection = await manage('PATCH', '/destinations', { clientId: 'x' });
    const item = await manage('POST', '/destinations/x', { clientId: 'x' });
    const status = await manage('DELETE', '/notifications/n-1/status');
    const jwks = await httpsRequest(stack.config.jwksUrl, { ...stack.client('tpp-alpha'), method: 'DELETE' });

    // Assess
    expectError(collection, 405, 'method_not_allowed');
    expect(collection.headers.allow).toBe('GET, POST');
    expect(item.headers.allow).toBe('GET, PUT, DELETE');
    expect(status.headers.allow).toBe('GET');
    expectError(jwks, 405, 'method_not_allowed');
    expect(jwks.headers.allow).toBe('GET');
  });

  it('serves the public SET key at /jwks.json to any client certificate, without a token', async () => {
    // Act
    const res = await httpsRequest(stack.config.jwksUrl, { ...stack.client('tpp-beta'), method: 'GET' });

    // Assess
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('max-age=300');
    expect(res.json()).toEqual({ keys: [stack.publicJwk] });
    expect(Object.keys(stack.publicJwk).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
  });
});

describe('errors', () => {
  it('400 invalid_request: malformed JSON, unknown members, bad query, bad If-Match, foreign cursor', async () => {
    // Act
    const responses = await Promise.all([
      manage('POST', '/destinations', '{"clientId":'),
      manage('POST', '/destinations', '[1]'),
      manage('POST', '/destinations', { clientId: 'tpp-alpha', eventtypes: [SESSION_REVOKED] }),
      manage('POST', '/destinations', { clientId: 'has space' }),
      manage('POST', '/notifications', { events: { 'not a uri': {} } }),
      manage('GET', '/destinations?limit=abc'),
      manage('GET', '/destinations?limit=0'),
      manage('GET', '/destinations?limit=101'),
      manage('GET', '/destinations?limt=5'),
      manage('GET', '/destinations/tpp-alpha?limit=5'),
      manage('GET', '/notifications?cursor=not-a-cursor'),
      manage('PUT', '/destinations/tpp-alpha', { eventTypes: null }, { 'if-match': 'W/"1"' }),
      manage('DELETE', '/destinations/tpp-alpha', undefined, { 'if-match': '1' }),
    ]);
    // A path that does not percent-decode never reaches the function: the gateway (here the local server) refuses it.
    const undecodable = await manage('GET', '/destinations/%E0%A4%A');

    // Assess
    for (const res of responses) expectError(res, 400, 'invalid_request');
    expect([undecodable.status, undecodable.json()]).toEqual([400, { err: 'invalid_request', description: 'The path holds a malformed percent-encoding' }]);
  });

  it('401 invalid_token with a challenge when the token is missing or not valid', async () => {
    // Act
    const missing = await manage('GET', '/destinations', undefined, { authorization: '' });
    const garbage = await manage('POST', '/notifications', { events: { [SESSION_REVOKED]: {} } }, { authorization: 'Bearer not.a.token' });

    // Assess: without any token the challenge carries no error code (RFC 6750 §3.1)
    for (const res of [missing, garbage]) expectError(res, 401, 'invalid_token');
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="setpoll"');
    expect(garbage.headers['www-authenticate']).toBe('Bearer realm="setpoll", error="invalid_token"');
  });

  it("401 invalid_token for another client's token: tokens are bound to the certificate", async () => {
    // Prepare
    const otherToken = await stack.token(OTHER, 'notifications:write notifications:read');

    // Act
    const res = await manage('GET', '/destinations', undefined, { authorization: `Bearer ${otherToken}` });

    // Assess
    expectError(res, 401, 'invalid_token');
  });

  it('403 insufficient_scope for a recipient token without the notifier scopes', async () => {
    // Prepare
    const pollingToken = await stack.token('tpp-alpha', 'accounts');

    // Act
    const read = await stack.manage('tpp-alpha', 'GET', '/destinations', undefined, { authorization: `Bearer ${pollingToken}` });
    const write = await stack.manage('tpp-alpha', 'POST', '/destinations', { clientId: 'tpp-beta' }, { authorization: `Bearer ${pollingToken}` });

    // Assess
    expectError(read, 403, 'insufficient_scope');
    expect(read.headers['www-authenticate']).toBe('Bearer realm="setpoll", error="insufficient_scope", scope="notifications:read notifications:write"');
    expectError(write, 403, 'insufficient_scope');
    expect(write.headers['www-authenticate']).toBe('Bearer realm="setpoll", error="insufficient_scope", scope="notifications:write"');
  });

  it('403 insufficient_scope for a mutation with a read-only token, which still reads', async () => {
    // Prepare
    const readOnly = await stack.token(PROVIDER, 'notifications:read');

    // Act
    const read = await manage('GET', '/notifications', undefined, { authorization: `Bearer ${readOnly}` });
    const write = await manage('POST', '/destinations', { clientId: unique('ro') }, { authorization: `Bearer ${readOnly}` });

    // Assess
    expect(read.status).toBe(200);
    expectError(write, 403, 'insufficient_scope');
  });

  it('a notifier token cannot poll, and the authorization server grants a recipient no notifier scope', async () => {
    // Prepare
    const notifierToken = await stack.token(PROVIDER, 'notifications:read');

    // Act
    const poll = await stack.poll(PROVIDER, { returnImmediately: true }, { authorization: `Bearer ${notifierToken}` });
    const grant = await httpsRequest(stack.config.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'notifications:write', client_id: 'tpp-alpha' }).toString(),
      ...stack.client('tpp-alpha'),
    });

    // Assess
    expectError(poll, 403, 'insufficient_scope');
    expect(grant.status).toBe(400);
    expect(grant.json()).toMatchObject({ error: 'invalid_scope' });
  });

  it('403 access_denied for a certificate registered to no client', async () => {
    // Prepare
    await stack.mintClient('stranger', { register: false });

    // Act
    const res = await stack.manage('stranger', 'GET', '/destinations', undefined, { authorization: 'Bearer x' });

    // Assess
    expectError(res, 403, 'access_denied');
  });

  it('404 not_found for a destination or notification that does not exist', async () => {
    // Act
    const responses = await Promise.all([
      manage('GET', '/destinations/nobody'),
      manage('PUT', '/destinations/nobody', { eventTypes: null }),
      manage('DELETE', '/destinations/nobody'),
      manage('GET', '/notifications/none'),
      manage('GET', '/notifications/none/status'),
      manage('PUT', '/notifications/none', { events: { [SESSION_REVOKED]: {} } }),
      manage('DELETE', '/notifications/none'),
    ]);

    // Assess
    for (const res of responses) expectError(res, 404, 'not_found');
  });

  it('409 conflict for a duplicate registration and a notification id reused with other claims', async () => {
    // Prepare
    const clientId = unique('dup');
    const notificationId = unique('n-dup');
    await consent([clientId]);
    expect((await manage('POST', '/destinations', { clientId })).status).toBe(201);
    expect((await manage('POST', '/notifications', { notificationId, events: { [SESSION_REVOKED]: {} } })).status).toBe(201);

    // Act
    const destination = await manage('POST', '/destinations', { clientId, eventTypes: [SESSION_REVOKED] });
    const notification = await manage('POST', '/notifications', { notificationId, events: { [CREDENTIAL_CHANGE]: {} } });

    // Assess
    expectError(destination, 409, 'conflict');
    expectError(notification, 409, 'conflict');
    await clearDestinations(PROVIDER);
  });

  it('413 payload_too_large for a body over 1 MiB', async () => {
    // Act
    const res = await manage('POST', '/notifications/bulk', JSON.stringify({ notifications: [{ events: { [SESSION_REVOKED]: { pad: 'x'.repeat(1_100_000) } } }] }));

    // Assess
    expectError(res, 413, 'payload_too_large');
  });

  it('415 unsupported_media_type for a body that is not application/json', async () => {
    // Act
    const none = await manage('POST', '/destinations');
    const text = await manage('POST', '/destinations', '{"clientId":"tpp-alpha"}', { 'content-type': 'text/plain' });
    const latin1 = await manage('PUT', '/destinations/tpp-alpha', '{"eventTypes":null}', { 'content-type': 'application/json; charset=iso-8859-1' });

    // Assess
    for (const res of [none, text, latin1]) expectError(res, 415, 'unsupported_media_type');
  });

  describe('dependency failures', () => {
    const FAULT = 'managementTestNonTransientFault';
    let faults: { stop(): void } | undefined;
    afterEach(() => {
      stack.documentClient.middlewareStack.remove(FAULT);
      faults?.stop();
      faults = undefined;
    });

    it('500 server_error, without detail, for a failure a retry cannot fix', async () => {
      // Prepare: DynamoDB refuses the read as malformed (a non-transient client fault).
      await manage('GET', '/destinations'); // the caller's identity is now cached
      stack.documentClient.middlewareStack.add(
        (next, context) => async (args) => {
          if (String(context.commandName).startsWith('Get')) {
            throw new DynamoDBServiceException({ name: 'ValidationException', $fault: 'client', message: 'secret table detail', $metadata: { httpStatusCode: 400 } });
          }
          return next(args);
        },
        { step: 'finalizeRequest', name: FAULT, priority: 'low' },
      );

      // Act
      const res = await manage('GET', '/destinations/tpp-alpha');

      // Assess
      expect(res.status).toBe(500);
      expect(res.json()).toEqual({ err: 'server_error', description: 'Internal server error' });
      expect(res.body).not.toContain('secret');
    });

    it('503 temporarily_unavailable with Retry-After when DynamoDB throttles, fails or times out', async () => {
      // Prepare
      await manage('GET', '/destinations');
      const injected = injectFaults(stack.documentClient, { rate: 1, commands: ['GetCommand', 'QueryCommand', 'PutCommand'] });
      faults = injected;

      // Act
      const responses = [
        await manage('GET', '/destinations/tpp-alpha'),
        await manage('GET', '/notifications'),
        await manage('POST', '/destinations', { clientId: unique('down') }),
      ];

      // Assess
      expect(injected.injected()).toBeGreaterThan(0);
      for (const res of responses) {
        expectError(res, 503, 'temporarily_unavailable');
        expect(res.headers['retry-after']).toBe('1');
      }
    });
  });
});

describe('destinations', () => {
  beforeEach(() => clearDestinations(PROVIDER));

  it('register, read, update with If-Match, refuse a stale version, delete', async () => {
    // Act
    const created = await manage('POST', '/destinations', { clientId: 'tpp-alpha', eventTypes: [SESSION_REVOKED] });
    const read = await manage('GET', '/destinations/tpp-alpha');
    const updated = await manage('PUT', '/destinations/tpp-alpha', { eventTypes: [SESSION_REVOKED, CREDENTIAL_CHANGE] }, { 'if-match': '"1"' });
    const stale = await manage('PUT', '/destinations/tpp-alpha', { eventTypes: null }, { 'if-match': '"1"' });
    const staleDelete = await manage('DELETE', '/destinations/tpp-alpha', undefined, { 'if-match': '"1"' });
    const deleted = await manage('DELETE', '/destinations/tpp-alpha', undefined, { 'if-match': '"2"' });
    const gone = await manage('GET', '/destinations/tpp-alpha');

    // Assess
    expect(created.status).toBe(201);
    expect(created.headers.etag).toBe('"1"');
    expect(created.headers.location).toBe('/destinations/tpp-alpha');
    expect(created.json()).toEqual({ clientId: 'tpp-alpha', eventTypes: [SESSION_REVOKED], version: 1, createdAt: expect.any(String), updatedAt: expect.any(String) });
    expect(read.status).toBe(200);
    expect(read.headers.etag).toBe('"1"');
    expect(read.json()).toEqual(created.json());
    expect(updated.status).toBe(200);
    expect(updated.headers.etag).toBe('"2"');
    expect(updated.json<Destination>()).toMatchObject({ eventTypes: [SESSION_REVOKED, CREDENTIAL_CHANGE], version: 2 });
    expectError(stale, 409, 'conflict');
    expectError(staleDelete, 409, 'conflict');
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBe('');
    expectError(gone, 404, 'not_found');
  });

  it('updates without If-Match, and null means every event type', async () => {
    // Prepare
    await manage('POST', '/destinations', { clientId: 'tpp-beta', eventTypes: [SESSION_REVOKED] });

    // Act
    const res = await manage('PUT', '/destinations/tpp-beta', { eventTypes: null }, { 'if-match': '*' });

    // Assess
    expect(res.status).toBe(200);
    expect(res.json()).not.toHaveProperty('eventTypes');
    expect(res.json<Destination>().version).toBe(2);
  });

  it('addresses a client id by its percent-encoding, which the path arrives without (as in AWS)', async () => {
    // Prepare
    await consent(['org:tpp~1']);
    // Act
    const created = await manage('POST', '/destinations', { clientId: 'org:tpp~1' });
    const read = await manage('GET', created.headers.location!);
    const encoded = await manage('GET', '/destinations/org%3Atpp%7E1');

    // Assess
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe('/destinations/org%3Atpp~1');
    expect([read.status, read.json<Destination>().clientId]).toEqual([200, 'org:tpp~1']);
    expect([encoded.status, encoded.json<Destination>().clientId]).toEqual([200, 'org:tpp~1']);
  });

  it('refuses client ids holding "/", "?", "%", "#" or a dot segment, which no path could address', async () => {
    // Act
    const responses = await Promise.all(['org/tpp', 'org?tpp', 'org%2Ftpp', 'org#tpp', '..'].map((clientId) => manage('POST', '/destinations', { clientId })));

    // Assess
    for (const res of responses) expectError(res, 400, 'invalid_request');
    expect((await stack.destinations.list(PROVIDER, { limit: 100 })).items.map((d) => d.clientId)).not.toContain('org/tpp');
  });

  it('routes an encoded "/" or "?" in an id as API Gateway does: decoded before routing', async () => {
    // Prepare
    await consent(['tpp-path']);
    await manage('POST', '/destinations', { clientId: 'tpp-path' });

    // Act: AWS decodes "%2F" to a segment separator and cuts the path at a decoded "?"
    const slash = await manage('GET', '/destinations/tpp-path%2Fx');
    const question = await manage('GET', '/destinations/tpp-path%3Fx');

    // Assess
    expectError(slash, 404, 'not_found');
    expect([question.status, question.json<Destination>().clientId]).toEqual([200, 'tpp-path']);
  });

  it('lists a page at a time, in client id order', async () => {
    // Prepare
    await consent(['list-c', 'list-a', 'list-b']);
    for (const clientId of ['list-c', 'list-a', 'list-b']) await manage('POST', '/destinations', { clientId });

    // Act
    const first = await manage('GET', '/destinations?limit=2');
    const cursor = first.json<{ nextCursor: string }>().nextCursor;
    const second = await manage('GET', `/destinations?limit=2&cursor=${encodeURIComponent(cursor)}`);

    // Assess
    expect(first.status).toBe(200);
    expect(first.json<{ items: Destination[] }>().items.map((d) => d.clientId)).toEqual(['list-a', 'list-b']);
    expect(second.json()).toEqual({ items: [expect.objectContaining({ clientId: 'list-c' })] });
  });

  describe('bulk', () => {
    it('answers each operation on its own, in order per destination', async () => {
      // Prepare
      await consent(['bulk-a', 'bulk-b', 'bulk-c']);
      await manage('POST', '/destinations', { clientId: 'bulk-b' });

      // Act
      const res = await manage('POST', '/destinations/bulk', {
        operations: [
          { op: 'register', clientId: 'bulk-a', eventTypes: [SESSION_REVOKED] },
          { op: 'register', clientId: 'bulk-b' },
          { op: 'update', clientId: 'bulk-missing', eventTypes: null },
          { op: 'frobnicate', clientId: 'bulk-c' },
          { op: 'delete', clientId: 'bulk-b', expectedVersion: 1 },
          { op: 'update', clientId: 'bulk-a', eventTypes: [CREDENTIAL_CHANGE], expectedVersion: 1 },
        ],
      });

      // Assess
      expect(res.status).toBe(200);
      const result = res.json<BulkResult>();
      expect(result.results.map((r) => [r.clientId, r.status])).toEqual([
        ['bulk-a', 201],
        ['bulk-b', 409],
        ['bulk-missing', 404],
        ['bulk-c', 400],
        ['bulk-b', 204],
        ['bulk-a', 200],
      ]);
      expect(result.results[1]!.error).toEqual({ err: 'conflict', description: expect.any(String) });
      expect(result).toMatchObject({ atomic: false, applied: true, totals: { succeeded: 3, failed: 3 } });
      expect((await manage('GET', '/destinations/bulk-a')).json<Destination>()).toMatchObject({ eventTypes: [CREDENTIAL_CHANGE], version: 2 });
      expectError(await manage('GET', '/destinations/bulk-b'), 404, 'not_found');
    });

    it('atomic: applies nothing when one operation fails, and says which', async () => {
      // Prepare
      await consent(['atomic-a']);
      // Act
      const res = await manage('POST', '/destinations/bulk', {
        atomic: true,
        operations: [
          { op: 'register', clientId: 'atomic-a' },
          { op: 'update', clientId: 'atomic-missing', eventTypes: null },
        ],
      });

      // Assess
      expect(res.status).toBe(200);
      const result = res.json<BulkResult>();
      expect(result).toMatchObject({ atomic: true, applied: false, totals: { succeeded: 0, failed: 2 } });
      expect(result.results.map((r) => r.status)).toEqual([424, 404]);
      expectError(await manage('GET', '/destinations/atomic-a'), 404, 'not_found');
    });

    it('atomic: applies every operation together', async () => {
      // Prepare
      await consent(['atomic-b', 'atomic-c']);
      // Act
      const res = await manage('POST', '/destinations/bulk', { atomic: true, operations: [{ op: 'register', clientId: 'atomic-b' }, { op: 'register', clientId: 'atomic-c' }] });

      // Assess
      expect(res.json<BulkResult>()).toMatchObject({ atomic: true, applied: true, totals: { succeeded: 2, failed: 0 } });
      expect((await manage('GET', '/destinations/atomic-c')).status).toBe(200);
    });

    it('takes up to 100 operations; 101 is a 400 that changes nothing', async () => {
      // Prepare
      const ops = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => ({ op: 'register', clientId: `${prefix}-${String(i).padStart(3, '0')}` }));
      await consent([...ops(101, 'over'), ...ops(100, 'max')].map((op) => op.clientId));

      // Act
      const tooMany = await manage('POST', '/destinations/bulk', { operations: ops(101, 'over') });
      const most = await manage('POST', '/destinations/bulk', { operations: ops(100, 'max') });

      // Assess
      expectError(tooMany, 400, 'invalid_request');
      expect(tooMany.json<{ description: string }>().description).toContain('100');
      expectError(await manage('GET', '/destinations/over-000'), 404, 'not_found');
      expect(most.json<BulkResult>().totals).toEqual({ succeeded: 100, failed: 0 });
    });

    it('refuses a malformed envelope', async () => {
      // Act
      const responses = await Promise.all([
        manage('POST', '/destinations/bulk', { operations: [], extra: 1 }),
        manage('POST', '/destinations/bulk', { operations: {} }),
        manage('POST', '/destinations/bulk', { operations: [], atomic: 'yes' }),
        manage('POST', '/destinations/bulk', { operations: [] }),
        manage('POST', '/notifications/bulk', { notifications: 'none' }),
        manage('POST', '/notifications/bulk', { items: [] }),
      ]);

      // Assess
      for (const res of responses) expectError(res, 400, 'invalid_request');
    });
  });
});

describe('notifications', () => {
  beforeEach(async () => {
    await clearDestinations(PROVIDER);
    await drain('tpp-alpha');
    await drain('tpp-beta');
  });

  const status = async (notificationId: string) => (await manage('GET', `/notifications/${notificationId}/status`)).json<{ items: DestinationStatus[] }>().items;

  it('fans out to the matching destinations; the SET is delivered by the poll endpoint, verifies against /jwks.json, and its status moves queued → delivered → acknowledged', async () => {
    // Prepare
    await manage('POST', '/destinations', { clientId: 'tpp-alpha', eventTypes: [SESSION_REVOKED] });
    await manage('POST', '/destinations', { clientId: 'tpp-beta', eventTypes: [CREDENTIAL_CHANGE] });
    const notificationId = unique('n-flow');
    const input = { notificationId, events: { [SESSION_REVOKED]: { initiating_entity: 'policy' } }, sub_id: { format: 'opaque', id: 'user-1' }, txn: 'txn-1' };

    // Act
    const issued = await manage('POST', '/notifications', input);
    const queued = await status(notificationId);
    const alphaPoll = await stack.poll('tpp-alpha', { returnImmediately: true });
    const betaPoll = await stack.poll('tpp-beta', { returnImmediately: true });
    const delivered = await status(notificationId);
    const jti = issued.json<Notification>().jti;
    await stack.poll('tpp-alpha', { returnImmediately: true, maxEvents: 0, ack: [jti] });
    const acknowledged = await status(notificationId);

    // Assess
    expect(issued.status).toBe(201);
    expect(issued.headers.location).toBe(`/notifications/${notificationId}`);
    expect(issued.headers.etag).toBe('"1"');
    expect(issued.json()).toMatchObject({
      notificationId,
      revision: 1,
      claims: { events: input.events, sub_id: input.sub_id, txn: 'txn-1' },
      state: 'issued',
      fanOut: { queued: 1, skipped: 1, withdrawn: 0, pending: false },
      version: 1,
    });
    expect(queued).toEqual([expect.objectContaining({ clientId: 'tpp-alpha', jti, revision: 1, state: 'queued' })]);
    const sets = alphaPoll.json<{ sets: Record<string, string> }>().sets;
    expect(Object.keys(sets)).toEqual([jti]);
    expect(betaPoll.json()).toEqual({ sets: {}, moreAvailable: false });

    const jwks = await httpsRequest(stack.config.jwksUrl, { ...stack.client('tpp-alpha'), method: 'GET' });
    const { payload, protectedHeader } = await jwtVerify(sets[jti]!, createLocalJWKSet(jwks.json<{ keys: JWK[] }>()), {
      issuer: stack.config.issuer,
      audience: 'tpp-alpha',
      typ: 'secevent+jwt',
      algorithms: ['PS256'],
    });
    expect(protectedHeader.kid).toBe(stack.publicJwk.kid);
    expect(payload).toMatchObject({ jti, data_provider: 'provider-demo', events: input.events, sub_id: input.sub_id, txn: 'txn-1' });

    expect(delivered).toEqual([expect.objectContaining({ clientId: 'tpp-alpha', state: 'delivered' })]);
    expect(acknowledged).toEqual([expect.objectContaining({ clientId: 'tpp-alpha', state: 'acknowledged' })]);
  });

  it('a retry of the same id and claims is a safe 200 with the same notification', async () => {
    // Prepare
    await manage('POST', '/destinations', { clientId: 'tpp-alpha' });
    const input = { notificationId: unique('n-retry'), events: { [ACCOUNT_DISABLED]: { reason: 'hijacking' } } };
    const first = await manage('POST', '/notifications', input);

    // Act
    const again = await manage('POST', '/notifications', input);

    // Assess
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.json<Notification>().jti).toBe(first.json<Notification>().jti);
    expect((await stack.store.readQueue('tpp-alpha', 10)).items.map((i) => i.jti)).toEqual([first.json<Notification>().jti]);
  });

  it('reads one notification with its ETag, and lists them a page at a time', async () => {
    // Prepare
    const ids = [unique('n-list'), unique('n-list')];
    for (const notificationId of ids) await manage('POST', '/notifications', { notificationId, events: { [SESSION_REVOKED]: {} } });

    // Act
    const one = await manage('GET', `/notifications/${ids[0]}`);
    const pages: Notification[][] = [];
    let cursor: string | undefined;
    do {
      const res = await manage('GET', `/notifications?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      const page = res.json<{ items: Notification[]; nextCursor?: string }>();
      pages.push(page.items);
      cursor = page.nextCursor;
    } while (cursor);

    // Assess
    expect(one.status).toBe(200);
    expect(one.headers.etag).toBe('"1"');
    expect(one.json<Notification>().notificationId).toBe(ids[0]);
    expect(pages.every((p) => p.length === 1)).toBe(true);
    expect(pages.flat().map((n) => n.notificationId)).toEqual(expect.arrayContaining(ids));
  });

  it('withdraws an undelivered notification: its SET leaves the queue and its status says withdrawn', async () => {
    // Prepare
    await manage('POST', '/destinations', { clientId: 'tpp-beta' });
    const notificationId = unique('n-withdraw');
    const issued = (await manage('POST', '/notifications', { notificationId, events: { [CREDENTIAL_CHANGE]: {} } })).json<Notification>();
    expect((await stack.store.readQueue('tpp-beta', 10)).items.map((i) => i.jti)).toEqual([issued.jti]);

    // Act
    const stale = await manage('DELETE', `/notifications/${notificationId}`, undefined, { 'if-match': '"7"' });
    const withdrawn = await manage('DELETE', `/notifications/${notificationId}`, undefined, { 'if-match': '"1"' });
    const again = await manage('DELETE', `/notifications/${notificationId}`);
    const replace = await manage('PUT', `/notifications/${notificationId}`, { events: { [CREDENTIAL_CHANGE]: {} } });

    // Assess
    expectError(stale, 409, 'conflict');
    expect(withdrawn.status).toBe(200);
    expect(withdrawn.headers.etag).toBe('"2"');
    expect(withdrawn.json()).toMatchObject({ notificationId, state: 'withdrawn', fanOut: { withdrawn: 1, pending: false }, version: 2 });
    expect(again.status).toBe(200);
    expectError(replace, 409, 'conflict');
    expect((await stack.store.readQueue('tpp-beta', 10)).items).toEqual([]);
    expect((await stack.poll('tpp-beta')).json()).toEqual({ sets: {}, moreAvailable: false });
    expect(await status(notificationId)).toEqual([expect.objectContaining({ clientId: 'tpp-beta', state: 'withdrawn' })]);
  });

  it('replaces a notification with If-Match: the new revision takes the undelivered one’s place', async () => {
    // Prepare
    await manage('POST', '/destinations', { clientId: 'tpp-alpha' });
    const notificationId = unique('n-replace');
    const first = (await manage('POST', '/notifications', { notificationId, events: { [SESSION_REVOKED]: { n: 1 } } })).json<Notification>();

    // Act
    const renamed = await manage('PUT', `/notifications/${notificationId}`, { notificationId: 'other', events: { [SESSION_REVOKED]: { n: 2 } } });
    const replaced = await manage('PUT', `/notifications/${notificationId}`, { events: { [SESSION_REVOKED]: { n: 2 } } }, { 'if-match': '"1"' });
    const stale = await manage('PUT', `/notifications/${notificationId}`, { events: { [SESSION_REVOKED]: { n: 3 } } }, { 'if-match': '"1"' });

    // Assess
    expectError(renamed, 400, 'invalid_request');
    expect(replaced.status).toBe(200);
    expect(replaced.headers.etag).toBe('"2"');
    const second = replaced.json<Notification>();
    expect(second).toMatchObject({ revision: 2, version: 2, state: 'issued', claims: { events: { [SESSION_REVOKED]: { n: 2 } } }, fanOut: { queued: 1, withdrawn: 1, pending: false } });
    expect(second.jti).not.toBe(first.jti);
    expectError(stale, 409, 'conflict');
    expect((await stack.store.readQueue('tpp-alpha', 10)).items.map((i) => i.jti)).toEqual([second.jti]);
    expect(await status(notificationId)).toEqual([expect.objectContaining({ clientId: 'tpp-alpha', revision: 2, jti: second.jti, state: 'queued' })]);
  });

  it('bulk: each notification answered on its own; more than 100 is a 400', async () => {
    // Prepare
    await manage('POST', '/destinations', { clientId: 'tpp-alpha' });
    const existing = unique('n-bulk');
    await manage('POST', '/notifications', { notificationId: existing, events: { [SESSION_REVOKED]: {} } });
    const fresh = unique('n-bulk');

    // Act
    const res = await manage('POST', '/notifications/bulk', {
      notifications: [
        { notificationId: fresh, events: { [SESSION_REVOKED]: { k: 1 } } },
        { events: { 'not a uri': {} } },
        { notificationId: existing, events: { [CREDENTIAL_CHANGE]: {} } },
        { notificationId: existing, events: { [SESSION_REVOKED]: {} } },
      ],
    });
    const tooMany = await manage('POST', '/notifications/bulk', { notifications: Array.from({ length: 101 }, () => ({ events: { [SESSION_REVOKED]: {} } })) });

    // Assess
    expect(res.status).toBe(200);
    const result = res.json<IssueBulkResult>();
    expect(result.results.map((r) => r.status)).toEqual([201, 400, 409, 200]);
    expect(result.totals).toEqual({ succeeded: 2, failed: 2 });
    expect(result.results[0]!.notification).toMatchObject({ notificationId: fresh, state: 'issued', fanOut: { queued: 1 } });
    expectError(tooMany, 400, 'invalid_request');
  });
});

describe('ownership', () => {
  it("a provider can neither see nor change another provider's destinations and notifications", async () => {
    // Prepare
    await clearDestinations(PROVIDER);
    await clearDestinations(OTHER);
    const clientId = unique('owned');
    const second = unique('owned');
    const notificationId = unique('n-owned');
    await consent([clientId, second]);
    await consent([clientId], OTHER);
    await manage('POST', '/destinations', { clientId, eventTypes: [SESSION_REVOKED] });
    await manage('POST', '/destinations', { clientId: second });
    await manage('POST', '/notifications', { notificationId, events: { [SESSION_REVOKED]: {} } });
    const cursor = (await manage('GET', '/destinations?limit=1')).json<{ nextCursor: string }>().nextCursor;
    const other = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => stack.manage(OTHER, method, path, body, headers);

    // Act
    const hidden = await Promise.all([
      other('GET', `/destinations/${clientId}`),
      other('PUT', `/destinations/${clientId}`, { eventTypes: null }),
      other('DELETE', `/destinations/${clientId}`),
      other('GET', `/notifications/${notificationId}`),
      other('GET', `/notifications/${notificationId}/status`),
      other('PUT', `/notifications/${notificationId}`, { events: { [CREDENTIAL_CHANGE]: {} } }),
      other('DELETE', `/notifications/${notificationId}`),
    ]);
    const bulk = await other('POST', '/destinations/bulk', { operations: [{ op: 'delete', clientId }] });
    const lists = [await other('GET', '/destinations'), await other('GET', '/notifications')];
    const foreignCursor = await other('GET', `/destinations?cursor=${cursor}`);
    const ownCopy = await other('POST', '/destinations', { clientId });

    // Assess
    for (const res of hidden) expectError(res, 404, 'not_found');
    expect(bulk.json<BulkResult>().results[0]!.status).toBe(404);
    for (const res of lists) expect(res.json()).toEqual({ items: [] });
    expectError(foreignCursor, 400, 'invalid_request');
    expect(ownCopy.status).toBe(201);
    const mine = await manage('GET', `/destinations/${clientId}`);
    expect(mine.json<Destination>()).toMatchObject({ clientId, eventTypes: [SESSION_REVOKED], version: 1 });
    expect((await manage('GET', `/notifications/${notificationId}`)).json<Notification>()).toMatchObject({ state: 'issued', version: 1 });
  });
});

describe('a fan-out larger than one page', () => {
  let paged: TestStack;
  beforeAll(async () => {
    // One page of 2 destinations per call, no time budget: every call leaves the rest to the scheduler.
    paged = await startTestStack({ notifier: { fanOutPageSize: 2, fanOutBudgetMs: 0 } });
  });
  afterAll(() => paged?.stop());

  it('answers 202 with fanOut.pending, and completes through scheduled continuations', async () => {
    // Prepare
    const recipients = Array.from({ length: 7 }, (_, i) => `page-${i}`);
    await consent(recipients, PROVIDER, paged);
    const bulk = await paged.manage(PROVIDER, 'POST', '/destinations/bulk', { operations: recipients.map((clientId) => ({ op: 'register', clientId })) });
    expect(bulk.json<BulkResult>().totals.succeeded).toBe(7);

    // Act
    const issued = await paged.manage(PROVIDER, 'POST', '/notifications', { notificationId: 'n-paged', events: { [SESSION_REVOKED]: {} } });
    const done = await waitFor(
      async () => (await paged.manage(PROVIDER, 'GET', '/notifications/n-paged')).json<Notification>(),
      (n) => !n.fanOut.pending,
    );

    // Assess
    expect(issued.status).toBe(202);
    expect(issued.headers.location).toBe('/notifications/n-paged');
    expect(issued.json()).toMatchObject({ state: 'fanning_out', fanOut: { queued: 2, pending: true } });
    expect(done).toMatchObject({ state: 'issued', fanOut: { queued: 7, skipped: 0, pending: false } });
    for (const clientId of recipients) {
      expect((await paged.store.readQueue(clientId, 10)).items.map((i) => i.jti)).toEqual([done.jti]);
    }
    const statuses: DestinationStatus[] = [];
    let cursor: string | undefined;
    do {
      const page = (await paged.manage(PROVIDER, 'GET', `/notifications/n-paged/status?limit=3${cursor ? `&cursor=${cursor}` : ''}`)).json<{ items: DestinationStatus[]; nextCursor?: string }>();
      statuses.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    expect(statuses.map((s) => [s.clientId, s.state])).toEqual(recipients.map((clientId) => [clientId, 'queued']));
  });

  it('withdraws across pages through continuations as well', async () => {
    // Prepare: the destinations of the previous test; a new notification, fanned out completely.
    await paged.manage(PROVIDER, 'POST', '/notifications', { notificationId: 'n-paged-w', events: { [SESSION_REVOKED]: {} } });
    await waitFor(async () => (await paged.manage(PROVIDER, 'GET', '/notifications/n-paged-w')).json<Notification>(), (n) => !n.fanOut.pending);

    // Act
    const withdrawing = await paged.manage(PROVIDER, 'DELETE', '/notifications/n-paged-w');
    const done = await waitFor(async () => (await paged.manage(PROVIDER, 'GET', '/notifications/n-paged-w')).json<Notification>(), (n) => !n.fanOut.pending);

    // Assess
    expect(withdrawing.status).toBe(200);
    expect(withdrawing.json()).toMatchObject({ state: 'withdrawn', fanOut: { pending: true } });
    expect(done).toMatchObject({ state: 'withdrawn', fanOut: { withdrawn: 7, pending: false } });
    expect((await paged.store.readQueue('page-0', 10)).items.map((i) => i.jti)).not.toContain(done.jti);
  });
});

describe('the fan-out continuation event (the async self-invocation)', () => {
  const context = () => lambdaContext({ functionName: 'setpoll-management', timeoutMs: 60_000 });

  it('continues a fan-out one step per event, and drops a malformed or unknown one without throwing', async () => {
    // Prepare: a service without a scheduler stops after each page; the event drives it on.
    const signer = await JwkSigner.fromJwk(await loadOrCreateSigningJwk(stack.signingKeyFile));
    const { notifications } = createNotifierServices({
      client: stack.documentClient,
      tableName: stack.config.dynamodb.tableName,
      queue: stack.store,
      signer,
      issuer: stack.config.issuer,
      fanOutPageSize: 1,
      fanOutBudgetMs: 0,
    });
    const handler = createManagementHandler({
      authorizations: stack.authorizations,
      review: stack.review,
      destinations: stack.destinations,
      notifications,
      authenticator: new ClientAuthenticator({ registry: stack.registry, realm: 'setpoll' }),
      tokens: new AccessTokenVerifier({ keys: createLocalJWKSet({ keys: [] }), issuer: 'unused', audience: 'unused', realm: 'setpoll' }),
      publicKeys: async () => [stack.publicJwk],
      logger: stack.logger,
    });
    await clearDestinations(PROVIDER);
    await consent(['cont-1', 'cont-2', 'cont-3']);
    for (const clientId of ['cont-1', 'cont-2', 'cont-3']) await stack.destinations.register(PROVIDER, { clientId });
    const issued = await notifications.issue(PROVIDER, { notificationId: unique('n-cont'), events: { [SESSION_REVOKED]: {} } });
    const event = { setpollFanOut: { providerId: PROVIDER, notificationId: issued.notification.notificationId } };

    // Act
    const steps = [];
    for (let i = 0; i < 5; i++) {
      const out = await handler(event, context());
      steps.push(JSON.parse(out.body ?? '{}') as { done: boolean });
      if (steps.at(-1)!.done) break;
    }
    const unknown = await handler({ setpollFanOut: { providerId: PROVIDER, notificationId: 'no-such' } }, context());
    const malformed = await handler({ setpollFanOut: { providerId: PROVIDER } } as never, context());

    // Assess
    expect(issued).toMatchObject({ done: false, scheduled: false });
    expect(steps.at(-1)).toEqual({ done: true, scheduled: false, contended: false });
    expect((await notifications.get(PROVIDER, issued.notification.notificationId)).fanOut).toMatchObject({ queued: 3, pending: false });
    expect(unknown.statusCode).toBe(404);
    expect(malformed.statusCode).toBe(400);
    await clearDestinations(PROVIDER);
  });

  it('LambdaSelfScheduler invokes this function asynchronously with the continuation event', async () => {
    // Prepare
    const sent: InvokeCommand[] = [];
    const scheduler = new LambdaSelfScheduler({ lambda: { send: async (command: unknown) => void sent.push(command as InvokeCommand) } as never, functionName: 'setpoll-mgmt' });
    const failing = new LambdaSelfScheduler({ lambda: { send: async () => Promise.reject(new Error('throttled')) } as never, functionName: 'setpoll-mgmt' });

    // Act
    await scheduler.schedule('provider-demo', 'n-1');
    const refused = await failing.schedule('provider-demo', 'n-1').catch((error: unknown) => error);

    // Assess
    expect(sent).toHaveLength(1);
    const input = sent[0]!.input;
    expect({ ...input, Payload: JSON.parse(new TextDecoder().decode(input.Payload as Uint8Array)) }).toEqual({
      FunctionName: 'setpoll-mgmt',
      InvocationType: 'Event',
      Payload: { setpollFanOut: { providerId: 'provider-demo', notificationId: 'n-1' } },
    });
    expect(refused).toBeInstanceOf(ServiceUnavailable);
  });

  it('depsFromEnv names the first missing setting and makes no network call', () => {
    // Prepare
    const env = {
      SETPOLL_TABLE_NAME: 't',
      SETPOLL_ISSUER: 'https://events.bank.example',
      SETPOLL_SIGNING_KEY_ID: 'alias/setpoll',
      AWS_LAMBDA_FUNCTION_NAME: 'setpoll-management',
      SETPOLL_TOKEN_JWKS_URL: 'https://as.bank.example/jwks',
      SETPOLL_TOKEN_ISSUER: 'https://as.bank.example',
      SETPOLL_TOKEN_AUDIENCE: 'https://events.bank.example',
      AWS_REGION: 'eu-west-2',
    };

    // Act
    const { SETPOLL_SIGNING_KEY_ID: _k, ...withoutKey } = env;

    // Assess
    expect(() => depsFromEnv(withoutKey)).toThrow('SETPOLL_SIGNING_KEY_ID is required');
    expect(() => depsFromEnv({ ...env, SETPOLL_SIGNING_ALG: 'HS256' })).toThrow(TypeError);
    expect(depsFromEnv(env)).toMatchObject({ maxRequestBytes: 1_048_576 });
  });
});

describe('logs', () => {
  it('carry the interaction id, provider and route, but never claims, tokens or certificate PEMs', async () => {
    // Prepare: capture what the Powertools logger writes while a provider works through the API.
    const captured = new OutputCapture();
    const logged = await startTestStack({ logger: new Logger({ serviceName: 'setpoll', logLevel: 'DEBUG' }), notifier: { fanOutPageSize: 1, fanOutBudgetMs: 0 } });
    const token = await logged.token(PROVIDER, 'notifications:write notifications:read');
    let issued: Notification;
    captured.start();
    try {
      // Act
      await logged.manage(PROVIDER, 'POST', '/destinations/bulk', { operations: [{ op: 'register', clientId: 'tpp-alpha' }, { op: 'register', clientId: 'tpp-beta' }] });
      issued = (
        await logged.manage(
          PROVIDER,
          'POST',
          '/notifications',
          { notificationId: 'n-logged', events: { [ACCOUNT_DISABLED]: { reason: 'secret-reason' } }, sub: 'secret-subject' },
          { 'x-fapi-interaction-id': 'trace-mgmt-1' },
        )
      ).json<Notification>();
      await waitFor(async () => (await logged.manage(PROVIDER, 'GET', '/notifications/n-logged')).json<Notification>(), (n) => !n.fanOut.pending);
      await logged.manage(PROVIDER, 'POST', '/destinations', { clientId: 'secret-body' }, { authorization: `Bearer ${token}x` });
      await logged.manage(PROVIDER, 'POST', '/notifications', '{"events": {"secret-unterminated', { 'x-fapi-interaction-id': 'trace-mgmt-2' });
    } finally {
      captured.stop();
    }
    const set = (await logged.store.readQueue('tpp-alpha', 10)).items[0]!.set;
    const material = logged.client(PROVIDER);
    await logged.stop();

    // Assess
    const log = captured.text();
    const lines = log.split('\n').filter((l) => l.startsWith('{'));
    expect(lines.some((l) => l.includes('"interactionId":"trace-mgmt-1"') && l.includes('"providerId":"provider-demo"') && l.includes('"route":"POST /notifications"'))).toBe(true);
    expect(lines.some((l) => l.includes('"interactionId":"trace-mgmt-2"') && l.includes('"code":"invalid_request"'))).toBe(true);
    expect(lines.some((l) => l.includes('Fan-out continued') && l.includes('"notificationId":"n-logged"'))).toBe(true);
    expect(issued!.jti).toEqual(expect.any(String));
    for (const secret of [set, ...set.split('.'), token, token.split('.')[1]!, 'secret-reason', 'secret-subject', 'secret-body', 'secret-unterminated']) {
      expect(log).not.toContain(secret);
    }
    expect(log).not.toContain('BEGIN CERTIFICATE');
    expect(log).not.toContain('PRIVATE KEY');
    expect(log).not.toContain(material.cert.split('\n')[1]!);
  });
});
