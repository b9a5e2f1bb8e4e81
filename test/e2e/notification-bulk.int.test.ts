/**
 * Bulk for notifications covers replace and withdraw, not only issue (the Notifier's "register,
 * update, or delete multiple notifications in bulk"), over real mutual TLS: one result per item,
 * as destination bulk reports them, and the recipient's queue changes accordingly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssueBulkResult, Notification } from '../../lambdas/notifier/notifications.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';
import { SESSION_REVOKED } from '../support/event-types.ts';

const PROVIDER = 'provider-demo';
const EVENTS = { [SESSION_REVOKED]: {} };

let stack: TestStack;
const manage = (method: string, path: string, body?: unknown) => stack.manage(PROVIDER, method, path, body);

beforeAll(async () => {
  stack = await startTestStack();
  expect((await manage('POST', '/destinations', { clientId: 'tpp-alpha' })).status).toBe(201);
});
afterAll(() => stack?.stop());

const queued = async () => (await stack.store.readQueue('tpp-alpha', 100)).items.map((i) => i.jti).sort();

describe('POST /notifications/bulk with operations', () => {
  it('issues, replaces and withdraws in one request, answering each operation on its own', async () => {
    // Prepare
    const issued: Record<string, Notification> = {};
    for (const id of ['b-1', 'b-2', 'b-3']) issued[id] = (await manage('POST', '/notifications', { notificationId: id, events: EVENTS })).json<Notification>();

    // Act
    const res = await manage('POST', '/notifications/bulk', {
      operations: [
        { op: 'replace', notificationId: 'b-1', expectedVersion: 1, events: { [SESSION_REVOKED]: { reason: 'again' } } },
        { op: 'withdraw', notificationId: 'b-2' },
        { op: 'issue', notificationId: 'b-4', events: EVENTS },
        { op: 'replace', notificationId: 'b-missing', events: EVENTS },
        { op: 'withdraw', notificationId: 'b-3', expectedVersion: 9 },
        { op: 'frobnicate', notificationId: 'b-5' },
        { op: 'withdraw', notificationId: 'b-1' },
        { op: 'withdraw', notificationId: 'b-6', events: EVENTS },
      ],
    });

    // Assess
    expect(res.status).toBe(200);
    const body = res.json<IssueBulkResult>();
    const summary = body.results.map((r) => [r.index, r.notificationId, r.status, r.error?.err ?? null, r.error?.description ?? null]);
    expect(summary).toEqual([
      [0, 'b-1', 200, null, null],
      [1, 'b-2', 200, null, null],
      [2, 'b-4', 201, null, null],
      [3, 'b-missing', 404, 'not_found', 'No notification b-missing'],
      [4, 'b-3', 409, 'conflict', 'The notification b-3 is at version 1, not 9; read it and retry'],
      [5, 'b-5', 400, 'invalid_request', 'op must be "issue", "replace" or "withdraw"'],
      [6, 'b-1', 400, 'invalid_request', 'notificationId b-1 appears more than once in the bulk request'],
      [7, 'b-6', 400, 'invalid_request', 'Unknown member "events" in a withdraw operation'],
    ]);
    expect(body.totals).toEqual({ succeeded: 3, failed: 5 });
    const [replaced, withdrawn, fresh] = body.results.map((r) => r.notification);
    expect(replaced).toMatchObject({ notificationId: 'b-1', revision: 2, version: 2, state: 'issued', fanOut: { queued: 1, withdrawn: 1, pending: false } });
    expect(withdrawn).toMatchObject({ notificationId: 'b-2', state: 'withdrawn', fanOut: { withdrawn: 1, pending: false } });
    expect(fresh).toMatchObject({ notificationId: 'b-4', revision: 1, state: 'issued' });
    expect(await queued()).toEqual([replaced!.jti, issued['b-3']!.jti, fresh!.jti].sort());
  });

  it('refuses a request with both notifications and operations, or with neither', async () => {
    // Act
    const both = await manage('POST', '/notifications/bulk', { notifications: [{ events: EVENTS }], operations: [{ op: 'issue', events: EVENTS }] });
    const neither = await manage('POST', '/notifications/bulk', {});

    // Assess
    for (const res of [both, neither]) {
      expect({ status: res.status, body: res.json() }).toEqual({ status: 400, body: { err: 'invalid_request', description: 'Give exactly one of notifications and operations' } });
    }
  });
});
