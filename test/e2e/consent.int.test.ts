/**
 * Attacks on recipients' consent, over real mutual TLS against the local stack: a second Data
 * Provider (provider-x) that no demo recipient has authorized tries to register them, to register an
 * id nobody has, and to reach them with a SET; a recipient withdraws its consent with its own token.
 * provider-demo (authorized by the local stack for tpp-alpha and tpp-beta) is the honest provider.
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DestinationStatus } from '../../lambdas/notifier/notifications.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';

const HONEST = 'provider-demo';
const ATTACKER = 'provider-x';
const EVENTS = { 'https://schemas.openid.net/secevent/caep/event-type/session-revoked': {} };
const DENIED = { err: 'access_denied', description: 'Not authorized to notify this client id: the recipient must first authorize this Data Provider' };

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ providerIds: [HONEST, ATTACKER] });
  // The local stack authorizes every provider it is given: this one the recipients never agreed to.
  for (const recipient of ['tpp-alpha', 'tpp-beta']) await stack.authorizations.deauthorize(recipient, ATTACKER);
});
afterAll(() => stack?.stop());

/** A recipient's own call (scope notifications:recipient). */
const asRecipient = async (clientId: string, method: string, path: string) =>
  stack.manage(clientId, method, path, undefined, { authorization: `Bearer ${await stack.token(clientId, 'notifications:recipient')}` });

/** Everything the recipient can poll now, acknowledged: the data_provider of each SET. */
async function pollProviders(clientId: string): Promise<(string | undefined)[]> {
  const res = await stack.poll(clientId, { returnImmediately: true, maxEvents: 100 });
  expect(res.status).toBe(200);
  const sets = res.json<{ sets: Record<string, string> }>().sets;
  if (Object.keys(sets).length > 0) await stack.poll(clientId, { returnImmediately: true, maxEvents: 0, ack: Object.keys(sets) });
  return Object.values(sets).map((set) => decodeJwt(set).data_provider as string | undefined);
}

const statusOf = async (providerId: string, notificationId: string) =>
  (await stack.manage(providerId, 'GET', `/notifications/${notificationId}/status`)).json<{ items: DestinationStatus[] }>().items.map((s) => [s.clientId, s.state]);

describe('a provider the recipient has not authorized', () => {
  it('cannot register the recipient as a destination: 403 access_denied, nothing stored', async () => {
    // Act
    const res = await stack.manage(ATTACKER, 'POST', '/destinations', { clientId: 'tpp-alpha' });
    const read = await stack.manage(ATTACKER, 'GET', '/destinations/tpp-alpha');

    // Assess
    expect({ status: res.status, body: res.json() }).toEqual({ status: 403, body: DENIED });
    expect(res.headers['content-type']).toBe('application/json');
    expect(read.status).toBe(404);
  });

  it('gets the very same answer for a client id that nobody has, so ids cannot be probed', async () => {
    // Act
    const known = await stack.manage(ATTACKER, 'POST', '/destinations', { clientId: 'tpp-beta' });
    const unknown = await stack.manage(ATTACKER, 'POST', '/destinations', { clientId: 'tpp-nobody' });

    // Assess
    expect({ status: unknown.status, body: unknown.body }).toEqual({ status: known.status, body: known.body });
    expect({ status: unknown.status, body: unknown.json() }).toEqual({ status: 403, body: DENIED });
  });

  it('is refused item by item in bulk, atomic or not', async () => {
    // Act
    const operations = [{ op: 'register', clientId: 'tpp-alpha' }, { op: 'register', clientId: 'tpp-nobody' }];
    const each = await stack.manage(ATTACKER, 'POST', '/destinations/bulk', { operations });
    const atomic = await stack.manage(ATTACKER, 'POST', '/destinations/bulk', { operations, atomic: true });

    // Assess
    const refused = (index: number, clientId: string) => ({ index, clientId, ok: false, status: 403, error: DENIED });
    expect(each.json()).toEqual({ atomic: false, applied: false, results: [refused(0, 'tpp-alpha'), refused(1, 'tpp-nobody')], totals: { succeeded: 0, failed: 2 } });
    expect(atomic.json()).toEqual({ atomic: true, applied: false, results: [refused(0, 'tpp-alpha'), refused(1, 'tpp-nobody')], totals: { succeeded: 0, failed: 2 } });
    expect((await stack.manage(ATTACKER, 'GET', '/destinations')).json()).toEqual({ items: [] });
  });
});

describe('fan-out and withdrawal of consent', () => {
  it("never delivers a SET of a provider to a recipient that authorized only another one, even through a destination it once allowed", async () => {
    // Prepare: tpp-alpha lets the attacker in, which registers it, then tpp-alpha takes consent back.
    expect((await asRecipient('tpp-alpha', 'PUT', `/recipient/authorizations/${ATTACKER}`)).status).toBe(201);
    expect((await stack.manage(ATTACKER, 'POST', '/destinations', { clientId: 'tpp-alpha' })).status).toBe(201);
    const removed = await asRecipient('tpp-alpha', 'DELETE', `/recipient/authorizations/${ATTACKER}`);
    expect((await stack.manage(HONEST, 'POST', '/destinations', { clientId: 'tpp-alpha' })).status).toBe(201);

    // Act
    const forged = await stack.manage(ATTACKER, 'POST', '/notifications', { notificationId: 'x-revoke-1', events: EVENTS });
    const honest = await stack.manage(HONEST, 'POST', '/notifications', { notificationId: 'demo-1', events: EVENTS });
    const received = await pollProviders('tpp-alpha');

    // Assess
    expect({ status: removed.status, body: removed.json() }).toEqual({ status: 200, body: { providerId: ATTACKER, withdrawn: 0 } });
    expect({ status: forged.status, fanOut: forged.json<{ fanOut: unknown }>().fanOut }).toEqual({ status: 201, fanOut: { queued: 0, skipped: 1, withdrawn: 0, pending: false } });
    expect(honest.status).toBe(201);
    expect(received).toEqual([HONEST]);
    expect(await statusOf(ATTACKER, 'x-revoke-1')).toEqual([]);
  });

  it("withdraws the provider's undelivered SETs when the recipient removes its authorization, and stops later ones", async () => {
    // Prepare: tpp-beta authorizes the attacker, which queues two SETs to it.
    await asRecipient('tpp-beta', 'PUT', `/recipient/authorizations/${ATTACKER}`);
    expect((await stack.manage(ATTACKER, 'POST', '/destinations', { clientId: 'tpp-beta' })).status).toBe(201);
    for (const id of ['x-beta-1', 'x-beta-2']) expect((await stack.manage(ATTACKER, 'POST', '/notifications', { notificationId: id, events: EVENTS })).status).toBe(201);

    // Act
    const removed = await asRecipient('tpp-beta', 'DELETE', `/recipient/authorizations/${ATTACKER}`);
    const later = await stack.manage(ATTACKER, 'POST', '/notifications', { notificationId: 'x-beta-3', events: EVENTS });
    const received = await pollProviders('tpp-beta');

    // Assess
    expect({ status: removed.status, body: removed.json() }).toEqual({ status: 200, body: { providerId: ATTACKER, withdrawn: 2 } });
    // Skipped: tpp-beta, and tpp-alpha (the destination of the previous test).
    expect(later.json<{ fanOut: unknown }>().fanOut).toEqual({ queued: 0, skipped: 2, withdrawn: 0, pending: false });
    expect(received).not.toContain(ATTACKER);
    expect([await statusOf(ATTACKER, 'x-beta-1'), await statusOf(ATTACKER, 'x-beta-2'), await statusOf(ATTACKER, 'x-beta-3')]).toEqual([
      [['tpp-beta', 'withdrawn']],
      [['tpp-beta', 'withdrawn']],
      [],
    ]);
  });
});
