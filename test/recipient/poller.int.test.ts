/**
 * The Poller against the local stack (real mTLS, real tokens, real JWS, DynamoDB Local) with a
 * 1 s lease: what reaches the application, what is answered on which request (observed on the
 * wire), what the transmitter keeps (read back from the store), and how failures are retried.
 * Faults are injected in front of the stack (a 429, a dropped connection) or under it (DynamoDB
 * throttled, so the stack itself answers 503), never in place of the thing under test.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateSettings } from '../../lambdas/core/settings.ts';
import { uuidv7 } from '../../lambdas/producer/uuidv7.ts';
import { HandlerFailed, KeySetUnavailable, NetworkError, PollRejected, PollThrottled, PollUnavailable, SetAccessDenied, TokenRequestFailed, type RecipientError } from '../../recipient/errors.ts';
import { JtiCache } from '../../recipient/jti-cache.ts';
import { Poller, type PollerOptions } from '../../recipient/poller.ts';
import type { Recipient } from '../../recipient/recipient.ts';
import type { VerifiedSet } from '../../recipient/set-verifier.ts';
import { injectFaults } from '../support/faults.ts';
import { TEST_SETTINGS, startTestStack, type TestStack } from '../support/local-stack.ts';
import { publishSets } from '../support/queue.ts';
import {
  EVENT,
  Recorder,
  claimsFor,
  enqueue,
  errorAnswer,
  foreignKey,
  freshRecipient,
  injectPollFaults,
  injectTokenFaults,
  oauthErrorAnswer,
  queued,
  recipientFor,
  stackKey,
  type Fault,
} from './helpers.ts';

const LEASE_SECONDS = 1;

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ settings: validateSettings({ ...TEST_SETTINGS, leaseSeconds: LEASE_SECONDS }) });
});
afterAll(() => stack?.stop());

interface Harness {
  readonly clientId: string;
  readonly recipient: Recipient;
  readonly recorder: Recorder;
  /** jtis in the order the application received them. */
  readonly handed: string[];
  readonly rejected: { jti: string; code: string }[];
  readonly retries: { error: RecipientError; delayMs: number; attempt: number }[];
  poller(options?: Partial<PollerOptions>): Poller;
}

/**
 * A fresh recipient (its own queue), its transport recorded and optionally faulted (poll requests,
 * token requests), and a Poller factory that records what happens.
 */
async function setUp(faults: readonly Fault[] = [], clientId?: string, tokenFaults: readonly Fault[] = []): Promise<Harness> {
  const id = clientId ?? (await freshRecipient(stack, 'poller'));
  const recorder = new Recorder();
  const inject = injectPollFaults(faults);
  const injectTokens = injectTokenFaults(tokenFaults);
  const recipient = recipientFor(stack, id, { wrapTransport: (t) => recorder.wrap(inject(injectTokens(t))) });
  stack.closeOnStop(recipient);
  const handed: string[] = [];
  const rejected: { jti: string; code: string }[] = [];
  const retries: Harness['retries'] = [];
  return {
    clientId: id,
    recipient,
    recorder,
    handed,
    rejected,
    retries,
    poller: (options = {}) =>
      new Poller({
        client: recipient.client,
        verifier: recipient.verifier,
        handle: (set: VerifiedSet) => void handed.push(set.jti),
        onRejected: (jti, error) => void rejected.push({ jti, code: error.code }),
        onRetry: (error, delayMs, attempt) => void retries.push({ error, delayMs, attempt }),
        backoff: { random: () => 0 },
        ...options,
      }),
  };
}

/** The jtis of `count` SETs published to clientId, oldest first. */
const publish = async (clientId: string, count: number): Promise<string[]> => (await publishSets(stack, clientId, count, { events: EVENT })).map((s) => s.jti);

/**
 * libuv times setTimeout against a loop clock of whole milliseconds cached at the top of each loop
 * turn, so a timer can fire up to 1 ms before performance.now() says its delay has passed (seen:
 * 1119.93 ms for a 1120 ms wait). The waits below are checked to that precision.
 */
const TIMER_SLACK_MS = 1;

describe('Poller', () => {
  describe('constructor', () => {
    it('refuses maxEvents 0 from configuration (TypeError): a poll with it would never receive a SET', async () => {
      // Prepare
      const { recipient } = await setUp();
      const base = { client: recipient.client, verifier: recipient.verifier, handle: () => undefined };

      // Act / Assess
      expect(() => new Poller({ ...base, maxEvents: 0 })).toThrow(
        new TypeError("maxEvents 0 would make every poll acknowledge-only and never receive a SET: use acknowledge: 'separately' or flush() for acknowledge-only requests"),
      );
      expect(() => new Poller({ ...base, maxEvents: -3 })).toThrow(TypeError);
      expect(() => new Poller({ ...base, maxEvents: 2.5 })).toThrow(TypeError);
      expect(() => new Poller({ ...base, maxEvents: undefined })).not.toThrow();
    });
  });

  describe('run', () => {
    it('hands each SET to the application in order and acknowledges it on the next request, sending maxEvents as configured', async () => {
      // Prepare
      const h = await setUp();
      const [a, b, c] = await publish(h.clientId, 3);

      // Act
      await h.poller({ maxEvents: 2 }).run({ untilEmpty: true });

      // Assess
      expect(h.handed).toEqual([a, b, c]);
      expect(h.recorder.pollBodies()).toEqual([
        '{"maxEvents":2,"returnImmediately":true}',
        `{"ack":["${a}","${b}"],"maxEvents":2,"returnImmediately":true}`,
        `{"ack":["${c}"],"maxEvents":0,"returnImmediately":true}`,
      ]);
      expect(await queued(stack, h.clientId)).toEqual([]);
    });

    it('never sends maxEvents when none is configured; the only 0 is on the explicit acknowledge-only request', async () => {
      // Prepare
      const h = await setUp();
      const [a] = await publish(h.clientId, 1);

      // Act
      await h.poller().run({ untilEmpty: true });

      // Assess
      expect(h.recorder.pollBodies()).toEqual(['{"returnImmediately":true}', `{"ack":["${a}"],"maxEvents":0,"returnImmediately":true}`]);
    });

    it('reports invalid SETs in setErrs with their RFC 8935 codes, never hands them over, and the transmitter records them as errored', async () => {
      // Prepare: one good SET and five bad ones, queued directly as a producer may
      const h = await setUp();
      const key = stackKey(stack);
      const now = Math.floor(Date.now() / 1000);
      const bad = {
        invalid_key: claimsFor(stack, h.clientId, { jti: uuidv7() }),
        invalid_issuer: claimsFor(stack, h.clientId, { jti: uuidv7(), iss: 'https://impostor.example' }),
        invalid_audience: claimsFor(stack, h.clientId, { jti: uuidv7(), aud: 'tpp-beta' }),
        typ_missing: claimsFor(stack, h.clientId, { jti: uuidv7() }),
        iat_future: claimsFor(stack, h.clientId, { jti: uuidv7(), iat: now + 3600 }),
      };
      const sets = {
        invalid_key: await enqueue(stack, h.clientId, bad.invalid_key, { key: await foreignKey() }),
        invalid_issuer: await enqueue(stack, h.clientId, bad.invalid_issuer, { key }),
        invalid_audience: await enqueue(stack, h.clientId, bad.invalid_audience, { key }),
        typ_missing: await enqueue(stack, h.clientId, bad.typ_missing, { key, header: { typ: undefined } }),
        iat_future: await enqueue(stack, h.clientId, bad.iat_future, { key }),
      };
      const [good] = await publish(h.clientId, 1);

      // Act
      await h.poller().run({ untilEmpty: true });

      // Assess
      expect(h.handed).toEqual([good]);
      const final = JSON.parse(h.recorder.pollBodies().at(-1)!) as { ack: string[]; setErrs: Record<string, { err: string; description: string }>; maxEvents: number; returnImmediately: boolean };
      expect(final.ack).toEqual([good]);
      expect(final.maxEvents).toBe(0);
      expect(final.returnImmediately).toBe(true);
      expect(Object.fromEntries(Object.entries(final.setErrs).map(([jti, e]) => [jti, e.err]))).toEqual({
        [bad.invalid_key.jti]: 'invalid_key',
        [bad.invalid_issuer.jti]: 'invalid_issuer',
        [bad.invalid_audience.jti]: 'invalid_audience',
        [bad.typ_missing.jti]: 'invalid_request',
        [bad.iat_future.jti]: 'invalid_request',
      });
      expect(final.setErrs[bad.iat_future.jti]!.description).toMatch(/^SET "[^"]+" was issued 3(59\d|600) s in the future \(iat\)$/);
      expect(h.recorder.polls().at(-1)!.request.headers['content-language']).toBe('en');
      expect(h.rejected.map((r) => r.code).sort()).toEqual(['invalid_audience', 'invalid_issuer', 'invalid_key', 'invalid_request', 'invalid_request']);

      const record = await stack.store.readRecord(h.clientId, bad.invalid_key.jti);
      expect(record).toMatchObject({ state: 'errored', err: 'invalid_key', lang: 'en', set: sets.invalid_key });
      expect(record!.description).toMatch(/^No key of the transmitter matches SET /);
      for (const [code, claims] of Object.entries(bad)) {
        expect((await stack.store.readRecord(h.clientId, claims.jti))?.state, code).toBe('errored');
      }
      expect(await queued(stack, h.clientId)).toEqual([]);
    });

    it('neither hands over nor acknowledges a SET redelivered while another poller sharing the cache is still handling it; that poller acknowledges it when done', async () => {
      // Prepare: poller A takes the SET and is slow to finish with it; the lease runs out meanwhile
      const h = await setUp();
      const [x] = await publish(h.clientId, 1);
      const cache = new JtiCache(100);
      const handedSlowly: string[] = [];
      let received!: () => void;
      const receivedByA = new Promise<void>((resolve) => (received = resolve));
      let finish!: () => void;
      const finished = new Promise<void>((resolve) => (finish = resolve));
      const stopA = new AbortController();
      const a = h.poller({
        dedupe: cache,
        handle: async (set) => {
          handedSlowly.push(set.jti);
          received();
          await finished;
        },
      });
      const runA = a.run({ signal: stopA.signal });
      await receivedByA;
      await delay(LEASE_SECONDS * 1000 + 200);
      const b = await setUp([], h.clientId);

      // Act: poller B of the same process gets the redelivery while A's handler still runs; then A finishes
      await b.poller({ dedupe: cache }).run({ untilEmpty: true });
      const queuedWhileHandling = await queued(stack, h.clientId);
      finish();
      stopA.abort();
      await runA;

      // Assess: B skipped it without an ack (A's handler might still have failed); A acknowledged it once done
      expect(handedSlowly).toEqual([x]);
      expect(b.handed).toEqual([]);
      expect(b.recorder.polls().map((e) => e.response?.body)).toEqual([expect.stringContaining(`"${x}"`)]);
      expect(b.recorder.pollBodies()).toEqual(['{"returnImmediately":true}']);
      expect(queuedWhileHandling).toEqual([x]);
      expect(h.recorder.pollBodies()).toEqual(['{"returnImmediately":false}', `{"ack":["${x}"],"maxEvents":0,"returnImmediately":true}`]);
      expect(cache.has(x!)).toBe(true);
      expect(await queued(stack, h.clientId)).toEqual([]);
    });

    it('does not lose a SET whose handler fails after another poller sharing the cache skipped its redelivery: it is handed over again after the lease', async () => {
      // Prepare: poller A's handler is slow and then fails; B polls while it is still running
      const h = await setUp();
      const [x] = await publish(h.clientId, 1);
      const cache = new JtiCache(100);
      let received!: () => void;
      const receivedByA = new Promise<void>((resolve) => (received = resolve));
      let fail!: () => void;
      const failing = new Promise<void>((resolve) => (fail = resolve));
      const boom = new Error('database down');
      const runA = h
        .poller({
          dedupe: cache,
          handle: async () => {
            received();
            await failing;
            throw boom;
          },
        })
        .run({ untilEmpty: true })
        .catch((e: unknown) => e);
      await receivedByA;
      await delay(LEASE_SECONDS * 1000 + 200);
      const b = await setUp([], h.clientId);
      await b.poller({ dedupe: cache }).run({ untilEmpty: true });
      fail();
      const errorOfA = await runA;

      // Act: B's lease of the skipped redelivery runs out, and B polls again
      await delay(LEASE_SECONDS * 1000 + 200);
      await b.poller({ dedupe: cache }).run({ untilEmpty: true });

      // Assess
      expect(errorOfA).toBeInstanceOf(HandlerFailed);
      expect(errorOfA).toMatchObject({ jti: x, cause: boom });
      expect(b.handed).toEqual([x]);
      expect(b.recorder.pollBodies()).toEqual(['{"returnImmediately":true}', '{"returnImmediately":true}', `{"ack":["${x}"],"maxEvents":0,"returnImmediately":true}`]);
      expect(await queued(stack, h.clientId)).toEqual([]);
    });

    it('hands a redelivered SET over again when dedupe is off', async () => {
      // Prepare: the first Poller's final acknowledgement is lost (three dropped connections), so the SET comes back after its lease
      const h = await setUp(['pass', 'connection-reset', 'connection-reset', 'connection-reset']);
      const [x] = await publish(h.clientId, 1);
      const first = h.poller({ dedupe: false, flushTimeoutMs: 2000 });
      await expect(first.run({ untilEmpty: true })).rejects.toBeInstanceOf(NetworkError);
      await delay(LEASE_SECONDS * 1000 + 200);

      // Act: a new Poller of the same process, without a shared cache
      await h.poller({ dedupe: false }).run({ untilEmpty: true });

      // Assess
      expect(h.handed).toEqual([x, x]);
      expect(await queued(stack, h.clientId)).toEqual([]);
    });

    it("waits the transmitter's Retry-After after its 503 (DynamoDB throttled), then goes on", async () => {
      // Prepare
      const h = await setUp();
      const [x] = await publish(h.clientId, 1);
      await h.recipient.tokens.token();
      const faults = injectFaults(stack.documentClient, { rate: 1, persistentRate: 1, kinds: ['throttle'] });

      // Act
      try {
        await h.poller({ onRetry: (error, delayMs, attempt) => (faults.stop(), void h.retries.push({ error, delayMs, attempt })) }).run({ untilEmpty: true });
      } finally {
        faults.stop();
      }

      // Assess
      expect(h.retries).toHaveLength(1);
      expect(h.retries[0]!.error).toBeInstanceOf(PollUnavailable);
      expect(h.retries[0]).toMatchObject({ error: { status: 503, err: 'temporarily_unavailable', retryAfterMs: 1000 }, delayMs: 1000, attempt: 1 });
      const [failed, retried] = h.recorder.polls();
      expect(failed!.response!.status).toBe(503);
      expect(retried!.at - failed!.at).toBeGreaterThanOrEqual(1000 - TIMER_SLACK_MS);
      expect(h.handed).toEqual([x]);
    });

    it('waits until the HTTP date of a 429 Retry-After', async () => {
      // Prepare
      const h = await setUp([() => errorAnswer(429, 'too_many_requests', 'Slow down', { 'retry-after': new Date(Date.now() + 2000).toUTCString() })]);
      const [x] = await publish(h.clientId, 1);

      // Act
      await h.poller().run({ untilEmpty: true });

      // Assess
      expect(h.retries).toHaveLength(1);
      expect(h.retries[0]!.error).toBeInstanceOf(PollThrottled);
      const { delayMs } = h.retries[0]!;
      expect(delayMs).toBe((h.retries[0]!.error as PollThrottled).retryAfterMs);
      expect(delayMs).toBeGreaterThan(900); // an HTTP date drops the milliseconds
      expect(delayMs).toBeLessThanOrEqual(2000);
      const [throttled, retried] = h.recorder.polls();
      expect(retried!.at - throttled!.at).toBeGreaterThanOrEqual(delayMs - TIMER_SLACK_MS);
      expect(h.handed).toEqual([x]);
    });

    it('backs off with full jitter on network errors and 5xx without Retry-After, the cap doubling each time', async () => {
      // Prepare
      const h = await setUp(['connection-reset', errorAnswer(502, 'bad_gateway', 'Upstream failed'), 'connection-reset']);
      const [x] = await publish(h.clientId, 1);

      // Act
      await h.poller({ backoff: { baseMs: 100, maxMs: 250, random: () => 0.5 } }).run({ untilEmpty: true });

      // Assess: 0.5 × min(250, 100 × 2^n)
      expect(h.retries.map((r) => [r.error.code, r.delayMs, r.attempt])).toEqual([
        ['network_error', 50, 1],
        ['poll_unavailable', 100, 2],
        ['network_error', 125, 3],
      ]);
      expect(h.handed).toEqual([x]);
    });

    it('stops with the error when retrying cannot help (403), without retrying', async () => {
      // Prepare
      const h = await setUp([errorAnswer(403, 'access_denied', 'The certificate is revoked')]);

      // Act
      const error = await h.poller().run({ untilEmpty: true }).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(PollRejected);
      expect(error).toMatchObject({ status: 403, err: 'access_denied', description: 'The certificate is revoked' });
      expect(h.retries).toEqual([]);
      expect(h.recorder.polls()).toHaveLength(1);
    });

    it('gives up after maxRetries consecutive failures with the last error', async () => {
      // Prepare
      const h = await setUp(['connection-reset', 'connection-reset', 'connection-reset']);

      // Act
      const error = await h.poller({ maxRetries: 2, backoff: { baseMs: 10, random: () => 0 } }).run({ untilEmpty: true }).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(NetworkError);
      expect(h.retries.map((r) => r.attempt)).toEqual([1, 2]);
      expect(h.recorder.polls()).toHaveLength(3);
    });

    it("waits the token endpoint's Retry-After after its 429, then goes on", async () => {
      // Prepare
      const h = await setUp([], undefined, [oauthErrorAnswer(429, 'temporarily_unavailable', 'Slow down', { 'retry-after': '1' })]);
      const [x] = await publish(h.clientId, 1);

      // Act
      await h.poller().run({ untilEmpty: true });

      // Assess: random 0 would retry at once without the Retry-After floor
      expect(h.retries).toHaveLength(1);
      expect(h.retries[0]!.error).toBeInstanceOf(TokenRequestFailed);
      expect(h.retries[0]).toMatchObject({ error: { status: 429, retryAfterMs: 1000 }, delayMs: 1000, attempt: 1 });
      const [refused, issued] = h.recorder.exchanges.filter((e) => e.request.url.pathname.startsWith('/oauth'));
      expect(refused!.response!.status).toBe(429);
      expect(issued!.response!.status).toBe(200);
      expect(issued!.at - refused!.at).toBeGreaterThanOrEqual(1000 - TIMER_SLACK_MS);
      expect(h.handed).toEqual([x]);
    });

    it('acknowledges what was handled in a final acknowledge-only request when a 403 ends the run', async () => {
      // Prepare: the poll carrying the ack of the first SET is refused
      const h = await setUp(['pass', errorAnswer(403, 'access_denied', 'The certificate is revoked')]);
      const [a, b] = await publish(h.clientId, 2);

      // Act
      const error = await h.poller({ maxEvents: 1 }).run({ untilEmpty: true }).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(PollRejected);
      expect(h.handed).toEqual([a]);
      expect(h.recorder.pollBodies()).toEqual([
        '{"maxEvents":1,"returnImmediately":true}',
        `{"ack":["${a}"],"maxEvents":1,"returnImmediately":true}`,
        `{"ack":["${a}"],"maxEvents":0,"returnImmediately":true}`,
      ]);
      expect(await queued(stack, h.clientId)).toEqual([b]);
    });

    it('acknowledges what was handled in a final acknowledge-only request when the retries run out', async () => {
      // Prepare: the polls carrying the ack of the first SET fail twice; one retry is allowed
      const h = await setUp(['pass', 'connection-reset', 'connection-reset']);
      const [a, b] = await publish(h.clientId, 2);

      // Act
      const error = await h.poller({ maxEvents: 1, maxRetries: 1, backoff: { baseMs: 10, random: () => 0 } }).run({ untilEmpty: true }).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(NetworkError);
      expect(h.handed).toEqual([a]);
      expect(h.recorder.pollBodies()).toEqual([
        '{"maxEvents":1,"returnImmediately":true}',
        `{"ack":["${a}"],"maxEvents":1,"returnImmediately":true}`,
        `{"ack":["${a}"],"maxEvents":1,"returnImmediately":true}`,
        `{"ack":["${a}"],"maxEvents":0,"returnImmediately":true}`,
      ]);
      expect(await queued(stack, h.clientId)).toEqual([b]);
    });

    it('acknowledges what was handled in a final acknowledge-only request when an unreachable key set ends the run', async () => {
      // Prepare: the key set cannot be read for the second SET of the batch, and no retry is allowed
      const h = await setUp();
      const [a, b] = await publish(h.clientId, 2);
      const verifier = {
        verify: (jti: string, set: string) => (jti === b ? Promise.reject(new KeySetUnavailable('The key set is unavailable (injected)')) : h.recipient.verifier.verify(jti, set)),
      };

      // Act
      const error = await h.poller({ verifier, maxRetries: 0 }).run({ untilEmpty: true }).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(KeySetUnavailable);
      expect(h.handed).toEqual([a]);
      expect(h.recorder.pollBodies()).toEqual(['{"returnImmediately":true}', `{"ack":["${a}"],"maxEvents":0,"returnImmediately":true}`]);
      expect(await queued(stack, h.clientId)).toEqual([b]);
    });

    it('pauses after an empty batch even with moreAvailable true (in-flight cap, lease conflicts), short polling or long', async () => {
      // Prepare: every poll is answered with no SET but moreAvailable, at once
      const busy: Fault = { status: 200, headers: { 'content-type': 'application/json' }, body: '{"sets":{},"moreAvailable":true}' };
      const short = await setUp(Array<Fault>(500).fill(busy));
      const long = await setUp(Array<Fault>(500).fill(busy));
      const stop = new AbortController();

      // Act: one second of each, pausing 200 ms between polls
      const runs = Promise.all([
        short.poller({ returnImmediately: true, shortPollIntervalMs: 200 }).run({ signal: stop.signal }),
        long.poller({ shortPollIntervalMs: 200 }).run({ signal: stop.signal }),
      ]);
      await delay(1000);
      stop.abort();
      await runs;

      // Assess: about five polls each, not one per event-loop turn
      for (const h of [short, long]) {
        expect(h.recorder.polls().length).toBeGreaterThanOrEqual(2);
        expect(h.recorder.polls().length).toBeLessThanOrEqual(6);
        expect(h.recorder.polls().every((e) => e.response?.body === '{"sets":{},"moreAvailable":true}')).toBe(true);
      }
    });

    it('stops handing over when the signal aborts, and acknowledges what was handed in a final acknowledge-only request', async () => {
      // Prepare
      const h = await setUp();
      const [a, b] = await publish(h.clientId, 2);
      const stop = new AbortController();

      // Act: a long poll; the application stops after the first SET
      await h.poller({ handle: (set) => void (h.handed.push(set.jti), stop.abort()) }).run({ signal: stop.signal });

      // Assess
      expect(h.handed).toEqual([a]);
      expect(h.recorder.pollBodies()).toEqual(['{"returnImmediately":false}', `{"ack":["${a}"],"maxEvents":0,"returnImmediately":true}`]);
      expect(await queued(stack, h.clientId)).toEqual([b]);
    });

    it('reports a SET the application refuses with a SetVerificationError in setErrs (access_denied)', async () => {
      // Prepare
      const h = await setUp();
      const [x] = await publish(h.clientId, 1);

      // Act
      await h.poller({ handle: () => { throw new SetAccessDenied('Not subscribed to credential-change'); } }).run({ untilEmpty: true });

      // Assess
      expect(h.recorder.pollBodies().at(-1)).toBe(`{"setErrs":{"${x}":{"err":"access_denied","description":"Not subscribed to credential-change"}},"maxEvents":0,"returnImmediately":true}`);
      expect(await stack.store.readRecord(h.clientId, x!)).toMatchObject({ state: 'errored', err: 'access_denied', lang: 'en' });
    });

    it('stops with HandlerFailed when the application throws, acknowledging what it finished and leaving the rest queued', async () => {
      // Prepare
      const h = await setUp();
      const [a, b, c] = await publish(h.clientId, 3);
      const boom = new Error('database down');

      // Act
      const error = await h
        .poller({ handle: (set) => { if (set.jti === b) throw boom; h.handed.push(set.jti); } })
        .run({ untilEmpty: true })
        .catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(HandlerFailed);
      expect(error).toMatchObject({ code: 'handler_failed', jti: b, cause: boom });
      expect(h.handed).toEqual([a]);
      expect(h.recorder.pollBodies().at(-1)).toBe(`{"ack":["${a}"],"maxEvents":0,"returnImmediately":true}`);
      expect(await queued(stack, h.clientId)).toEqual([b, c]);
    });

    it("answers each batch in its own acknowledge-only request with acknowledge: 'separately'", async () => {
      // Prepare
      const h = await setUp();
      const [a, b] = await publish(h.clientId, 2);

      // Act
      await h.poller({ acknowledge: 'separately', maxEvents: 1 }).run({ untilEmpty: true });

      // Assess
      expect(h.recorder.pollBodies()).toEqual([
        '{"maxEvents":1,"returnImmediately":true}',
        `{"ack":["${a}"],"maxEvents":0,"returnImmediately":true}`,
        '{"maxEvents":1,"returnImmediately":true}',
        `{"ack":["${b}"],"maxEvents":0,"returnImmediately":true}`,
      ]);
      expect(await queued(stack, h.clientId)).toEqual([]);
    });
  });

  describe('flush', () => {
    it('sends the answers a stopped run could not deliver, in an acknowledge-only request', async () => {
      // Prepare: the final acknowledgement of the run fails three times
      const h = await setUp(['pass', 'connection-reset', 'connection-reset', 'connection-reset']);
      const [x] = await publish(h.clientId, 1);
      const poller = h.poller();
      const error = await poller.run({ untilEmpty: true }).catch((e: unknown) => e);

      // Act
      const before = poller.pending;
      await poller.flush();

      // Assess
      expect(error).toBeInstanceOf(NetworkError);
      expect(before).toEqual({ ack: [x], setErrs: {} });
      expect(poller.pending).toEqual({ ack: [], setErrs: {} });
      expect(h.recorder.pollBodies()).toEqual(['{"returnImmediately":true}', ...Array(4).fill(`{"ack":["${x}"],"maxEvents":0,"returnImmediately":true}`)]);
      expect(await queued(stack, h.clientId)).toEqual([]);
    });

    it('sends nothing when nothing is pending', async () => {
      // Prepare
      const h = await setUp();

      // Act
      await h.poller().flush();

      // Assess
      expect(h.recorder.exchanges).toEqual([]);
    });
  });
});

describe('JtiCache', () => {
  describe('remember', () => {
    it('keeps the most recently used jtis up to its size', () => {
      // Prepare
      const cache = new JtiCache(2);

      // Act
      cache.remember('a');
      cache.remember('b');
      cache.has('a');
      cache.remember('c');

      // Assess
      expect([cache.has('a'), cache.has('b'), cache.has('c'), cache.count]).toEqual([true, false, true, 2]);
      expect(() => new JtiCache(0)).toThrow(TypeError);
    });
  });
});
