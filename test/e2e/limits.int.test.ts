/**
 * Per-provider limits as a Data Provider meets them over real mutual TLS (small limits configured
 * on the local stack): each is a 4xx with the documented body, 429 with Retry-After for the rate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../support/local-stack.ts';

const PROVIDER = 'provider-demo';
const EVENTS = { 'https://schemas.openid.net/secevent/caep/event-type/session-revoked': {} };

let stack: TestStack;
const manage = (method: string, path: string, body?: unknown) => stack.manage(PROVIDER, method, path, body);

beforeAll(async () => {
  stack = await startTestStack({ notifier: { limits: { maxDestinations: 3, notificationsPerMinute: 2, maxClaimsBytes: 1024, maxBulkItems: 2, maxSetsPerRequest: 4 } } });
  for (const id of ['lim-1', 'lim-2', 'lim-3', 'lim-4']) await stack.authorizations.authorize(id, PROVIDER, 'operator');
});
afterAll(() => stack?.stop());

const answer = (res: { status: number; json: <T>() => T }) => ({ status: res.status, body: res.json() });

describe('limits per Data Provider', () => {
  it('409 past the destinations it may hold, 400 past the bulk size and the SETs one request may sign', async () => {
    // Prepare
    for (const clientId of ['lim-1', 'lim-2', 'lim-3']) expect((await manage('POST', '/destinations', { clientId })).status).toBe(201);

    // Act
    const fourth = await manage('POST', '/destinations', { clientId: 'lim-4' });
    const bulkTooBig = await manage('POST', '/destinations/bulk', { operations: [1, 2, 3].map((i) => ({ op: 'delete', clientId: `lim-${i}` })) });
    const signsTooMany = await manage('POST', '/notifications/bulk', { notifications: [1, 2].map((i) => ({ notificationId: `lim-n-${i}`, events: EVENTS })) });

    // Assess
    expect(answer(fourth)).toEqual({ status: 409, body: { err: 'conflict', description: 'This Data Provider holds its limit of 3 destinations: delete one first' } });
    expect(answer(bulkTooBig)).toEqual({ status: 400, body: { err: 'invalid_request', description: 'A bulk request holds 1 to 2 operations' } });
    expect(answer(signsTooMany)).toEqual({
      status: 400,
      body: {
        err: 'invalid_request',
        description: 'This request could sign 6 SETs (2 notifications × 3 destinations), over the limit of 4 per request: send at most 1 notifications per request',
      },
    });
  });

  it('400 for claims over the size limit, 429 with Retry-After past the rate', async () => {
    // Act
    const big = await manage('POST', '/notifications', { notificationId: 'lim-big', events: { [Object.keys(EVENTS)[0]!]: { reason: 'x'.repeat(1024) } } });
    // Two notifications a minute: within at most five tries (a minute may end between two), one is refused.
    const statuses: number[] = [];
    let refused: Awaited<ReturnType<typeof manage>> | undefined;
    for (let i = 0; i < 5 && !refused; i++) {
      const res = await manage('POST', '/notifications', { notificationId: `lim-rate-${i}`, events: EVENTS });
      statuses.push(res.status);
      if (res.status === 429) refused = res;
    }

    // Assess
    expect(answer(big)).toEqual({ status: 400, body: { err: 'invalid_request', description: 'The claims must not exceed 1024 bytes of JSON' } });
    expect(refused).toBeDefined();
    const retryAfter = Number(refused!.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(answer(refused!)).toEqual({
      status: 429,
      body: { err: 'too_many_requests', description: `This Data Provider may issue or replace 2 notifications a minute: retry in ${retryAfter} s` },
    });
    expect(statuses.slice(0, 2)).toEqual([201, 201]);
  });
});
