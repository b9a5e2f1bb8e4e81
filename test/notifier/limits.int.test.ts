/**
 * Per-provider limits (issue #11 item 5) on the Notifier services and DynamoDB Local, with a clock
 * the test moves: destinations held, notifications per minute, claims size, bulk size, and SETs
 * one request may make the deployment sign.
 */
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { Conflict, InvalidRequest, TooManyRequests } from '../../lambdas/core/errors.ts';
import { limitsFromEnv, resolveLimits } from '../../lambdas/notifier/limits.ts';
import { DESTINATION_COUNT_SK, providerPk } from '../../lambdas/store/schema.ts';
import { SESSION_REVOKED, setupNotifier } from './support.ts';

const EVENTS = { [SESSION_REVOKED]: {} };
const LIMITS = { maxDestinations: 3, notificationsPerMinute: 4, maxClaimsBytes: 1024, maxBulkItems: 3, maxSetsPerRequest: 6 };
const FULL = 'This Data Provider holds its limit of 3 destinations: delete one first';

/** What `promise` was rejected with (a test failure when it was fulfilled). */
async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => expect.unreachable(`expected a rejection, got ${JSON.stringify(value)}`),
    (error: unknown) => error,
  );
}

/** The first second of a minute after the real now, so the test decides where minutes end. */
const minuteStart = () => (Math.floor(Date.now() / 60_000) + 1) * 60_000;

describe('maximum destinations per provider', () => {
  it('refuses a destination past the limit with 409, and counts a deleted one off', async () => {
    // Prepare
    const env = await setupNotifier({ limits: LIMITS });
    for (const id of ['d-1', 'd-2', 'd-3']) await env.destinations.register('prov-a', { clientId: id });

    // Act
    const over = await failure(env.destinations.register('prov-a', { clientId: 'd-4' }));
    await env.destinations.delete('prov-a', 'd-3');
    const after = await env.destinations.register('prov-a', { clientId: 'd-4' });
    const other = await env.destinations.register('prov-b', { clientId: 'd-1' });

    // Assess
    expect(over).toBeInstanceOf(Conflict);
    expect(over).toMatchObject({ statusCode: 409, message: FULL });
    expect([after.clientId, other.clientId]).toEqual(['d-4', 'd-1']);
    expect((await env.destinations.list('prov-a')).items.map((d) => d.clientId)).toEqual(['d-1', 'd-2', 'd-4']);
  });

  it('does not count a registration that failed (a duplicate)', async () => {
    // Prepare
    const env = await setupNotifier({ limits: LIMITS });
    await env.destinations.register('prov-a', { clientId: 'd-1' });
    // Act
    for (let i = 0; i < 3; i++) await expect(env.destinations.register('prov-a', { clientId: 'd-1' })).rejects.toMatchObject({ statusCode: 409 });
    // Assess
    for (const id of ['d-2', 'd-3']) await env.destinations.register('prov-a', { clientId: id });
  });

  it('counts an atomic bulk request as a whole: refused past the limit, its deletes making room', async () => {
    // Prepare
    const env = await setupNotifier({ limits: LIMITS });
    for (const id of ['d-1', 'd-2']) await env.destinations.register('prov-a', { clientId: id });

    // Act
    const tooMany = await env.destinations.bulk('prov-a', [{ op: 'register', clientId: 'd-3' }, { op: 'register', clientId: 'd-4' }], { atomic: true });
    const swap = await env.destinations.bulk('prov-a', [{ op: 'delete', clientId: 'd-1' }, { op: 'register', clientId: 'd-3' }, { op: 'register', clientId: 'd-4' }], { atomic: true });

    // Assess
    expect(tooMany.results.map((r) => [r.status, r.error?.description])).toEqual([
      [409, FULL],
      [409, FULL],
    ]);
    expect(swap).toMatchObject({ applied: true });
    expect((await env.destinations.list('prov-a')).items.map((d) => d.clientId)).toEqual(['d-2', 'd-3', 'd-4']);
    await expect(env.destinations.register('prov-a', { clientId: 'd-5' })).rejects.toMatchObject({ statusCode: 409, message: FULL });
  });

  it('counts destinations that were registered before the count existed', async () => {
    // Prepare: two destinations, then the count item removed (as before this limit existed).
    const env = await setupNotifier({ limits: LIMITS });
    for (const id of ['d-1', 'd-2']) await env.destinations.register('prov-a', { clientId: id });
    await env.client.send(new DeleteCommand({ TableName: env.tableName, Key: { pk: providerPk('prov-a'), sk: DESTINATION_COUNT_SK } }));

    // Act
    await env.destinations.register('prov-a', { clientId: 'd-3' });
    const over = env.destinations.register('prov-a', { clientId: 'd-4' });

    // Assess
    await expect(over).rejects.toMatchObject({ statusCode: 409, message: FULL });
  });
});

describe('notifications per minute', () => {
  it('answers 429 with Retry-After past the rate, counting issues, replaces and bulk items, until the minute ends', async () => {
    // Prepare
    const env = await setupNotifier({ limits: LIMITS });
    env.clock.now = minuteStart() + 10_000;
    await env.destinations.register('prov-a', { clientId: 'd-1' });

    // Act
    await env.notifications.issue('prov-a', { notificationId: 'n-1', events: EVENTS });
    await env.notifications.replace('prov-a', 'n-1', { events: EVENTS });
    await env.notifications.issueBulk('prov-a', [{ notificationId: 'n-2', events: EVENTS }, { notificationId: 'n-3', events: EVENTS }]);
    const over = await failure(env.notifications.issue('prov-a', { notificationId: 'n-4', events: EVENTS }));
    const withdrawn = await env.notifications.withdraw('prov-a', 'n-2');
    const otherProvider = await env.notifications.issue('prov-b', { notificationId: 'n-4', events: EVENTS });
    env.clock.now += 50_000;
    const nextMinute = await env.notifications.issue('prov-a', { notificationId: 'n-4', events: EVENTS });

    // Assess
    expect(over).toBeInstanceOf(TooManyRequests);
    expect(over).toMatchObject({
      statusCode: 429,
      code: 'too_many_requests',
      message: 'This Data Provider may issue or replace 4 notifications a minute: retry in 50 s',
      headers: { 'retry-after': '50' },
    });
    await expect(env.notifications.get('prov-a', 'n-4')).resolves.toMatchObject({ notificationId: 'n-4', revision: 1 });
    expect([withdrawn.notification.state, otherProvider.created, nextMinute.created]).toEqual(['withdrawn', true, true]);
  });

  it('refuses a bulk request larger than the rate with 400, and counts nothing for it', async () => {
    // Prepare
    const env = await setupNotifier({ limits: { ...LIMITS, notificationsPerMinute: 2 } });
    env.clock.now = minuteStart();
    // Act
    const bulk = await failure(env.notifications.issueBulk('prov-a', [1, 2, 3].map((i) => ({ notificationId: `n-${i}`, events: EVENTS }))));
    // Assess
    expect(bulk).toMatchObject({ statusCode: 400, message: 'A request may issue at most 2 notifications (the per-minute limit)' });
    await env.notifications.issueBulk('prov-a', [1, 2].map((i) => ({ notificationId: `n-${i}`, events: EVENTS })));
  });
});

describe('sizes', () => {
  it('refuses claims over maxClaimsBytes and bulk requests over maxBulkItems with 400', async () => {
    // Prepare
    const env = await setupNotifier({ limits: LIMITS });
    const four = [1, 2, 3, 4].map((i) => ({ notificationId: `n-${i}`, events: EVENTS }));

    // Act
    const big = await failure(env.notifications.issue('prov-a', { notificationId: 'big', events: { [SESSION_REVOKED]: { reason: 'x'.repeat(1000) } } }));
    const fits = await env.notifications.issue('prov-a', { notificationId: 'fits', events: { [SESSION_REVOKED]: { reason: 'x'.repeat(900) } } });
    const bulkNotifications = await failure(env.notifications.issueBulk('prov-a', four));
    const bulkDestinations = await failure(env.destinations.bulk('prov-a', four.map((n) => ({ op: 'delete', clientId: n.notificationId }))));

    // Assess
    expect(big).toMatchObject({ statusCode: 400, message: 'The claims must not exceed 1024 bytes of JSON' });
    expect(fits.created).toBe(true);
    expect(bulkNotifications).toMatchObject({ statusCode: 400, message: 'A bulk request holds 1 to 3 notifications' });
    expect(bulkDestinations).toMatchObject({ statusCode: 400, message: 'A bulk request holds 1 to 3 operations' });
  });

  it('refuses a bulk request that could sign more than maxSetsPerRequest SETs, naming how many would fit', async () => {
    // Prepare: 3 destinations, 6 SETs per request.
    const env = await setupNotifier({ limits: LIMITS });
    for (const id of ['d-1', 'd-2', 'd-3']) await env.destinations.register('prov-a', { clientId: id });
    const bulk = (n: number) => env.notifications.issueBulk('prov-a', Array.from({ length: n }, (_, i) => ({ notificationId: `n-${n}-${i}`, events: EVENTS })));

    // Act
    const three = await failure(bulk(3));
    const two = await bulk(2);

    // Assess
    expect(three).toBeInstanceOf(InvalidRequest);
    expect(three).toMatchObject({
      message: 'This request could sign 9 SETs (3 notifications × 3 destinations), over the limit of 6 per request: send at most 2 notifications per request',
    });
    expect(two.totals).toEqual({ succeeded: 2, failed: 0 });
    expect((await env.queuedJtis('d-1')).length).toBe(2);
  });
});

describe('configuration', () => {
  it('reads the limits from the environment, keeps defaults for unset ones, and refuses values out of bounds', () => {
    expect(limitsFromEnv({ SETPOLL_NOTIFIER_MAX_DESTINATIONS: '50', SETPOLL_NOTIFIER_MAX_BULK_ITEMS: '' })).toEqual({
      maxDestinations: 50,
      notificationsPerMinute: 600,
      maxClaimsBytes: 65_536,
      maxBulkItems: 100,
      maxSetsPerRequest: 100_000,
    });
    expect(() => limitsFromEnv({ SETPOLL_NOTIFIER_MAX_BULK_ITEMS: '101' })).toThrow('maxBulkItems must be an integer from 1 to 100, not 101');
    expect(() => limitsFromEnv({ SETPOLL_NOTIFIER_NOTIFICATIONS_PER_MINUTE: '1.5' })).toThrow('SETPOLL_NOTIFIER_NOTIFICATIONS_PER_MINUTE must be a whole number, not "1.5"');
    expect(() => resolveLimits({ maxDestinations: 10, maxSetsPerRequest: 9 })).toThrow('maxSetsPerRequest must be at least maxDestinations');
  });
});
