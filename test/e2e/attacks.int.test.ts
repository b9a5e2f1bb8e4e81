/**
 * The attacker and the careless client against this session's endpoints, over real mutual TLS on
 * the local stack: the recipient's review (forged and foreign cursors, bad limits, the wrong kind of
 * token), notification bulk operations (malformed, duplicated, another provider's), the SSF
 * transmitter (bad stream bodies, another receiver's stream, bad status and verification requests)
 * and a fan-out to a receiver whose SSF stream cannot take the notification's SET
 * (it is filtered, not an error mid-fan-out). Each is a clear
 * 4xx that changes nothing, or the documented success; none is a 5xx or shows another's data.
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slowCalls } from '../support/faults.ts';
import { httpsRequest, type HttpsResponse } from '../support/https-client.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';
import { SESSION_REVOKED } from '../support/event-types.ts';

const PROVIDER = 'provider-demo';
const OTHER_PROVIDER = 'provider-x';
const ALPHA = 'tpp-alpha';
const BETA = 'tpp-beta';
const EVENTS = { [SESSION_REVOKED]: {} };
const RECIPIENT_SCOPE = 'notifications:recipient';
const SSF_SCOPE = 'ssf.manage ssf.read';
const BAD_LIMIT = { err: 'invalid_request', description: 'limit must be an integer from 1 to 100' };
const BAD_CURSOR = { err: 'invalid_request', description: 'The cursor is not valid for this listing' };
const BAD_TOKEN = { err: 'invalid_token', description: 'The access token is missing, malformed, expired or not valid here' };
const NO_SCOPE = { err: 'insufficient_scope', description: 'The access token lacks a scope this endpoint requires' };
const BAD_STREAM_ID = { err: 'invalid_request', description: 'stream_id must be a stream id (a string of 1 to 128 characters)' };
const NO_STREAM = { err: 'not_found', description: 'No such stream' };

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ providerIds: [PROVIDER, OTHER_PROVIDER] });
  for (const clientId of [ALPHA, BETA]) expect((await stack.manage(PROVIDER, 'POST', '/destinations', { clientId })).status).toBe(201);
  expect((await stack.manage(OTHER_PROVIDER, 'POST', '/destinations', { clientId: BETA })).status).toBe(201);
});
afterAll(() => stack?.stop());

const answer = (res: HttpsResponse) => ({ status: res.status, body: res.json() });
const refused = (description: string) => ({ status: 400, body: { err: 'invalid_request', description } });
const review = async (clientId: string, query: string) =>
  stack.manage(clientId, 'GET', `/recipient/notifications${query}`, undefined, { authorization: `Bearer ${await stack.token(clientId, RECIPIENT_SCOPE)}` });
const bulk = (body: unknown, providerId = PROVIDER) => stack.manage(providerId, 'POST', '/notifications/bulk', body);
const issue = async (notificationId: string, claims: Record<string, unknown> = {}) => {
  const res = await stack.manage(PROVIDER, 'POST', '/notifications', { notificationId, events: EVENTS, ...claims });
  expect(res.status).toBe(201);
  return res.json<{ jti: string }>().jti;
};
const ssf = async (clientId: string, method: string, path: string, body?: unknown, scope = SSF_SCOPE) =>
  httpsRequest(new URL(path, stack.server.origin), {
    method,
    headers: { authorization: `Bearer ${await stack.token(clientId, scope)}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    ...stack.client(clientId),
  });
/** The jtis in a recipient's queue now (read from the table, not polled). */
const queuedJtis = async (clientId: string) => (await stack.store.readQueue(clientId, 100)).items.map((i) => i.jti).sort();

describe('GET /recipient/notifications under attack', () => {
  it('refuses another recipient\'s cursor, forged cursors and bad limits with a 400, and shows nothing of another recipient', async () => {
    // Prepare: two notifications reach both recipients.
    const jtis = [await issue('rv-1'), await issue('rv-2')];
    const first = await review(ALPHA, '?limit=1');
    const alphaCursor = first.json<{ nextCursor: string }>().nextCursor;
    // The same cursor with the recipient inside it rewritten: canonical base64url, but not this listing's.
    const forged = Buffer.from(Buffer.from(alphaCursor, 'base64url').toString().replace(ALPHA, BETA)).toString('base64url');

    // Act
    const foreign = await review(BETA, `?cursor=${alphaCursor}`);
    const forgedForAlpha = await review(ALPHA, `?cursor=${forged}`);
    const limits = await Promise.all(['0', '-1', '1e9', 'x', '1&limit=2', '101', '', '1.5', '%20'].map((l) => review(ALPHA, `?limit=${l}`)));
    const cursors = await Promise.all(['', 'abc', '%00', 'A'.repeat(5000), 'a&cursor=b', `${alphaCursor}=`].map((c) => review(ALPHA, `?cursor=${c}`)));
    const unknownParam = await review(ALPHA, '?offset=1');
    const full = await review(ALPHA, '?limit=100');

    // Assess
    expect(first.json<{ items: { jti: string }[] }>().items.map((i) => i.jti)).toEqual([jtis[0]]);
    expect(answer(foreign)).toEqual({ status: 400, body: BAD_CURSOR });
    expect(answer(forgedForAlpha)).toEqual({ status: 400, body: BAD_CURSOR });
    expect(limits.map(answer)).toEqual(limits.map(() => ({ status: 400, body: BAD_LIMIT })));
    expect(cursors.map(answer)).toEqual(cursors.map(() => ({ status: 400, body: BAD_CURSOR })));
    expect(answer(unknownParam)).toEqual({ status: 400, body: { err: 'invalid_request', description: 'Unknown query parameter "offset"' } });
    expect(full.json<{ items: { jti: string }[] }>().items.map((i) => i.jti)).toEqual(jtis);
  });

  it('takes only a recipient token bound to the caller\'s own certificate, and a recipient token nowhere else', async () => {
    // Act
    const providerToken = await stack.manage(PROVIDER, 'GET', '/recipient/notifications');
    const anotherCertificate = await stack.manage(BETA, 'GET', '/recipient/notifications', undefined, { authorization: `Bearer ${await stack.token(ALPHA, RECIPIENT_SCOPE)}` });
    const recipientOnProviderRoute = await stack.manage(ALPHA, 'GET', '/notifications', undefined, { authorization: `Bearer ${await stack.token(ALPHA, RECIPIENT_SCOPE)}` });
    const recipientIssues = await stack.manage(ALPHA, 'POST', '/notifications', { notificationId: 'rv-forged', events: EVENTS }, { authorization: `Bearer ${await stack.token(ALPHA, RECIPIENT_SCOPE)}` });
    const pollTokenOnReview = await stack.manage(ALPHA, 'GET', '/recipient/notifications', undefined, { authorization: `Bearer ${await stack.token(ALPHA, 'accounts')}` });

    // Assess
    expect(answer(providerToken)).toEqual({ status: 403, body: NO_SCOPE });
    expect(answer(anotherCertificate)).toEqual({ status: 401, body: BAD_TOKEN });
    expect(answer(recipientOnProviderRoute)).toEqual({ status: 403, body: NO_SCOPE });
    expect(answer(recipientIssues)).toEqual({ status: 403, body: NO_SCOPE });
    expect(answer(pollTokenOnReview)).toEqual({ status: 403, body: NO_SCOPE });
    expect((await stack.manage(PROVIDER, 'GET', '/notifications/rv-forged')).status).toBe(404);
  });
});

describe('POST /notifications/bulk under attack', () => {
  it('refuses a malformed request as a whole with a 400 that says why', async () => {
    // Act
    const answers = await Promise.all(
      [
        { operation: [{ op: 'issue', notificationId: 'bk-a', events: EVENTS }] },
        { operations: [{ op: 'issue', notificationId: 'bk-a', events: EVENTS }], notifications: [] },
        { operations: [] },
        { notifications: [] },
        { operations: Array.from({ length: 101 }, (_, i) => ({ op: 'withdraw', notificationId: `bk-${i}` })) },
        { operations: { 0: { op: 'issue', notificationId: 'bk-a', events: EVENTS } } },
        [{ op: 'issue', notificationId: 'bk-a', events: EVENTS }],
      ].map((body) => bulk(body)),
    );

    // Assess
    expect(answers.map(answer)).toEqual([
      refused('Unknown member "operation" in the bulk request'),
      refused('Give exactly one of notifications and operations'),
      refused('A bulk request holds 1 to 100 operations'),
      refused('A bulk request holds 1 to 100 notifications'),
      refused('A bulk request holds 1 to 100 operations'),
      refused('operations must be an array of issue, replace and withdraw operations'),
      refused('The request body must be a JSON object'),
    ]);
    expect((await stack.manage(PROVIDER, 'GET', '/notifications/bk-a')).status).toBe(404);
  });

  it('answers each bad operation with its own 400, a repeated id once, another provider\'s notification as a 404, and changes nothing else', async () => {
    // Prepare
    const jti = await issue('bk-victim');
    const before = await queuedJtis(BETA);

    // Act
    const res = await bulk(
      {
        operations: [
          { op: 'nuke', notificationId: 'bk-1' },
          { notificationId: 'bk-2', events: EVENTS },
          1,
          null,
          [],
          { op: 'withdraw', notificationId: 'bk-victim', events: EVENTS },
          { op: 'withdraw', notificationId: 'bk-victim', expectedVersion: '1' },
          { op: 'withdraw', notificationId: 'a#b' },
          { op: 'issue', notificationId: 'bk-dup', events: EVENTS },
          { op: 'replace', notificationId: 'bk-dup', events: EVENTS },
          { op: 'withdraw', notificationId: 'bk-dup' },
        ],
      },
      PROVIDER,
    );
    const foreign = await bulk({ operations: [{ op: 'withdraw', notificationId: 'bk-victim' }, { op: 'replace', notificationId: 'rv-1', events: EVENTS }] }, OTHER_PROVIDER);

    // Assess
    const failed = (index: number, description: string, notificationId?: string) => ({
      index,
      ...(notificationId === undefined ? {} : { notificationId }),
      ok: false,
      status: 400,
      error: { err: 'invalid_request', description },
    });
    const results = res.json<{ results: Record<string, unknown>[]; totals: unknown }>();
    expect(res.status).toBe(200);
    expect(results.results.slice(0, 8)).toEqual([
      failed(0, 'op must be "issue", "replace" or "withdraw"', 'bk-1'),
      failed(1, 'op must be "issue", "replace" or "withdraw"', 'bk-2'),
      failed(2, 'Each operation must be a JSON object'),
      failed(3, 'Each operation must be a JSON object'),
      failed(4, 'Each operation must be a JSON object'),
      failed(5, 'Unknown member "events" in a withdraw operation', 'bk-victim'),
      failed(6, 'expectedVersion must be a positive integer', 'bk-victim'),
      failed(7, 'notificationId must be 1 to 128 characters of A-Z a-z 0-9 . _ ~ : -, and not "." or ".."', 'a#b'),
    ]);
    expect(results.results.slice(8).map((r) => [r.notificationId, r.status])).toEqual([
      ['bk-dup', 201],
      ['bk-dup', 400],
      ['bk-dup', 400],
    ]);
    expect(results.results[9]).toEqual(failed(9, 'notificationId bk-dup appears more than once in the bulk request', 'bk-dup'));
    expect(results.totals).toEqual({ succeeded: 1, failed: 10 });
    expect(foreign.json()).toEqual({
      results: [
        { index: 0, notificationId: 'bk-victim', ok: false, status: 404, error: { err: 'not_found', description: 'No notification bk-victim' } },
        { index: 1, notificationId: 'rv-1', ok: false, status: 404, error: { err: 'not_found', description: 'No notification rv-1' } },
      ],
      totals: { succeeded: 0, failed: 2 },
    });
    const victim = (await stack.manage(PROVIDER, 'GET', '/notifications/bk-victim')).json<{ state: string; revision: number; jti: string }>();
    expect([victim.state, victim.revision, victim.jti]).toEqual(['issued', 1, jti]);
    const dup = (await stack.manage(PROVIDER, 'GET', '/notifications/bk-dup')).json<{ state: string; revision: number; jti: string }>();
    expect([dup.state, dup.revision]).toEqual(['issued', 1]);
    expect(await queuedJtis(BETA)).toEqual([...before, dup.jti].sort());
  });
  it('writes a notificationId repeated in the notifications form in the order given: created, then a safe retry or a 409', async () => {
    // Act: the first write is held back, so unordered writes would let a later one create it.
    const slow = slowCalls(stack.documentClient, { commands: ['PutCommand'], ms: 300, count: 1 });
    const res = await bulk({
      notifications: [
        { notificationId: 'bk-twice', events: EVENTS },
        ...Array.from({ length: 6 }, (_, i) => ({ notificationId: 'bk-twice', events: { [SESSION_REVOKED]: { other: i } } })),
        { notificationId: 'bk-twice', events: EVENTS },
      ],
    });
    slow.stop();

    // Assess
    const results = res.json<{ results: { status: number; error?: unknown }[] }>().results;
    expect(results.map((r) => r.status)).toEqual([201, 409, 409, 409, 409, 409, 409, 200]);
    expect(results[1]!.error).toEqual({ err: 'conflict', description: 'A notification bk-twice already exists with different claims' });
    expect((await stack.manage(PROVIDER, 'GET', '/notifications/bk-twice')).json<{ claims: unknown }>().claims).toEqual({ events: EVENTS });
  });
});

describe('the SSF transmitter under attack', () => {
  it('refuses bad stream bodies with a 400 that says why and creates nothing', async () => {
    // Act
    const bodies: unknown[] = [
      { events_requested: SESSION_REVOKED },
      { events_requested: [1] },
      { events_requested: Array.from({ length: 51 }, (_, i) => `urn:x:${i}`) },
      { delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: 'https://receiver.example/push' } },
      { delivery: 'poll' },
      { delivery: { endpoint_url: 'https://attacker.example/poll' } },
      { stream_id: 'mine' },
      { aud: [BETA] },
      { description: 5 },
      [],
      '"stream"',
      '{',
    ];
    const answers = await Promise.all(bodies.map((body) => ssf(ALPHA, 'POST', '/ssf/streams', body)));
    const huge = await ssf(ALPHA, 'POST', '/ssf/streams', { events_requested: Array.from({ length: 20_000 }, () => SESSION_REVOKED) });
    const list = await ssf(ALPHA, 'GET', '/ssf/streams');

    // Assess
    expect(answers.map(answer)).toEqual([
      refused('events_requested must be an array of at most 50 event type URIs'),
      refused('Each events_requested entry must be a string of 1 to 256 characters'),
      refused('events_requested must be an array of at most 50 event type URIs'),
      refused('Only poll delivery (urn:ietf:rfc:8936) is offered; push and other methods are not'),
      refused('delivery must be an object'),
      refused('delivery.endpoint_url of a poll stream is supplied by the transmitter: leave it out or echo it unchanged'),
      refused('stream_id is chosen by the transmitter: leave it out of a create'),
      refused('aud is supplied by the transmitter: leave it out or echo it unchanged'),
      refused('description must be a string'),
      refused('The request body must be a JSON object'),
      refused('The request body must be a JSON object'),
      refused('The request body is not valid JSON'),
    ]);
    expect(answer(huge)).toEqual({ status: 413, body: { err: 'payload_too_large', description: 'The request body must be at most 1048576 bytes' } });
    expect(answer(list)).toEqual({ status: 200, body: [] });
  });

  it('answers another receiver\'s stream_id as an unknown one, refuses bad ids, statuses and states, and leaves the stream as it was', async () => {
    // Prepare
    const created = await ssf(ALPHA, 'POST', '/ssf/streams', { events_requested: [SESSION_REVOKED], unknown_member: true });
    expect(created.status).toBe(201);
    const stream = created.json<{ stream_id: string }>();
    const id = stream.stream_id;

    // Act: beta aims at alpha's stream through every route.
    const foreign = [
      await ssf(BETA, 'GET', `/ssf/streams?stream_id=${id}`),
      await ssf(BETA, 'PATCH', '/ssf/streams', { stream_id: id, description: 'taken' }),
      await ssf(BETA, 'PUT', '/ssf/streams', { stream_id: id }),
      await ssf(BETA, 'DELETE', `/ssf/streams?stream_id=${id}`),
      await ssf(BETA, 'GET', `/ssf/status?stream_id=${id}`),
      await ssf(BETA, 'POST', '/ssf/status', { stream_id: id, status: 'disabled' }),
      await ssf(BETA, 'POST', '/ssf/verify', { stream_id: id, state: 'x' }),
    ];
    const badIds = [
      await ssf(ALPHA, 'PATCH', '/ssf/streams', { description: 'no id' }),
      await ssf(ALPHA, 'PUT', '/ssf/streams', { stream_id: 5 }),
      await ssf(ALPHA, 'GET', '/ssf/streams?stream_id='),
      await ssf(ALPHA, 'POST', '/ssf/verify', { stream_id: ['x'] }),
    ];
    const missingQuery = await ssf(ALPHA, 'DELETE', '/ssf/streams');
    const wrongTypes = [
      await ssf(ALPHA, 'PATCH', '/ssf/streams', { stream_id: id, events_requested: { [SESSION_REVOKED]: true } }),
      await ssf(ALPHA, 'PUT', '/ssf/streams', { stream_id: id, delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: 'https://receiver.example/push' } }),
    ];
    const statuses = await Promise.all([{ status: 'on' }, { status: 1 }, { status: null }, { status: 'ENABLED' }, {}, { status: ['paused'] }].map((s) => ssf(ALPHA, 'POST', '/ssf/status', { stream_id: id, ...s })));
    const badReason = await ssf(ALPHA, 'POST', '/ssf/status', { stream_id: id, status: 'paused', reason: 5 });
    const readOnlyChange = await ssf(ALPHA, 'POST', '/ssf/status', { stream_id: id, status: 'paused' }, 'ssf.read');
    const states = await Promise.all([5, {}, null, 'x'.repeat(257)].map((state) => ssf(ALPHA, 'POST', '/ssf/verify', { stream_id: id, state })));
    const pollTokenOnStreams = await ssf(ALPHA, 'GET', '/ssf/streams', undefined, 'accounts');

    // Assess
    expect(foreign.map(answer)).toEqual(foreign.map(() => ({ status: 404, body: NO_STREAM })));
    expect(badIds.map(answer)).toEqual(badIds.map(() => ({ status: 400, body: BAD_STREAM_ID })));
    expect(answer(missingQuery)).toEqual(refused('The stream_id query parameter must be a stream id (a string of 1 to 128 characters)'));
    expect(wrongTypes.map(answer)).toEqual([
      refused('events_requested must be an array of at most 50 event type URIs'),
      refused('Only poll delivery (urn:ietf:rfc:8936) is offered; push and other methods are not'),
    ]);
    expect(statuses.map(answer)).toEqual(statuses.map(() => refused('status must be enabled, paused or disabled')));
    expect(answer(badReason)).toEqual(refused('reason must be a string'));
    expect(answer(readOnlyChange)).toEqual({ status: 403, body: NO_SCOPE });
    expect(states.map(answer)).toEqual(states.map(() => refused('state must be a string of at most 256 characters')));
    expect(answer(pollTokenOnStreams)).toEqual({ status: 403, body: NO_SCOPE });
    expect(answer(await ssf(ALPHA, 'GET', `/ssf/streams?stream_id=${id}`))).toEqual({ status: 200, body: stream });
    expect(answer(await ssf(ALPHA, 'GET', `/ssf/status?stream_id=${id}`))).toEqual({ status: 200, body: { stream_id: id, status: 'enabled' } });
    expect(await queuedJtis(ALPHA)).toEqual([]);
  });

  it('fans a notification without txn out to the recipients without a stream, and filters out the one whose stream cannot take it', async () => {
    // Prepare: alpha has a stream (made here when this test runs alone); beta has none. A SET on a stream must carry txn.
    if ((await ssf(ALPHA, 'GET', '/ssf/streams')).json<unknown[]>().length === 0) expect((await ssf(ALPHA, 'POST', '/ssf/streams', { events_requested: [SESSION_REVOKED] })).status).toBe(201);
    expect((await ssf(BETA, 'GET', '/ssf/streams')).json()).toEqual([]);
    const alphaBefore = await queuedJtis(ALPHA);
    const betaBefore = await queuedJtis(BETA);

    // Act
    const single = await stack.manage(PROVIDER, 'POST', '/notifications', { notificationId: 'fo-no-txn', events: EVENTS });
    const inBulk = await bulk({ operations: [{ op: 'issue', notificationId: 'fo-bulk-no-txn', events: EVENTS }, { op: 'issue', notificationId: 'fo-bulk-txn', events: EVENTS, txn: 'txn-1' }] });

    // Assess
    expect(single.status).toBe(201);
    const issued = single.json<{ jti: string; state: string; fanOut: unknown }>();
    expect([issued.state, issued.fanOut]).toEqual(['issued', { queued: 1, skipped: 0, filtered: 1, withdrawn: 0, pending: false }]);
    const results = inBulk.json<{ results: { status: number; notification: { jti: string; state: string; fanOut: unknown } }[] }>().results;
    expect(results.map((r) => [r.status, r.notification.state, r.notification.fanOut])).toEqual([
      [201, 'issued', { queued: 1, skipped: 0, filtered: 1, withdrawn: 0, pending: false }],
      [201, 'issued', { queued: 2, skipped: 0, withdrawn: 0, pending: false }],
    ]);
    const [noTxn, withTxn] = results.map((r) => r.notification.jti);
    expect(await queuedJtis(BETA)).toEqual([...betaBefore, issued.jti, noTxn!, withTxn!].sort());
    expect(await queuedJtis(ALPHA)).toEqual([...alphaBefore, withTxn!].sort());
    const status = await stack.manage(PROVIDER, 'GET', '/notifications/fo-no-txn/status');
    expect(status.json<{ items: { clientId: string; state: string }[] }>().items.map((s) => [s.clientId, s.state])).toEqual([[BETA, 'queued']]);
    const polled = await stack.poll(ALPHA, { returnImmediately: true }, { authorization: `Bearer ${await stack.token(ALPHA, 'ssf.manage')}` });
    expect(Object.values(polled.json<{ sets: Record<string, string> }>().sets).map((set) => decodeJwt(set).txn)).toEqual(['txn-1']);
  });

  it('of two concurrent creates one is a 201 and the other a 409; of three concurrent verifications one queues a SET, the others are 429 with Retry-After', async () => {
    // Act
    const creates = await Promise.all([1, 2].map(() => ssf(BETA, 'POST', '/ssf/streams', { events_requested: [SESSION_REVOKED] })));
    const id = creates.find((res) => res.status === 201)!.json<{ stream_id: string }>().stream_id;
    const before = await queuedJtis(BETA);
    const verifications = await Promise.all([1, 2, 3].map(() => ssf(BETA, 'POST', '/ssf/verify', { stream_id: id, state: 'race' })));

    // Assess
    expect(creates.map((res) => res.status).sort()).toEqual([201, 409]);
    expect(answer(await ssf(BETA, 'GET', '/ssf/streams')).body).toHaveLength(1);
    expect(verifications.map((res) => [res.status, res.headers['retry-after']]).sort()).toEqual([
      [204, undefined],
      [429, '30'],
      [429, '30'],
    ]);
    expect(verifications.filter((res) => res.status === 429).map(answer)).toEqual(
      [1, 2].map(() => ({ status: 429, body: { err: 'too_many_requests', description: 'At most one verification request every 30 s (min_verification_interval)' } })),
    );
    expect((await queuedJtis(BETA)).length).toBe(before.length + 1);
  });
});
