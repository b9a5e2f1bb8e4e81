/**
 * The SSF stream filter on every enqueue path, over the local stack: a Data Provider's fan-out
 * passes over a receiver whose stream does not take the SET (no error, no receipt, counted as
 * `filtered`), and a producer's SET outside the SSF profile is queued to no recipient at all.
 */
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SET_PROVIDER_CLAIM } from '../../lambdas/contract.ts';
import type { DestinationStatus, Notification } from '../../lambdas/notifier/notifications.ts';
import { StreamProfileViolation } from '../../lambdas/ssf/stream-queue-store.ts';
import { SSF_PATHS } from '../../lambdas/ssf/vocabulary.ts';
import { inProcess } from '../support/cli.ts';
import { httpsRequest } from '../support/https-client.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';
import { CREDENTIAL_CHANGE, SESSION_REVOKED } from '../support/event-types.ts';

const PROVIDER = 'provider-demo';
const ALPHA = 'tpp-alpha';
const BETA = 'tpp-beta';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
  // Alpha is an SSF receiver of session-revoked only; beta polls as an OB recipient.
  const created = await httpsRequest(`${stack.server.origin}${SSF_PATHS.configuration}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await stack.token(ALPHA, 'ssf.manage')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ events_requested: [SESSION_REVOKED] }),
    ...stack.client(ALPHA),
  });
  expect(created.status).toBe(201);
  const registered = await stack.manage(PROVIDER, 'POST', '/destinations/bulk', { operations: [{ op: 'register', clientId: ALPHA }, { op: 'register', clientId: BETA }] });
  expect(registered.status).toBe(200);
});
afterAll(() => stack?.stop());

/** The SETs waiting for a recipient (a short poll with an OB token, acknowledged at once). */
async function take(clientId: string): Promise<Record<string, string>> {
  const { sets } = (await stack.poll(clientId)).json<{ sets: Record<string, string> }>();
  if (Object.keys(sets).length > 0) await stack.poll(clientId, { ack: Object.keys(sets), maxEvents: 0, returnImmediately: true });
  return sets;
}

async function statuses(notificationId: string): Promise<DestinationStatus[]> {
  return (await stack.manage(PROVIDER, 'GET', `/notifications/${notificationId}/status`)).json<{ items: DestinationStatus[] }>().items;
}

describe("a Data Provider's notification to an SSF receiver", () => {
  it('passes over a stream that did not request the event type: 201, counted as filtered, no receipt', async () => {
    // Act
    const issued = await stack.manage(PROVIDER, 'POST', '/notifications', { notificationId: 'n-cc', events: { [CREDENTIAL_CHANGE]: {} }, txn: 'txn-cc' });
    // Assert
    expect(issued.status).toBe(201);
    expect(issued.json<Notification>().fanOut).toEqual({ queued: 1, skipped: 0, filtered: 1, withdrawn: 0, pending: false });
    expect((await statuses('n-cc')).map((s) => [s.clientId, s.state])).toEqual([[BETA, 'queued']]);
    expect(Object.keys(await take(ALPHA))).toEqual([]);
    expect(Object.keys(await take(BETA))).toEqual([issued.json<Notification>().jti]);
  });

  it('passes over a stream when the SET is outside the SSF profile (sub), and still serves the OB recipient', async () => {
    // Act
    const issued = await stack.manage(PROVIDER, 'POST', '/notifications', { notificationId: 'n-sub', events: { [SESSION_REVOKED]: {} }, sub: 'user-1', txn: 'txn-sub' });
    // Assert
    expect(issued.status).toBe(201);
    expect(issued.json<Notification>().fanOut).toEqual({ queued: 1, skipped: 0, filtered: 1, withdrawn: 0, pending: false });
    expect((await statuses('n-sub')).map((s) => s.clientId)).toEqual([BETA]);
    expect(Object.keys(await take(ALPHA))).toEqual([]);
    expect(Object.keys(await take(BETA))).toEqual([issued.json<Notification>().jti]);
  });

  it('queues a requested event type in the SSF profile to the stream, naming the provider, with a receipt', async () => {
    // Act
    const issued = await stack.manage(PROVIDER, 'POST', '/notifications', {
      notificationId: 'n-ok',
      events: { [SESSION_REVOKED]: { event_timestamp: 1_700_000_000 } },
      sub_id: { format: 'opaque', id: 'session-1' },
      txn: 'txn-ok',
    });
    const sets = await take(ALPHA);
    // Assert
    const { jti, fanOut } = issued.json<Notification>();
    expect(issued.status).toBe(201);
    expect(fanOut).toEqual({ queued: 2, skipped: 0, withdrawn: 0, pending: false });
    expect(Object.keys(sets)).toEqual([jti]);
    const jwks = (await httpsRequest(stack.config.jwksUrl, { method: 'GET', ...stack.client(ALPHA) })).json<JSONWebKeySet>();
    const { payload } = await jwtVerify(sets[jti]!, createLocalJWKSet(jwks), { issuer: stack.config.issuer, audience: ALPHA, typ: 'secevent+jwt' });
    expect(payload[SET_PROVIDER_CLAIM]).toBe(PROVIDER);
    expect((await statuses('n-ok')).map((s) => [s.clientId, s.state]).sort()).toEqual([
      [ALPHA, 'acknowledged'],
      [BETA, 'queued'],
    ]);
    await take(BETA);
  });

  it('drops the filtered count when the notification is replaced with a SET the stream takes', async () => {
    // Act
    const replaced = await stack.manage(PROVIDER, 'PUT', '/notifications/n-cc', { events: { [SESSION_REVOKED]: {} }, txn: 'txn-cc-2' }, { 'if-match': '"1"' });
    // Assert
    expect(replaced.status).toBe(200);
    expect(replaced.json<Notification>().fanOut).toEqual({ queued: 2, skipped: 0, withdrawn: 0, pending: false });
    expect(Object.keys(await take(ALPHA))).toEqual([replaced.json<Notification>().jti]);
    await take(BETA);
  });
});

describe("a producer's SET to several recipients, one of them an SSF receiver", () => {
  it('is refused whole when it breaks the SSF profile: no recipient gets it', async () => {
    // Act
    const refused = stack.publisher.publish({ recipients: [BETA, ALPHA], events: { [SESSION_REVOKED]: {} }, sub: 'user-2', txn: 'txn-p' });
    // Assert
    await expect(refused).rejects.toThrow(StreamProfileViolation);
    expect(await take(BETA)).toEqual({});
    expect(await take(ALPHA)).toEqual({});
  });

  it('is filtered for the stream and queued for the others when only its event type is not requested', async () => {
    // Act
    const published = await stack.publisher.publish({ recipients: [BETA, ALPHA], events: { [CREDENTIAL_CHANGE]: {} }, txn: 'txn-q' });
    // Assert
    expect(Object.fromEntries(published.outcomes)).toEqual({ [BETA]: 'queued', [ALPHA]: 'filtered' });
    expect(Object.keys(await take(BETA))).toEqual([published.jti]);
    expect(await take(ALPHA)).toEqual({});
  });
});

describe('setpoll publish to an SSF receiver', () => {
  it('goes through the stream filter: an event type the stream did not request is reported as filtered', async () => {
    // Act
    const run = await inProcess('publish', '-r', BETA, '-r', ALPHA, '--events', JSON.stringify({ [CREDENTIAL_CHANGE]: {} }), '--txn', 'txn-cli', '--json', '--config', stack.configFile);
    // Assert
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as { jti: string };
    expect(out).toEqual({ jti: expect.any(String), queued: [BETA], duplicate: [], filtered: [ALPHA] });
    expect(run.stderr).toBe(`filtered: ${ALPHA}'s SSF stream does not take this SET (event type not requested, or stream disabled or deleted)\n`);
    expect(Object.keys(await take(BETA))).toEqual([out.jti]);
    expect(await take(ALPHA)).toEqual({});
  });

  it('refuses a SET outside the SSF profile for every recipient, with the rule it breaks', async () => {
    // Act
    const run = await inProcess('publish', '-r', BETA, '-r', ALPHA, '--events', JSON.stringify({ [SESSION_REVOKED]: {} }), '--sub', 'user-3', '--txn', 'txn-cli-2', '--config', stack.configFile);
    // Assert
    expect(run).toEqual({
      code: 1,
      stdout: '',
      stderr: expect.stringContaining("nothing published: tpp-alpha receives SETs through an SSF stream, so a SET to it must not carry sub (use sub_id or the event's subject) (SSF 1.0 §4.1)"),
    });
    expect(await take(BETA)).toEqual({});
  });
});
