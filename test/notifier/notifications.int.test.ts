import { ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { Conflict, InvalidRequest, NotFound } from '../../lambdas/core/errors.ts';
import type { DestinationStatus, NotificationInput } from '../../lambdas/notifier/notifications.ts';
import { LeaseConflict } from '../../lambdas/store/queue-store.ts';
import { encodeCursor } from '../../lambdas/store/notifier-cursor.ts';
import { ACCOUNT_DISABLED, CREDENTIAL_CHANGE, ISSUER, SESSION_REVOKED, T0, gate, recordingScheduler, setupNotifier } from './support.ts';

type Setup = Awaited<ReturnType<typeof setupNotifier>>;

const SESSION_EVENT = { [SESSION_REVOKED]: { initiating_entity: 'policy' } };
const CREDENTIAL_EVENT = { [CREDENTIAL_CHANGE]: { credential_type: 'password', change_type: 'update' } };
const UUIDV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Registers destinations of one provider: clientId -> eventTypes (undefined: every type). */
async function register(env: Setup, providerId: string, destinations: Record<string, string[] | undefined>): Promise<void> {
  for (const [clientId, eventTypes] of Object.entries(destinations)) {
    await env.destinations.register(providerId, { clientId, ...(eventTypes ? { eventTypes } : {}) });
  }
}

/** Every receipt status of a notification, by clientId (all pages). */
async function statuses(env: Setup, providerId: string, id: string): Promise<Record<string, DestinationStatus>> {
  const out: Record<string, DestinationStatus> = {};
  let cursor: string | undefined;
  do {
    const page = await env.notifications.status(providerId, id, { limit: 100, ...(cursor ? { cursor } : {}) });
    for (const item of page.items) out[item.clientId] = item;
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

const states = (all: Record<string, DestinationStatus>) => Object.fromEntries(Object.entries(all).map(([k, v]) => [k, v.state]));

/** Runs continuations until the fan-out is done; answers how many it took. */
async function finish(env: Setup, providerId: string, id: string): Promise<number> {
  for (let calls = 1; calls < 1000; calls++) {
    if ((await env.notifications.continueFanOut(providerId, id)).done) return calls;
  }
  throw new Error('The fan-out never finished');
}

/** Every queued SET in the table: [clientId, jti]. */
async function allQueuedSets(env: Setup): Promise<[string, string][]> {
  const found: [string, string][] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await env.client.send(
      new ScanCommand({
        TableName: env.tableName,
        FilterExpression: 'begins_with(pk, :q) AND begins_with(sk, :s)',
        ExpressionAttributeValues: { ':q': 'Q#', ':s': 'S#' },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of out.Items ?? []) found.push([String(item.pk).slice(2), String(item.jti)]);
    start = out.LastEvaluatedKey;
  } while (start);
  return found.sort();
}

describe('NotificationService', () => {
  describe('issue', () => {
    it('queues one signed SET to exactly the destinations whose event types match, each verifying with the public key', async () => {
      // Prepare: PS256, the OB profile's algorithm.
      const env = await setupNotifier({ alg: 'PS256' });
      await register(env, 'prov-a', {
        'd-all': undefined,
        'd-session': [SESSION_REVOKED],
        'd-both': [CREDENTIAL_CHANGE, SESSION_REVOKED],
        'd-credential': [CREDENTIAL_CHANGE],
        'd-other': [ACCOUNT_DISABLED],
      });
      const input: NotificationInput = { notificationId: 'n-1', events: SESSION_EVENT, sub_id: { format: 'opaque', id: 'user-1' }, txn: 'txn-1', toe: 1_789_999_000 };
      // Act
      const out = await env.notifications.issue('prov-a', input);
      // Assess
      expect(out).toMatchObject({ done: true, created: true, scheduled: false });
      const { notification } = out;
      expect(notification).toMatchObject({
        notificationId: 'n-1',
        revision: 1,
        state: 'issued',
        version: 1,
        iat: T0 / 1000,
        ttlSeconds: 7 * 86_400,
        claims: { events: SESSION_EVENT, sub_id: { format: 'opaque', id: 'user-1' }, txn: 'txn-1', toe: 1_789_999_000 },
        fanOut: { queued: 3, skipped: 2, withdrawn: 0, pending: false },
      });
      expect(notification.jti).toMatch(UUIDV7);
      for (const clientId of ['d-all', 'd-session', 'd-both']) {
        const [item, ...rest] = (await env.store.readQueue(clientId, 10)).items;
        expect(rest).toEqual([]);
        expect(item).toMatchObject({ jti: notification.jti, ttl: T0 / 1000 + 7 * 86_400 });
        expect(decodeProtectedHeader(item!.set)).toEqual({ alg: 'PS256', kid: env.jwk.kid, typ: 'secevent+jwt' });
        const { payload } = await jwtVerify(item!.set, env.jwks, { issuer: ISSUER, audience: clientId, typ: 'secevent+jwt', currentDate: new Date(T0) });
        expect(payload).toEqual({
          iss: ISSUER,
          iat: T0 / 1000,
          jti: notification.jti,
          aud: clientId,
          data_provider: 'prov-a',
          events: SESSION_EVENT,
          sub_id: { format: 'opaque', id: 'user-1' },
          txn: 'txn-1',
          toe: 1_789_999_000,
        });
      }
      expect(await env.queuedJtis('d-credential')).toEqual([]);
      expect(await env.queuedJtis('d-other')).toEqual([]);
      expect(states(await statuses(env, 'prov-a', 'n-1'))).toEqual({ 'd-all': 'queued', 'd-both': 'queued', 'd-session': 'queued' });
    });

    it('reaches a destination that wants any one of several event types, and makes a UUIDv7 id when none is given', async () => {
      const env = await setupNotifier();
      await register(env, 'prov-a', { 'd-credential': [CREDENTIAL_CHANGE], 'd-other': [ACCOUNT_DISABLED] });
      const out = await env.notifications.issue('prov-a', { events: { ...SESSION_EVENT, ...CREDENTIAL_EVENT }, ttlSeconds: 600 });
      expect(out.notification.notificationId).toMatch(UUIDV7);
      expect(out.notification.notificationId).not.toBe(out.notification.jti);
      expect(await env.queuedJtis('d-credential')).toEqual([out.notification.jti]);
      expect(await env.queuedJtis('d-other')).toEqual([]);
      expect((await env.store.readQueue('d-credential', 1)).items[0]!.ttl).toBe(T0 / 1000 + 600);
    });

    it('is done at once with nothing queued when the provider has no destinations', async () => {
      const env = await setupNotifier();
      const out = await env.notifications.issue('prov-a', { notificationId: 'n-1', events: SESSION_EVENT });
      expect(out).toMatchObject({ done: true, notification: { state: 'issued', fanOut: { queued: 0, skipped: 0, pending: false } } });
    });

    it('is a safe retry with the same id and claims: it resumes the fan-out and queues no SET twice', async () => {
      // Prepare: the first attempt stops after one page of 2.
      const env = await setupNotifier({ fanOutPageSize: 2, fanOutBudgetMs: 0 });
      await register(env, 'prov-a', { 'd-1': undefined, 'd-2': undefined, 'd-3': undefined, 'd-4': undefined, 'd-5': undefined });
      const input: NotificationInput = { notificationId: 'n-1', events: SESSION_EVENT, sub: 'user-1' };
      const first = await env.notifications.issue('prov-a', input);
      expect(first).toMatchObject({ done: false, created: true, notification: { fanOut: { queued: 2, pending: true } } });
      // Act: the provider retries (e.g. after a timeout), with the claims in another order.
      const retry = await env.notifications.issue('prov-a', { sub: 'user-1', events: SESSION_EVENT, notificationId: 'n-1' });
      await finish(env, 'prov-a', 'n-1');
      const after = await env.notifications.issue('prov-a', input);
      // Assess
      expect(retry).toMatchObject({ created: false, notification: { jti: first.notification.jti, revision: 1, version: 1 } });
      expect(after).toMatchObject({ done: true, created: false, notification: { state: 'issued', fanOut: { queued: 5, skipped: 0 } } });
      expect(await allQueuedSets(env)).toEqual(['d-1', 'd-2', 'd-3', 'd-4', 'd-5'].map((d) => [d, first.notification.jti]));
    });

    it('answers 409 for an existing id with different claims or retention, and keeps the first', async () => {
      const env = await setupNotifier();
      await register(env, 'prov-a', { 'd-1': undefined });
      const first = await env.notifications.issue('prov-a', { notificationId: 'n-1', events: SESSION_EVENT });
      await expect(env.notifications.issue('prov-a', { notificationId: 'n-1', events: CREDENTIAL_EVENT })).rejects.toThrow(Conflict);
      await expect(env.notifications.issue('prov-a', { notificationId: 'n-1', events: SESSION_EVENT, sub: 'x' })).rejects.toThrow(Conflict);
      await expect(env.notifications.issue('prov-a', { notificationId: 'n-1', events: SESSION_EVENT, ttlSeconds: 60 })).rejects.toThrow(Conflict);
      expect(await env.notifications.get('prov-a', 'n-1')).toEqual(first.notification);
      expect(await env.queuedJtis('d-1')).toEqual([first.notification.jti]);
    });

    it('does not queue a SET again for a destination that already acknowledged it when a page is redone', async () => {
      // Prepare: a complete fan-out, acknowledged by d-1.
      const env = await setupNotifier();
      await register(env, 'prov-a', { 'd-1': undefined, 'd-2': undefined });
      const { notification } = await env.notifications.issue('prov-a', { notificationId: 'n-1', events: SESSION_EVENT });
      await env.poll('d-1');
      await env.poll('d-1', { maxEvents: 0, ack: [notification.jti] });
      // Simulate a continuation that queued the page and died before saving its cursor.
      await env.client.send(
        new UpdateCommand({
          TableName: env.tableName,
          Key: { pk: 'P#prov-a', sk: 'N#n-1' },
          UpdateExpression: 'SET #state = :fanning, queued = :zero REMOVE #cursor',
          ExpressionAttributeNames: { '#state': 'state', '#cursor': 'cursor' },
          ExpressionAttributeValues: { ':fanning': 'fanning_out', ':zero': 0 },
        }),
      );
      // Act
      const again = await env.notifications.continueFanOut('prov-a', 'n-1');
      // Assess
      expect(again).toMatchObject({ done: true, notification: { state: 'issued', fanOut: { queued: 2 } } });
      expect(await env.queuedJtis('d-1')).toEqual([]);
      expect(states(await statuses(env, 'prov-a', 'n-1'))).toEqual({ 'd-1': 'acknowledged', 'd-2': 'queued' });
    });

    it('schedules a continuation through the FanOutScheduler when the budget runs out', async () => {
      const scheduler = recordingScheduler();
      const env = await setupNotifier({ fanOutPageSize: 2, fanOutBudgetMs: 0, scheduler });
      await register(env, 'prov-a', { 'd-1': undefined, 'd-2': undefined, 'd-3': undefined });
      const out = await env.notifications.issue('prov-a', { notificationId: 'n-1', events: SESSION_EVENT });
      expect(out).toMatchObject({ done: false, scheduled: true });
      expect(scheduler.calls).toEqual([['prov-a', 'n-1']]);
      // The scheduled continuation finishes it and schedules nothing more.
      expect(await env.notifications.continueFanOut('prov-a', 'n-1')).toMatchObject({ done: true, scheduled: false });
      expect(scheduler.calls).toHaveLength(1);
    });

    it.each([
      ['no events', { notificationId: 'n' }],
      ['empty events', { events: {} }],
      ['a relative event type', { events: { 'session-revoked': {} } }],
      ['an event that is not an object', { events: { [SESSION_REVOKED]: 'revoked' } }],
      ['a sub_id without format', { events: SESSION_EVENT, sub_id: { id: 'x' } }],
      ['an empty sub', { events: SESSION_EVENT, sub: '' }],
      ['a negative toe', { events: SESSION_EVENT, toe: -1 }],
      ['a ttlSeconds of 0', { events: SESSION_EVENT, ttlSeconds: 0 }],
      ['a notificationId with #', { notificationId: 'a#b', events: SESSION_EVENT }],
      ['a notificationId of 129 characters', { notificationId: 'n'.repeat(129), events: SESSION_EVENT }],
      ['an unknown member', { events: SESSION_EVENT, aud: 'someone' }],
      ['claims over 64 KiB', { events: { [SESSION_REVOKED]: { blob: 'x'.repeat(70_000) } } }],
    ])('answers 400 for %s', async (_, input) => {
      const env = await setupNotifier();
      await expect(env.notifications.issue('prov-a', input as never)).rejects.toThrow(InvalidRequest);
      expect(await env.notifications.list('prov-a')).toEqual({ items: [] });
    });
  });

  describe('continueFanOut', () => {
    it('completes a fan-out interrupted by its budget, one page per call, with no duplicates and exact counts', async () => {
      // Prepare: 5 destinations in pages of 2; one does not match.
      const env = await setupNotifier({ fanOutPageSize: 2, fanOutBudgetMs: 0 });
      await register(env, 'prov-a', { 'd-1': undefined, 'd-2': [CREDENTIAL_CHANGE], 'd-3': undefined, 'd-4': [SESSION_REVOKED], 'd-5': undefined });
      const first = await env.notifications.issue('prov-a', { notificationId: 'n-1', events: SESSION_EVENT });
      expect(first).toMatchObject({ done: false, notification: { state: 'fanning_out', fanOut: { queued: 1, skipped: 1, pending: true } } });
      // Act
      const calls = await finish(env, 'prov-a', 'n-1');
      // Assess: pages [d-1 d-2] [d-3 d-4] [d-5].
      expect(calls).toBe(2);
      expect(await env.notifications.get('prov-a', 'n-1')).toMatchObject({ state: 'issued', version: 1, fanOut: { queued: 4, skipped: 1, pending: false } });
      expect(await allQueuedSets(env)).toEqual(['d-1', 'd-3', 'd-4', 'd-5'].map((d) => [d, first.notification.jti]));
      expect(await env.notifications.continueFanOut('prov-a', 'n-1')).toMatchObject({ done: true, contended: false });
    });

    it('lets only one of two concurrent continuations advance: no duplicates, exact counts', async () => {
      const env = await setupNotifier({ fanOutPageSize: 3, fanOutBudgetMs: 0 });
      const ids = Array.from({ length: 12 }, (_, i) => `d-${String(i).padStart(2, '0')}`);
      await register(env, 'prov-a', Object.fromEntries(ids.map((id) => [id, undefined])));
      const first = await env.notifications.issue('prov-a', { notificationId: 'n-1', events: SESSION_EVENT });
      // Act: two chains of continuations race until both see it done.
      const chain = async () => {
        let contended = 0;
        for (;;) {
          const out = await env.notifications.continueFanOut('prov-a', 'n-1');
          if (out.contended) contended++;
          if (out.done) return contended;
        }
      };
      await Promise.all([chain(), chain()]);
      // Assess
      expect(await env.notifications.get('prov-a', 'n-1')).toMatchObject({ state: 'issued', fanOut: { queued: 12, skipped: 0 } });
      expect(await allQueuedSets(env)).toEqual(ids.map((d) => [d, first.notification.jti]));
    });

    it('answers 404 for a notification that does not exist or belongs to another provider', async () => {
      const env = await setupNotifier();
      await env.notifications.issue('prov-a', { notificationId: 'n-1', events: SESSION_EVENT });
      await expect(env.notifications.continueFanOut('prov-a', 'nope')).rejects.toThrow(NotFound);
      await expect(env.notifications.continueFanOut('prov-b', 'n-1')).rejects.toThrow(NotFound);
    });

    it('fans out to 1,000 destinations, each receiving exactly one SET', async () => {
      // Prepare: 1,000 destinations, half wanting the event type, registered 100 at a time.
      const env = await setupNotifier();
      const ids = Array.from({ length: 1000 }, (_, i) => `tpp-${String(i).padStart(4, '0')}`);
      for (let i = 0; i < ids.length; i += 100) {
        const out = await env.destinations.bulk(
          'prov-a',
          ids.slice(i, i + 100).map((clientId, j) => ({ op: 'register' as const, clientId, eventTypes: (i + j) % 2 === 0 ? [SESSION_REVOKED] : [CREDENTIAL_CHANGE] })),
          { atomic: true },
        );
        expect(out.applied).toBe(true);
      }
      // Act
      const out = await env.notifications.issue('prov-a', { notificationId: 'big', events: SESSION_EVENT });
      if (!out.done) await finish(env, 'prov-a', 'big');
      // Assess
      const matching = ids.filter((_, i) => i % 2 === 0);
      expect(await env.notifications.get('prov-a', 'big')).toMatchObject({ state: 'issued', fanOut: { queued: 500, skipped: 500 } });
      expect(await allQueuedSets(env)).toEqual(matching.map((d) => [d, out.notification.jti]));
      const firstPage = await env.notifications.status('prov-a', 'big', { limit: 100 });
      expect(firstPage.items).toHaveLength(100);
      expect(firstPage.items.every((s) => s.state === 'queued' && s.jti === out.notification.jti)).toBe(true);
      expect(firstPage.nextCursor).toBeDefined();
    }, 120_000);
  });

  describe('issueBulk', () => {
    it('answers each notification on its own: 201 new, 200 safe retry, 409 different claims, 400 invalid', async () => {
      // Prepare
      const env = await setupNotifier();
      await register(env, 'prov-a', { 'd-1': undefined });
      await env.notifications.issue('prov-a', { notificationId: 'existing', events: SESSION_EVENT });
      // Act
      const out = await env.notifications.issueBulk('prov-a', [
        { notificationId: 'new-1', events: SESSION_EVENT },
        { notificationId: 'existing', events: SESSION_EVENT },
        { notificationId: 'existing', events: CREDENTIAL_EVENT },
        { notificationId: 'bad', events: {} },
        { events: CREDENTIAL_EVENT },
      ]);
      // Assess
      expect(out.results.map((r) => [r.index, r.notificationId, r.ok, r.status])).toEqual([
        [0, 'new-1', true, 201],
        [1, 'existing', true, 200],
        [2, 'existing', false, 409],
        [3, 'bad', false, 400],
        [4, expect.stringMatching(UUIDV7), true, 201],
      ]);
      expect(out.totals).toEqual({ succeeded: 3, failed: 2 });
      expect(out.results[0]).toMatchObject({ done: true, scheduled: false, notification: { state: 'issued', fanOut: { queued: 1 } } });
      expect(out.results[2]!.error?.err).toBe('conflict');
      expect((await env.queuedJtis('d-1')).sort()).toHaveLength(3);
    });

    it('schedules the fan-outs the shared budget leaves unfinished', async () => {
      const scheduler = recordingScheduler();
      const env = await setupNotifier({ fanOutPageSize: 1, fanOutBudgetMs: 0, scheduler });
      await register(env, 'prov-a', { 'd-1': undefined, 'd-2': undefined });
      const out = await env.notifications.issueBulk('prov-a', [
        { notificationId: 'n-1', events: SESSION_EVENT },
        { notificationId: 'n-2', events: SESSION_EVENT },
      ]);
      expect(out.results.map((r) => [r.status, r.done, r.scheduled])).toEqual([
        [201, false, true],
        [201, false, true],
      ]);
      expect(scheduler.calls.sort()).toEqual([
        ['prov-a', 'n-1'],
        ['prov-a', 'n-2'],
      ]);
      for (const [, id] of scheduler.calls) await finish(env, 'prov-a', id);
      expect(await env.queuedJtis('d-1')).toHaveLength(2);
    });

    it('answers 400 for more than 100 notifications or none', async () => {
      const env = await setupNotifier();
      const inputs = Array.from({ length: 101 }, (_, i) => ({ notificationId: `n-${i}`, events: SESSION_EVENT }));
      await expect(env.notifications.issueBulk('prov-a', inputs)).rejects.toThrow(InvalidRequest);
      await expect(env.notifications.issueBulk('prov-a', [])).rejects.toThrow(InvalidRequest);
      expect(await env.notifications.list('prov-a')).toEqual({ items: [] });
    });
  });

  describe('get', () => {
    it('answers 404 for an unknown notification', async () => {
      const env = await setupNotifier();
      await expect(env.notifications.get('prov-a', 'nope')).rejects.toThrow(NotFound);
      await expect(env.notifications.get('prov-a', 'bad#id')).rejects.toThrow(InvalidRequest);
    });
  });

  describe('list', () => {
    it('pages through the notifications in id order with a cursor, and rejects a tampered or foreign one', async () => {
      const env = await setupNotifier();
      for (const id of ['n-3', 'n-1', 'n-5', 'n-2', 'n-4']) await env.notifications.issue('prov-a', { notificationId: id, events: SESSION_EVENT });
      const first = await env.notifications.list('prov-a', { limit: 2 });
      const second = await env.notifications.list('prov-a', { limit: 2, cursor: first.nextCursor! });
      const third = await env.notifications.list('prov-a', { limit: 2, cursor: second.nextCursor! });
      expect([first, second, third].map((p) => p.items.map((n) => n.notificationId))).toEqual([['n-1', 'n-2'], ['n-3', 'n-4'], ['n-5']]);
      expect(third).not.toHaveProperty('nextCursor');
      await expect(env.notifications.list('prov-a', { cursor: `${first.nextCursor!.slice(0, -2)}zz` })).rejects.toThrow(InvalidRequest);
      await expect(env.notifications.list('prov-a', { cursor: encodeCursor({ pk: 'P#prov-a', sk: 'D#d-1' }) })).rejects.toThrow(InvalidRequest);
      await expect(env.notifications.list('prov-b', { cursor: first.nextCursor! })).rejects.toThrow(InvalidRequest);
    });
  });

  describe('ownership', () => {
    it('keeps providers apart: 404 for every operation on another provider’s notification, separate lists and fan-outs', async () => {
      // Prepare
      const env = await setupNotifier();
      await register(env, 'prov-a', { 'a-only': undefined });
      await register(env, 'prov-b', { 'b-only': undefined });
      const a = await env.notifications.issue('prov-a', { notificationId: 'n-1', events: SESSION_EVENT });
      // Act + Assess: B cannot reach A's notification.
      await expect(env.notifications.get('prov-b', 'n-1')).rejects.toThrow(NotFound);
      await expect(env.notifications.replace('prov-b', 'n-1', { events: CREDENTIAL_EVENT })).rejects.toThrow(NotFound);
      await expect(env.notifications.withdraw('prov-b', 'n-1')).rejects.toThrow(NotFound);
      await expect(env.notifications.status('prov-b', 'n-1')).rejects.toThrow(NotFound);
      expect(await env.notifications.list('prov-b')).toEqual({ items: [] });
      // A's notification reached only A's destinations.
      expect(await env.queuedJtis('a-only')).toEqual([a.notification.jti]);
      expect(await env.queuedJtis('b-only')).toEqual([]);
      // B may use the same id for its own notification, which reaches only B's destinations.
      const b = await env.notifications.issue('prov-b', { notificationId: 'n-1', events: CREDENTIAL_EVENT });
      expect(b.created).toBe(true);
      expect(await env.queuedJtis('b-only')).toEqual([b.notification.jti]);
      expect(await env.queuedJtis('a-only')).toEqual([a.notification.jti]);
      expect((await env.notifications.get('prov-a', 'n-1')).claims.events).toEqual(SESSION_EVENT);
      expect(Object.keys(await statuses(env, 'prov-b', 'n-1'))).toEqual(['b-only']);
    });
  });

  describe('status', () => {
    it('follows a SET from queued to delivered (a real poll leased it) to acknowledged (a real ack)', async () => {
      // Prepare
      const env = await setupNotifier();
      await register(env, 'prov-a', { 'd-1': undefined });
      const { notification } = await env.notifications.issue('prov-a', { notificationId: 'n-1', events: SESSION_EVENT });
      const queued = await statuses(env, 'prov-a', 'n-1');
      // Act: the recipient polls, then acknowledges.
      const polled = await env.poll('d-1');
      const delivered = await statuses(env, 'prov-a', 'n-1');
      await env.poll('d-1', { maxEvents: 0, ack: [notification.jti] });
      const acknowledged = await statuses(env, 'prov-a', 'n-1');
      // Assess
      expect(Object.keys(polled.sets)).toEqual([notification.jti]);
      expect(queued['d-1']).toEqual({
        clientId: 'd-1',
        jti: notification.jti,
        revision: 1,
        state: 'queued',
        queuedAt: new Date(T0).toISOString(),
        expiresAt: new Date(T0 + 7 * 86_400_000).toISOString(),
      });
      expect(delivered['d-1']).toMatchObject({ state: 'delivered' });
      expect(acknowledged['d-1']).toMatchObject({ state: 'acknowledged' });
    });

    it('shows a delivered SET whose lease ran out unacknowledged as queued again (it will be redelivered)', async () => {
      const env = await setupNotifier();
      await register(env, 'prov-a', { 'd-1': undefined });
      await env.notifications.issue('prov-a', { notificationId: 'n-1', events: SESSION_EVENT });
      await env.poll('d-1');
      env.clock.now += env.settings.leaseSeconds * 1000 + 1;
      expect((await statuses(env, 'prov-a', 'n-1'))['d-1']!.state).toBe('queued');
    });

    it('reports errored with err, description and the Content-Language of setErrs', async () => {
      const env = await setupNotifier();
      await register(env, 'prov-a', { 'd-1': undefined });
      const { notification } = await env.notifications.issue('prov-a', { notificationId: 'n-1', events: SESSION_EVENT });
      await env.poll('d-1');
      env.clock.now += 1000;
      await env.poll('d-1', { maxEvents: 0, setErrs: { [notification.jti]: { err: 'invalid_key', description: 'Unknown signing key' } } }, 'en-GB');
      expect((await statuses(env, 'prov-a', 'n-1'))['d-1']).toEqual({
        clientId: 'd-1',
        jti: notification.jti,
        revision: 1,
        state: 'errored',
        err: 'invalid_key',
        description: 'Unknown signing key',
        lang: 'en-GB',
        at: new Date(T0 + 1000).toISOString(),
        queuedAt: new Date(T0).toISOString(),
        expiresAt: new Date(T0 + 7 * 86_400_000).toISOString(),
      });
    });

    it('reports delivered with attempts, then failed, when maxDeliveryAttempts is 1', async () => {
      const env = await setupNotifier({ settings: { maxDeliveryAttempts: 1 } });
      await register(env, 'prov-a', { 'd-1': undefined });
      await env.notifications.issue('prov-a', { notificationId: 'n-1', events: SESSION_EVENT });
      await env.poll('d-1');
      expect((await statuses(env, 'prov-a', 'n-1'))['d-1']).toMatchObject({ state: 'delivered', attempts: 1 });
      env.clock.now += env.settings.leaseSeconds * 1000 + 1;
      await env.poll('d-1');
      expect((await statuses(env, 'prov-a', 'n-1'))['d-1']).toMatchObject({ state: 'failed', attempts: 1, at: new Date(env.clock.now).toISOString() });
    });

    it('reports expired once the retention ran out, before and after the poll path drops the SET', async () => {
      const env = await setupNotifier();
      await register(env, 'prov-a', { 'd-1': undefined });
      await env.notifications.issue('prov-a', { notificationId: 'n-1', events: SESSION_EVENT, ttlSeconds: 60 });
      env.clock.now += 61_000;
      expect((await statuses(env, 'prov-a', 'n-1'))['d-1']!.state).toBe('expired');
      expect((await env.poll('d-1')).sets).toEqual({});
      expect(await env.queuedJtis('d-1')).toEqual([]);
      expect((await statuses(env, 'prov-a', 'n-1'))['d-1']!.state).toBe('expired');
    });

    it('pages with a cursor; a tampered one, or one of another notification, is a 400; an unknown notification a 404', async () => {
      const env = await setupNotifier();
      await register(env, 'prov-a', { 'd-1': undefined, 'd-2': undefined, 'd-3': undefined });
      await env.notifications.issue('prov-a', { notificationId: 'n-1', events: SESSION_EVENT });
      await env.notifications.issue('prov-a', { notificationId: 'n-2', events: SESSION_EVENT });
      const first = await env.notifications.status('prov-a', 'n-1', { limit: 2 });
      const second = await env.notifications.status('prov-a', 'n-1', { limit: 2, cursor: first.nextCursor! });
      expect([...first.items, ...second.items].map((s) => s.clientId)).toEqual(['d-1', 'd-2', 'd-3']);
      expect(second).not.toHaveProperty('nextCursor');
      await expect(env.notifications.status('prov-a', 'n-2', { cursor: first.nextCursor! })).rejects.toThrow(InvalidRequest);
      await expect(env.notifications.status('prov-a', 'n-1', { cursor: 'AAAA' })).rejects.toThrow(InvalidRequest);
      await expect(env.notifications.status('prov-a', 'nope')).rejects.toThrow(NotFound);
    });
  });

  describe('replace', () => {
    it('withdraws the undelivered SETs of the old revision, leaves delivered ones, and fans out the new revision to all matching', async () => {
      // Prepare: d-1 has received the SET (leased), d-2 has not.
      const env = await setupNotifier();
      await register(env, 'prov-a', { 'd-1': undefined, 'd-2': undefined, 'd-credential': [CREDENTIAL_CHANGE] });
      const old = (await env.notifications.issue('prov-a', { notificationId: 'n-1', events: SESSION_EVENT })).notification;
      await env.poll('d-1');
      env.clock.now += 1000;
      // Act
      const out = await env.notifications.replace('prov-a', 'n-1', { events: CREDENTIAL_EVENT, txn: 'txn-2' }, 1);
      // Assess
      const next = out.notification;
      expect(out.done).toBe(true);
      expect(next).toMatchObject({
        revision: 2,
        version: 2,
        state: 'issued',
        iat: (T0 + 1000) / 1000,
        claims: { events: CREDENTIAL_EVENT, txn: 'txn-2' },
        fanOut: { queued: 3, skipped: 0, withdrawn: 1, pending: false },
        createdAt: new Date(T0).toISOString(),
        updatedAt: new Date(T0 + 1000).toISOString(),
      });
      expect(next.jti).not.toBe(old.jti);
      expect(await env.queuedJtis('d-1')).toEqual([old.jti, next.jti]);
      expect(await env.queuedJtis('d-2')).toEqual([next.jti]);
      expect(await env.queuedJtis('d-credential')).toEqual([next.jti]);
      const set = (await env.store.readQueue('d-2', 1)).items[0]!.set;
      const { payload } = await jwtVerify(set, env.jwks, { audience: 'd-2', currentDate: new Date(T0) });
      expect(payload).toMatchObject({ jti: next.jti, events: CREDENTIAL_EVENT, txn: 'txn-2', iat: (T0 + 1000) / 1000 });
      const all = await statuses(env, 'prov-a', 'n-1');
      expect(Object.values(all).map((s) => [s.clientId, s.revision, s.jti === next.jti, s.state])).toEqual([
        ['d-1', 2, true, 'queued'],
        ['d-2', 2, true, 'queued'],
        ['d-credential', 2, true, 'queued'],
      ]);
    });

    it('leaves the old receipt of a destination the new revision no longer matches, withdrawn or delivered', async () => {
      const env = await setupNotifier();
      await register(env, 'prov-a', { 'd-1': [SESSION_REVOKED], 'd-2': [SESSION_REVOKED] });
      const old = (await env.notifications.issue('prov-a', { notificationId: 'n-1', events: SESSION_EVENT })).notification;
      await env.poll('d-1');
      await env.notifications.replace('prov-a', 'n-1', { events: CREDENTIAL_EVENT });
      expect(await env.queuedJtis('d-1')).toEqual([old.jti]);
      expect(await env.queuedJtis('d-2')).toEqual([]);
      const all = await statuses(env, 'prov-a', 'n-1');
      expect(Object.values(all).map((s) => [s.clientId, s.revision, s.state])).toEqual([
        ['d-1', 1, 'delivered'],
        ['d-2', 1, 'withdrawn'],
      ]);
    });

    it('finishes its withdrawal sweep and the new fan-out in continuations when the budget runs out', async () => {
      const env = await setupNotifier({ fanOutPageSize: 2, fanOutBudgetMs: 0 });
      const ids = ['d-1', 'd-2', 'd-3', 'd-4', 'd-5'];
      await register(env, 'prov-a', Object.fromEntries(ids.map((id) => [id, undefined])));
      const old = (await env.notifications.issue('prov-a', { notificationId: 'n-1', events: SESSION_EVENT })).notification;
      await finish(env, 'prov-a', 'n-1');
      await env.poll('d-3');
      const out = await env.notifications.replace('prov-a', 'n-1', { events: CREDENTIAL_EVENT });
      expect(out).toMatchObject({ done: false, notification: { state: 'fanning_out', fanOut: { pending: true } } });
      await finish(env, 'prov-a', 'n-1');
      const next = await env.notifications.get('prov-a', 'n-1');
      expect(next).toMatchObject({ state: 'issued', fanOut: { queued: 5, withdrawn: 4, pending: false } });
      expect(await allQueuedSets(env)).toEqual(
        [...ids.map((d) => [d, next.jti] as [string, string]), ['d-3', old.jti] as [string, string]].sort(),
      );
    });

    it('answers 409 for a stale expectedVersion or a withdrawn notification, 404 for an unknown one, 400 for a new id', async () => {
      const env = await setupNotifier();
      await env.notifications.issue('prov-a', { notificationId: 'n-1', events: SESSION_EVENT });
      await env.notifications.replace('prov-a', 'n-1', { events: CREDENTIAL_EVENT }, 1);
      await expect(env.notifications.replace('prov-a', 'n-1', { events: SESSION_EVENT }, 1)).rejects.toThrow(Conflict);
      await expect(env.notifications.replace('prov-a', 'n-1', { notificationId: 'n-2', events: SESSION_EVENT })).rejects.toThrow(InvalidRequest);
      await expect(env.notifications.replace('prov-a', 'nope', { events: SESSION_EVENT })).rejects.toThrow(NotFound);
      await env.notifications.withdraw('prov-a', 'n-1');
      await expect(env.notifications.replace('prov-a', 'n-1', { events: SESSION_EVENT })).rejects.toThrow(Conflict);
      expect(await env.notifications.get('prov-a', 'n-1')).toMatchObject({ revision: 2, state: 'withdrawn', version: 3 });
    });
  });

  describe('withdraw', () => {
    it('removes undelivered SETs, leaves delivered and acknowledged ones, and is final', async () => {
      // Prepare: d-1 received it, d-2 has not, d-3 acknowledged it.
      const env = await setupNotifier();
      await register(env, 'prov-a', { 'd-1': undefined, 'd-2': undefined, 'd-3': undefined });
      const { notification } = await env.notifications.issue('prov-a', { notificationId: 'n-1', events: SESSION_EVENT });
      await env.poll('d-1');
      await env.poll('d-3');
      await env.poll('d-3', { maxEvents: 0, ack: [notification.jti] });
      // Act
      const out = await env.notifications.withdraw('prov-a', 'n-1', 1);
      // Assess
      expect(out).toMatchObject({ done: true, notification: { state: 'withdrawn', version: 2, fanOut: { withdrawn: 1, pending: false } } });
      expect(await env.queuedJtis('d-1')).toEqual([notification.jti]);
      expect(await env.queuedJtis('d-2')).toEqual([]);
      expect((await env.poll('d-2')).sets).toEqual({});
      const all = await statuses(env, 'prov-a', 'n-1');
      expect(states(all)).toEqual({ 'd-1': 'delivered', 'd-2': 'withdrawn', 'd-3': 'acknowledged' });
      expect(all['d-2']!.at).toBe(new Date(T0).toISOString());
      // Withdrawing again changes nothing; a stale version is still a 409.
      expect((await env.notifications.withdraw('prov-a', 'n-1')).notification).toMatchObject({ version: 2, state: 'withdrawn' });
      await expect(env.notifications.withdraw('prov-a', 'n-1', 1)).rejects.toThrow(Conflict);
      await expect(env.notifications.withdraw('prov-a', 'nope')).rejects.toThrow(NotFound);
    });

    it('makes a poll that read the queue before the withdrawal fail its lease write, so it cannot hand the SET out', async () => {
      const env = await setupNotifier();
      await register(env, 'prov-a', { 'd-1': undefined });
      const { notification } = await env.notifications.issue('prov-a', { notificationId: 'n-1', events: SESSION_EVENT });
      // A poll's first round trip: lease and queue read...
      const lease = await env.store.readLease('d-1', false);
      expect((await env.store.readQueue('d-1', 10)).items.map((i) => i.jti)).toEqual([notification.jti]);
      // ...the withdrawal lands in between...
      await env.notifications.withdraw('prov-a', 'n-1');
      // ...and the poll's conditional lease write fails, so it selects again and finds nothing.
      await expect(env.store.writeLease('d-1', lease.version, new Map([[notification.jti, T0 + 30_000]]))).rejects.toThrow(LeaseConflict);
      expect((await env.poll('d-1')).sets).toEqual({});
    });

    it('stops a fan-out in progress and takes back what it had queued', async () => {
      const env = await setupNotifier({ fanOutPageSize: 2, fanOutBudgetMs: 0 });
      await register(env, 'prov-a', { 'd-1': undefined, 'd-2': undefined, 'd-3': undefined });
      await env.notifications.issue('prov-a', { notificationId: 'n-1', events: SESSION_EVENT });
      const out = await env.notifications.withdraw('prov-a', 'n-1');
      expect(out).toMatchObject({ done: true, notification: { state: 'withdrawn', fanOut: { queued: 2, withdrawn: 2, pending: false } } });
      expect(await env.notifications.continueFanOut('prov-a', 'n-1')).toMatchObject({ done: true });
      expect(await allQueuedSets(env)).toEqual([]);
      expect(states(await statuses(env, 'prov-a', 'n-1'))).toEqual({ 'd-1': 'withdrawn', 'd-2': 'withdrawn' });
    });

    it('makes a page of the withdrawn notification still in flight take back the SETs it queued late', async () => {
      // Prepare: the fan-out pauses while signing d-2's SET.
      const paused = gate();
      const env = await setupNotifier({
        wrapSigner: (signer) => ({
          alg: signer.alg,
          kid: signer.kid,
          sign: async (claims) => {
            if (claims.aud === 'd-2') await paused.wait();
            return signer.sign(claims);
          },
        }),
      });
      await register(env, 'prov-a', { 'd-1': undefined, 'd-2': undefined });
      const issuing = env.notifications.issue('prov-a', { notificationId: 'n-1', events: SESSION_EVENT });
      await paused.reached;
      // Act: withdraw while the page is in flight, then let the page finish.
      const withdrawn = await env.notifications.withdraw('prov-a', 'n-1');
      paused.open();
      const issued = await issuing;
      // Assess
      expect(withdrawn.notification.state).toBe('withdrawn');
      expect(issued).toMatchObject({ done: true, scheduled: false, notification: { state: 'withdrawn' } });
      expect(await allQueuedSets(env)).toEqual([]);
      expect(states(await statuses(env, 'prov-a', 'n-1'))).toEqual({ 'd-1': 'withdrawn', 'd-2': 'withdrawn' });
    });
  });
});
