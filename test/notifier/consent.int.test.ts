/**
 * Recipients' consent enforced by the Notifier services on DynamoDB Local: destination registration
 * (single and bulk), fan-out (per page, and at enqueue time), and the withdrawal a deauthorization runs.
 */
import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { AccessDenied } from '../../lambdas/core/errors.ts';
import { uuidv7 } from '../../lambdas/producer/uuidv7.ts';
import type { SetSigner } from '../../lambdas/producer/signer.ts';
import { StreamQueueStore } from '../../lambdas/ssf/stream-queue-store.ts';
import { DynamoStreamStore } from '../../lambdas/store/dynamo-stream-store.ts';
import { CREDENTIAL_CHANGE, ISSUER, SESSION_REVOKED, T0, setupNotifier } from './support.ts';

const EVENTS = { [SESSION_REVOKED]: {} };
const DENIED = 'Not authorized to notify this client id: the recipient must first authorize this Data Provider';

/** A signer that runs `before` ahead of every signature (to change the world mid-fan-out). */
function hooked(before: { run: (aud: unknown) => Promise<void> }) {
  return (signer: SetSigner): SetSigner => ({
    alg: signer.alg,
    kid: signer.kid,
    sign: async (claims) => {
      await before.run(claims.aud);
      return signer.sign(claims);
    },
  });
}

describe('destination registration needs the recipient\'s authorization', () => {
  it('answers one 403 access_denied for a recipient that authorized another provider and for an unknown id, and stores nothing', async () => {
    // Prepare
    const env = await setupNotifier({ consent: 'explicit' });
    await env.authorize('tpp-alpha', 'prov-y');

    // Act
    const unauthorized = await env.destinations.register('prov-x', { clientId: 'tpp-alpha' }).catch((error: unknown) => error);
    const unknown = await env.destinations.register('prov-x', { clientId: 'nobody-1' }).catch((error: unknown) => error);

    // Assess
    expect(unauthorized).toBeInstanceOf(AccessDenied);
    expect(unauthorized).toMatchObject({ statusCode: 403, code: 'access_denied', message: DENIED });
    expect(unknown).toMatchObject({ statusCode: 403, code: 'access_denied', message: DENIED });
    expect(await env.destinations.list('prov-x')).toEqual({ items: [] });
  });

  it('registers once the recipient authorizes the provider', async () => {
    // Prepare
    const env = await setupNotifier({ consent: 'explicit' });
    await env.authorize('tpp-alpha', 'prov-x');
    // Act
    const created = await env.destinations.register('prov-x', { clientId: 'tpp-alpha' });
    // Assess
    expect(created).toMatchObject({ clientId: 'tpp-alpha', version: 1 });
  });

  it('answers 403 per item in a bulk request, and refuses a whole atomic one', async () => {
    // Prepare
    const env = await setupNotifier({ consent: 'explicit' });
    await env.authorize('ok-1', 'prov-x');
    const operations = [
      { op: 'register', clientId: 'ok-1' },
      { op: 'register', clientId: 'nope-1' },
    ] as const;

    // Act
    const atomic = await env.destinations.bulk('prov-x', operations, { atomic: true });
    const afterAtomic = await env.destinations.list('prov-x');
    const each = await env.destinations.bulk('prov-x', operations);

    // Assess
    const refused = { index: 1, clientId: 'nope-1', ok: false, status: 403, error: { err: 'access_denied', description: DENIED } };
    expect(atomic).toEqual({
      atomic: true,
      applied: false,
      results: [
        { index: 0, clientId: 'ok-1', ok: false, status: 424, error: { err: 'not_applied', description: 'Valid, but not applied: another operation of this atomic request failed' } },
        refused,
      ],
      totals: { succeeded: 0, failed: 2 },
    });
    expect(afterAtomic).toEqual({ items: [] });
    expect(each.results).toEqual([{ index: 0, clientId: 'ok-1', ok: true, status: 201, destination: expect.objectContaining({ clientId: 'ok-1' }) }, refused]);
  });
});

describe('fan-out queues a SET only to recipients that authorize the provider', () => {
  it('skips a destination whose recipient withdrew its authorization, and queues to the others', async () => {
    // Prepare
    const env = await setupNotifier({ consent: 'explicit' });
    for (const id of ['d-1', 'd-2']) {
      await env.authorize(id, 'prov-x');
      await env.destinations.register('prov-x', { clientId: id });
    }
    await env.authorizationStore.deauthorize('d-2', 'prov-x');

    // Act
    const issued = await env.notifications.issue('prov-x', { notificationId: 'n-1', events: EVENTS });

    // Assess
    expect(issued.notification.fanOut).toEqual({ queued: 1, skipped: 1, withdrawn: 0, pending: false });
    expect(await env.queuedJtis('d-1')).toEqual([issued.notification.jti]);
    expect(await env.queuedJtis('d-2')).toEqual([]);
    expect((await env.notifications.status('prov-x', 'n-1')).items.map((s) => s.clientId)).toEqual(['d-1']);
  });

  it('does not queue a SET when the authorization is removed after the page read it (the enqueue checks it again)', async () => {
    // Prepare: the authorization disappears while the SET for d-1 is being signed.
    const before = { run: async (_aud: unknown) => {} };
    const env = await setupNotifier({ consent: 'explicit', wrapSigner: hooked(before) });
    await env.authorize('d-1', 'prov-x');
    await env.destinations.register('prov-x', { clientId: 'd-1' });
    before.run = async (aud) => {
      if (aud === 'd-1') await env.authorizationStore.deauthorize('d-1', 'prov-x');
    };

    // Act
    const issued = await env.notifications.issue('prov-x', { notificationId: 'n-1', events: EVENTS });

    // Assess
    expect(issued.notification.fanOut).toEqual({ queued: 0, skipped: 1, withdrawn: 0, pending: false });
    expect(await env.queuedJtis('d-1')).toEqual([]);
    expect((await env.notifications.status('prov-x', 'n-1')).items).toEqual([]);
  });

  it("passes over a destination whose SSF stream does not deliver the event type: counted as filtered, nothing queued, no receipt, no inbox entry", async () => {
    // Prepare: d-ssf has a stream taking credential-change only; d-plain has none.
    const env = await setupNotifier({
      wrapQueue: (queue, table) => new StreamQueueStore({ queue, streams: new DynamoStreamStore(table), issuer: ISSUER }),
    });
    const at = new Date(T0).toISOString();
    await new DynamoStreamStore(env).create({ clientId: 'd-ssf', streamId: 's-1', eventsRequested: [CREDENTIAL_CHANGE], eventsDelivered: [CREDENTIAL_CHANGE], status: 'enabled', version: 1, createdAt: at, updatedAt: at });
    for (const id of ['d-plain', 'd-ssf']) await env.destinations.register('prov-x', { clientId: id });

    // Act
    const issued = await env.notifications.issue('prov-x', { notificationId: 'n-1', events: EVENTS, txn: 'txn-1' });

    // Assess
    expect(issued.notification.fanOut).toEqual({ queued: 1, skipped: 0, filtered: 1, withdrawn: 0, pending: false });
    expect(await env.queuedJtis('d-ssf')).toEqual([]);
    expect((await env.notifications.status('prov-x', 'n-1')).items.map((s) => s.clientId)).toEqual(['d-plain']);
    expect(await env.review.notifications('d-ssf', {})).toEqual({ items: [] });
  });

  it('names the provider and notification on the queued item, and the provider in the signed data_provider claim', async () => {
    // Prepare
    const env = await setupNotifier();
    await env.destinations.register('prov-x', { clientId: 'd-1' });
    // Act
    const issued = await env.notifications.issue('prov-x', { notificationId: 'n-1', events: EVENTS });
    const [queued] = (await env.store.readQueue('d-1', 10)).items;
    // Assess
    expect(decodeJwt(queued!.set)).toMatchObject({ jti: issued.notification.jti, aud: 'd-1', data_provider: 'prov-x' });
  });
});

describe('deauthorization withdraws the provider\'s undelivered SETs', () => {
  it('withdraws every undelivered SET of that provider (receipts say withdrawn), and leaves other providers\', the producer\'s and delivered ones', async () => {
    // Prepare: prov-x queues two SETs to tpp-a (one gets delivered), prov-y one; a producer one more.
    const env = await setupNotifier();
    for (const provider of ['prov-x', 'prov-y']) await env.destinations.register(provider, { clientId: 'tpp-a' });
    const x1 = await env.notifications.issue('prov-x', { notificationId: 'x-1', events: EVENTS });
    const delivered = await env.poll('tpp-a', { maxEvents: 1 });
    const x2 = await env.notifications.issue('prov-x', { notificationId: 'x-2', events: EVENTS });
    const x3 = await env.notifications.issue('prov-x', { notificationId: 'x-3', events: EVENTS });
    const y1 = await env.notifications.issue('prov-y', { notificationId: 'y-1', events: EVENTS });
    const producerJti = uuidv7(T0);
    await env.store.enqueue('tpp-a', { jti: producerJti, set: await env.signer.sign({ jti: producerJti, aud: 'tpp-a', events: EVENTS }), ttl: T0 / 1000 + 3600 });

    // Act
    const result = await env.authorizations.deauthorize('tpp-a', 'prov-x');
    const again = await env.authorizations.deauthorize('tpp-a', 'prov-y');

    // Assess
    expect(Object.keys(delivered.sets)).toEqual([x1.notification.jti]);
    expect(result).toEqual({ withdrawn: 2 });
    expect(again).toEqual({ withdrawn: 1 });
    expect((await env.queuedJtis('tpp-a')).sort()).toEqual([x1.notification.jti, producerJti].sort());
    const state = async (id: string) => (await env.notifications.status('prov-x', id)).items.map((s) => s.state);
    expect([await state('x-1'), await state('x-2'), await state('x-3')]).toEqual([['delivered'], ['withdrawn'], ['withdrawn']]);
    expect(y1.notification.fanOut.queued).toBe(1);
    expect(x2.notification.jti).not.toBe(x3.notification.jti);
  });

  it('recognises a SET queued before items named their provider by its signed data_provider claim', async () => {
    // Prepare: an item as an earlier build wrote it (no prov, no nid).
    const env = await setupNotifier();
    await env.authorize('tpp-a', 'prov-x');
    const jti = uuidv7(T0);
    await env.store.enqueue('tpp-a', { jti, set: await env.signer.sign({ jti, aud: 'tpp-a', data_provider: 'prov-x', events: EVENTS }), ttl: T0 / 1000 + 3600 });
    // Act
    const result = await env.authorizations.deauthorize('tpp-a', 'prov-x');
    // Assess
    expect(result).toEqual({ withdrawn: 1 });
    expect(await env.queuedJtis('tpp-a')).toEqual([]);
  });

  it('stops later fan-outs to that recipient', async () => {
    // Prepare
    const env = await setupNotifier();
    await env.destinations.register('prov-x', { clientId: 'tpp-a' });
    await env.authorizations.deauthorize('tpp-a', 'prov-x');
    // Act
    const issued = await env.notifications.issue('prov-x', { notificationId: 'n-1', events: EVENTS });
    // Assess
    expect(issued.notification.fanOut).toEqual({ queued: 0, skipped: 1, withdrawn: 0, pending: false });
    expect(await env.queuedJtis('tpp-a')).toEqual([]);
  });
});
