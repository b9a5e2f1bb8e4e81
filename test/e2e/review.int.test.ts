/**
 * A recipient reviews the notifications addressed to it (GET /recipient/notifications) over real
 * mutual TLS, with its own token (scope notifications:recipient): each SET with its delivery state,
 * a page at a time, and never another recipient's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AddressedNotification } from '../../lambdas/notifier/recipient-review.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';

const PROVIDER = 'provider-demo';
const EVENTS = { 'https://schemas.openid.net/secevent/caep/event-type/session-revoked': {} };
const ISO = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
  for (const clientId of ['tpp-alpha', 'tpp-beta']) expect((await stack.manage(PROVIDER, 'POST', '/destinations', { clientId })).status).toBe(201);
});
afterAll(() => stack?.stop());

/** A recipient's own call (scope notifications:recipient). */
const review = async (clientId: string, query = '', scope = 'notifications:recipient') =>
  stack.manage(clientId, 'GET', `/recipient/notifications${query}`, undefined, { authorization: `Bearer ${await stack.token(clientId, scope)}` });

const issue = async (notificationId: string) => {
  const res = await stack.manage(PROVIDER, 'POST', '/notifications', { notificationId, events: EVENTS });
  expect(res.status).toBe(201);
  return res.json<{ jti: string }>().jti;
};

/** Everything tpp-alpha can poll now, by jti. */
const pollAlpha = async (body: Record<string, unknown> = {}) =>
  Object.keys((await stack.poll('tpp-alpha', { returnImmediately: true, ...body })).json<{ sets: Record<string, string> }>().sets);

describe('GET /recipient/notifications', () => {
  it('lists each notification addressed to the recipient with its delivery state, a page at a time', async () => {
    // Prepare: five notifications reach tpp-alpha and tpp-beta; tpp-alpha acknowledges one, reports
    // one as an error, holds one on lease; the provider withdraws one; one stays queued.
    const acked = await issue('r-acked');
    await pollAlpha({ maxEvents: 1 });
    await pollAlpha({ maxEvents: 0, ack: [acked] });
    const errored = await issue('r-errored');
    await pollAlpha({ maxEvents: 1 });
    await pollAlpha({ maxEvents: 0, setErrs: { [errored]: { err: 'invalid_key', description: 'Unknown kid' } } });
    const delivered = await issue('r-delivered');
    expect(await pollAlpha({ maxEvents: 1 })).toEqual([delivered]);
    const withdrawn = await issue('r-withdrawn');
    expect((await stack.manage(PROVIDER, 'DELETE', '/notifications/r-withdrawn')).status).toBe(200);
    const queued = await issue('r-queued');

    // Act
    const first = await review('tpp-alpha', '?limit=3');
    const second = await review('tpp-alpha', `?limit=3&cursor=${first.json<{ nextCursor: string }>().nextCursor}`);
    const beta = await review('tpp-beta');

    // Assess
    const entry = (notificationId: string, jti: string, state: string, extra: Record<string, unknown> = {}) => ({
      providerId: PROVIDER,
      notificationId,
      jti,
      revision: 1,
      state,
      queuedAt: ISO,
      expiresAt: ISO,
      ...extra,
    });
    expect(first.status).toBe(200);
    expect(first.json()).toEqual({
      items: [
        entry('r-acked', acked, 'acknowledged'),
        entry('r-errored', errored, 'errored', { err: 'invalid_key', description: 'Unknown kid', at: ISO }),
        entry('r-delivered', delivered, 'delivered'),
      ],
      nextCursor: expect.any(String),
    });
    expect(second.json()).toEqual({ items: [entry('r-withdrawn', withdrawn, 'withdrawn', { at: ISO }), entry('r-queued', queued, 'queued')] });
    expect(beta.json<{ items: AddressedNotification[] }>().items.map((n) => [n.notificationId, n.state])).toEqual([
      ['r-acked', 'queued'],
      ['r-errored', 'queued'],
      ['r-delivered', 'queued'],
      ['r-withdrawn', 'withdrawn'],
      ['r-queued', 'queued'],
    ]);
  });

  it("never shows another recipient's entries: its cursor is a 400, a polling or provider token a 403, a recipient with none sees none", async () => {
    // Prepare
    const alphaCursor = (await review('tpp-alpha', '?limit=1')).json<{ nextCursor: string }>().nextCursor;

    // Act
    const foreign = await review('tpp-beta', `?cursor=${alphaCursor}`);
    const pollingToken = await review('tpp-alpha', '', 'accounts');
    const providerToken = await stack.manage(PROVIDER, 'GET', '/recipient/notifications');
    await stack.mintClient('tpp-gamma');
    const none = await review('tpp-gamma');

    // Assess
    expect(foreign.status).toBe(400);
    expect(foreign.json<{ err: string }>().err).toBe('invalid_request');
    for (const res of [pollingToken, providerToken]) {
      expect({ status: res.status, body: res.json() }).toEqual({ status: 403, body: { err: 'insufficient_scope', description: 'The access token lacks a scope this endpoint requires' } });
    }
    expect({ status: none.status, body: none.json() }).toEqual({ status: 200, body: { items: [] } });
  });
});
