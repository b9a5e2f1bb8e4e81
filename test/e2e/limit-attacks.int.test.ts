/**
 * Per-provider limits against a provider trying to get round them, over real mutual TLS on the
 * local stack with small limits: bulk cannot exceed the rate (429 with Retry-After, nothing
 * written), and the destination count cannot be driven down by deleting what is not there.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpsResponse } from '../support/https-client.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';
import { SESSION_REVOKED } from '../support/event-types.ts';

const PROVIDER = 'provider-demo';
const EVENTS = { [SESSION_REVOKED]: {} };
const RECIPIENTS = ['att-1', 'att-2', 'att-3', 'att-4'];

let stack: TestStack;
const manage = (method: string, path: string, body?: unknown) => stack.manage(PROVIDER, method, path, body);
const answer = (res: HttpsResponse) => ({ status: res.status, body: res.json() });

beforeAll(async () => {
  stack = await startTestStack({ notifier: { limits: { maxDestinations: 3, notificationsPerMinute: 2, maxBulkItems: 4, maxSetsPerRequest: 12 } } });
  for (const id of RECIPIENTS) await stack.authorizations.authorize(id, PROVIDER, 'operator');
});
afterAll(() => stack?.stop());

describe('per-provider limits under attack', () => {
  it('a bulk request cannot go past the rate: 429 with Retry-After, nothing written, withdrawals still allowed', async () => {
    // Prepare: one destination; start early enough in a minute that its window holds the whole test.
    expect((await manage('POST', '/destinations', { clientId: 'att-1' })).status).toBe(201);
    const second = new Date().getUTCSeconds();
    if (second > 45) await sleep((61 - second) * 1000);
    expect((await manage('POST', '/notifications', { notificationId: 'rate-1', events: EVENTS })).status).toBe(201);
    expect((await manage('POST', '/notifications', { notificationId: 'rate-2', events: EVENTS })).status).toBe(201);
    const queuedBefore = (await stack.store.readQueue('att-1', 100)).items.length;

    // Act
    const issues = await manage('POST', '/notifications/bulk', { operations: [{ op: 'issue', notificationId: 'rate-3', events: EVENTS }] });
    const legacy = await manage('POST', '/notifications/bulk', { notifications: [{ notificationId: 'rate-4', events: EVENTS }] });
    const replaces = await manage('POST', '/notifications/bulk', { operations: [{ op: 'replace', notificationId: 'rate-1', events: { [SESSION_REVOKED]: { again: true } } }] });
    const mixed = await manage('POST', '/notifications/bulk', {
      operations: [
        { op: 'withdraw', notificationId: 'rate-2' },
        { op: 'issue', notificationId: 'rate-5', events: EVENTS },
      ],
    });
    const withdrawals = await manage('POST', '/notifications/bulk', { operations: [{ op: 'withdraw', notificationId: 'rate-2' }] });

    // Assess
    for (const res of [issues, legacy, replaces, mixed]) {
      const retryAfter = Number(res.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(answer(res)).toEqual({
        status: 429,
        body: { err: 'too_many_requests', description: `This Data Provider may issue or replace 2 notifications a minute: retry in ${retryAfter} s` },
      });
    }
    for (const id of ['rate-3', 'rate-4', 'rate-5']) expect((await manage('GET', `/notifications/${id}`)).status).toBe(404);
    expect((await manage('GET', '/notifications/rate-1')).json<{ revision: number }>().revision).toBe(1);
    expect(withdrawals.status).toBe(200);
    expect(withdrawals.json<{ results: { status: number; notification: { state: string } }[] }>().results.map((r) => [r.status, r.notification.state])).toEqual([[200, 'withdrawn']]);
    // rate-2's SET left the queue; nothing new arrived.
    expect((await stack.store.readQueue('att-1', 100)).items.length).toBe(queuedBefore - 1);
  });

  it('deleting destinations that are not there, twice, or in a bulk cannot make room past the limit', async () => {
    // Prepare: att-1 is held (the test above, or here when it runs alone); hold three.
    for (const clientId of ['att-1', 'att-2', 'att-3']) expect([201, 409]).toContain((await manage('POST', '/destinations', { clientId })).status);

    // Act
    const unknown = await manage('DELETE', '/destinations/att-4');
    const first = await manage('DELETE', '/destinations/att-3');
    const again = await manage('DELETE', '/destinations/att-3');
    const bulkTwice = await manage('POST', '/destinations/bulk', { operations: [{ op: 'delete', clientId: 'att-4' }, { op: 'delete', clientId: 'att-4' }, { op: 'delete', clientId: 'nobody' }] });
    const atomicSwap = await manage('POST', '/destinations/bulk', { atomic: true, operations: [{ op: 'register', clientId: 'att-4' }, { op: 'delete', clientId: 'nobody' }] });
    const refill = await manage('POST', '/destinations', { clientId: 'att-3' });
    const over = await manage('POST', '/destinations', { clientId: 'att-4' });

    // Assess
    const missing = (clientId: string) => ({ err: 'not_found', description: `No destination ${clientId}` });
    expect(answer(unknown)).toEqual({ status: 404, body: missing('att-4') });
    expect(first.status).toBe(204);
    expect(answer(again)).toEqual({ status: 404, body: missing('att-3') });
    expect(bulkTwice.json<{ results: unknown[] }>().results).toEqual([
      { index: 0, clientId: 'att-4', ok: false, status: 404, error: missing('att-4') },
      { index: 1, clientId: 'att-4', ok: false, status: 404, error: missing('att-4') },
      { index: 2, clientId: 'nobody', ok: false, status: 404, error: missing('nobody') },
    ]);
    expect(atomicSwap.json<{ applied: boolean; results: { status: number }[] }>()).toMatchObject({ applied: false, results: [{ status: 424 }, { status: 404 }] });
    expect(refill.status).toBe(201);
    expect(answer(over)).toEqual({ status: 409, body: { err: 'conflict', description: 'This Data Provider holds its limit of 3 destinations: delete one first' } });
    expect((await manage('GET', '/destinations')).json<{ items: { clientId: string }[] }>().items.map((d) => d.clientId)).toEqual(['att-1', 'att-2', 'att-3']);
  });
});
