/**
 * A recipient's own routes over real mutual TLS: the Data Providers it authorizes, with its own
 * certificate-bound token and the scope notifications:recipient.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../support/local-stack.ts';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('/recipient/authorizations', () => {
  let stack: TestStack;
  /** A call as `clientId` with a token of `scope`. */
  const as = async (clientId: string, scope: string, method: string, path: string) =>
    stack.manage(clientId, method, path, undefined, { authorization: `Bearer ${await stack.token(clientId, scope)}` });

  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('lists the providers the local stack authorized for a demo recipient', async () => {
    // Act
    const res = await as('tpp-beta', 'notifications:recipient', 'GET', '/recipient/authorizations');

    // Assess
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ items: [{ providerId: 'provider-demo', grantedBy: 'operator', authorizedAt: expect.stringMatching(ISO) }] });
  });

  it('authorizes a provider (201, then 200), lists it, removes it (200), and answers 404 for one not authorized', async () => {
    // Act
    const created = await as('tpp-alpha', 'notifications:recipient', 'PUT', '/recipient/authorizations/provider-x');
    const again = await as('tpp-alpha', 'notifications:recipient', 'PUT', '/recipient/authorizations/provider-x');
    const listed = await as('tpp-alpha', 'notifications:recipient', 'GET', '/recipient/authorizations?limit=1');
    const next = await as('tpp-alpha', 'notifications:recipient', 'GET', `/recipient/authorizations?limit=1&cursor=${listed.json<{ nextCursor: string }>().nextCursor}`);
    const removed = await as('tpp-alpha', 'notifications:recipient', 'DELETE', '/recipient/authorizations/provider-x');
    const removedAgain = await as('tpp-alpha', 'notifications:recipient', 'DELETE', '/recipient/authorizations/provider-x');
    const betaUnchanged = await as('tpp-beta', 'notifications:recipient', 'GET', '/recipient/authorizations');

    // Assess
    expect([created.status, created.json()]).toEqual([201, { providerId: 'provider-x', grantedBy: 'recipient', authorizedAt: expect.stringMatching(ISO) }]);
    expect([again.status, again.json()]).toEqual([200, created.json()]);
    expect(listed.json()).toEqual({ items: [{ providerId: 'provider-demo', grantedBy: 'operator', authorizedAt: expect.stringMatching(ISO) }], nextCursor: expect.any(String) });
    expect(next.json()).toEqual({ items: [created.json()] });
    expect([removed.status, removed.json()]).toEqual([200, { providerId: 'provider-x', withdrawn: 0 }]);
    expect([removedAgain.status, removedAgain.json()]).toEqual([404, { err: 'not_found', description: 'provider-x is not authorized to notify this recipient' }]);
    expect(betaUnchanged.json<{ items: unknown[] }>().items).toHaveLength(1);
  });

  it('answers 403 insufficient_scope to a polling token and to a provider\'s token, and 400 to a provider id that breaks the rule', async () => {
    // Act
    const pollingToken = await as('tpp-alpha', 'accounts', 'GET', '/recipient/authorizations');
    const providerToken = await as('provider-demo', 'notifications:write notifications:read', 'PUT', '/recipient/authorizations/provider-y');
    const badId = await as('tpp-alpha', 'notifications:recipient', 'PUT', '/recipient/authorizations/bad%23id');

    // Assess
    for (const res of [pollingToken, providerToken]) {
      expect(res.status).toBe(403);
      expect(res.json()).toEqual({ err: 'insufficient_scope', description: 'The access token lacks a scope this endpoint requires' });
      expect(res.headers['www-authenticate']).toBe('Bearer realm="setpoll", error="insufficient_scope", scope="notifications:recipient"');
    }
    expect([badId.status, badId.json()]).toEqual([400, { err: 'invalid_request', description: 'providerId must be 1 to 128 printable ASCII characters without spaces or any of # / ? %, and not "." or ".."' }]);
  });
});
