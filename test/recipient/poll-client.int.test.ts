/**
 * PollClient against the local stack over mutual TLS: what it sends (observed on the wire by a
 * recorder around the real transport), what the transmitter does with it (read back from the
 * store), and how each non-200 answer becomes a typed error carrying the `{err, description}` body.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MalformedPollResponse, PollRejected, PollThrottled, PollUnavailable } from '../../recipient/errors.ts';
import { PollClient, pollRequestBody } from '../../recipient/poll-client.ts';
import type { Recipient } from '../../recipient/recipient.ts';
import { StaticTokenSource, type TokenSource } from '../../recipient/token-source.ts';
import { injectFaults } from '../support/faults.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';
import { publishSets } from '../support/queue.ts';
import { EVENT, Recorder, errorAnswer, freshRecipient, injectPollFaults, queued, recipientFor, type Fault } from './helpers.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack?.stop());

/** A new recipient of the stack (its own queue) with a recorder on its transport, and optional faults in front of the stack. */
async function setUp(faults: readonly Fault[] = []): Promise<{ clientId: string; recipient: Recipient; recorder: Recorder }> {
  const clientId = await freshRecipient(stack, 'pc');
  const recorder = new Recorder();
  const inject = injectPollFaults(faults);
  const recipient = recipientFor(stack, clientId, { wrapTransport: (t) => recorder.wrap(inject(t)) });
  stack.closeOnStop(recipient);
  return { clientId, recipient, recorder };
}

const publish = (clientId: string, count: number) => publishSets(stack, clientId, count, { events: EVENT });

describe('PollClient', () => {
  describe('poll', () => {
    it('leaves maxEvents out when it is not given, and receives every queued SET in order', async () => {
      // Prepare
      const { clientId, recipient, recorder } = await setUp();
      const sets = await publish(clientId, 3);

      // Act
      const result = await recipient.client.poll({ returnImmediately: true });

      // Assess
      expect(recorder.pollBodies()).toEqual(['{"returnImmediately":true}']);
      expect([...result.sets]).toEqual(sets.map((s) => [s.jti, s.set]));
      expect(result.moreAvailable).toBe(false);
      expect(result.interactionId).toMatch(UUID);
      const [exchange] = recorder.polls();
      expect(exchange!.request.headers).toMatchObject({ 'content-type': 'application/json', authorization: expect.stringMatching(/^Bearer /) });
      expect(exchange!.request.headers['content-language']).toBeUndefined();
      expect(exchange!.request.headers['x-fapi-interaction-id']).toMatch(UUID);
    });

    it('sends maxEvents as given, and the transmitter honours it', async () => {
      // Prepare
      const { clientId, recipient, recorder } = await setUp();
      const sets = await publish(clientId, 3);

      // Act
      const result = await recipient.client.poll({ maxEvents: 2, returnImmediately: true });

      // Assess
      expect(recorder.pollBodies()).toEqual(['{"maxEvents":2,"returnImmediately":true}']);
      expect([...result.sets.keys()]).toEqual([sets[0]!.jti, sets[1]!.jti]);
      expect(result.moreAvailable).toBe(true);
    });

    it('refuses maxEvents 0 and other non-positive or fractional values with a TypeError, sending nothing', async () => {
      // Prepare
      const { recipient, recorder } = await setUp();

      // Act / Assess
      expect(() => recipient.client.poll({ maxEvents: 0 })).toThrow(new TypeError('maxEvents 0 acknowledges only and receives nothing: call acknowledge() for that'));
      expect(() => recipient.client.poll({ maxEvents: -1 })).toThrow(TypeError);
      expect(() => recipient.client.poll({ maxEvents: 1.5 })).toThrow(TypeError);
      expect(() => recipient.client.poll({ maxEvents: Number.NaN })).toThrow(TypeError);
      expect(recorder.exchanges).toEqual([]);
    });

    it('acknowledges with the poll (combined acknowledge and poll): the acked SETs leave the queue', async () => {
      // Prepare
      const { clientId, recipient, recorder } = await setUp();
      const [a, b] = await publish(clientId, 2);
      await recipient.client.poll({ returnImmediately: true });

      // Act
      const result = await recipient.client.poll({ ack: [a!.jti, b!.jti], returnImmediately: true });

      // Assess
      expect(recorder.pollBodies()[1]).toBe(`{"ack":["${a!.jti}","${b!.jti}"],"returnImmediately":true}`);
      expect(result.sets.size).toBe(0);
      expect(await queued(stack, clientId)).toEqual([]);
    });

    it('reports setErrs with Content-Language en; the transmitter keeps them in an errored record', async () => {
      // Prepare
      const { clientId, recipient, recorder } = await setUp();
      const [a] = await publish(clientId, 1);
      await recipient.client.poll({ returnImmediately: true });

      // Act
      await recipient.client.poll({ setErrs: { [a!.jti]: { err: 'invalid_key', description: 'The signature does not verify' } }, returnImmediately: true });

      // Assess
      const sent = recorder.polls()[1]!;
      expect(sent.request.headers['content-language']).toBe('en');
      expect(sent.request.body).toBe(`{"setErrs":{"${a!.jti}":{"err":"invalid_key","description":"The signature does not verify"}},"returnImmediately":true}`);
      expect(await stack.store.readRecord(clientId, a!.jti)).toMatchObject({ state: 'errored', err: 'invalid_key', description: 'The signature does not verify', lang: 'en', set: a!.set });
    });

    it('throws PollRejected with the 400 body when the transmitter refuses the request', async () => {
      // Prepare
      const { clientId, recipient } = await setUp();
      const [a] = await publish(clientId, 1);

      // Act
      const error = await recipient.client.poll({ ack: [a!.jti], setErrs: { [a!.jti]: { err: 'invalid_key' } }, returnImmediately: true }).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(PollRejected);
      expect(error).toMatchObject({
        code: 'poll_rejected',
        retryable: false,
        status: 400,
        err: 'invalid_request',
        description: 'A jti cannot be both acknowledged and reported in setErrs',
        interactionId: expect.stringMatching(UUID),
        message: 'The poll endpoint answered HTTP 400 (invalid_request: A jti cannot be both acknowledged and reported in setErrs)',
      });
    });

    it('retries once with a fresh token when the transmitter answers 401 invalid_token', async () => {
      // Prepare: a token source whose first token has gone stale
      const { clientId, recipient, recorder } = await setUp();
      await publish(clientId, 1);
      let stale = true;
      const tokens: TokenSource = {
        token: async () => (stale ? 'stale.token.value' : recipient.tokens.token()),
        invalidate: () => void (stale = false),
      };
      const client = new PollClient({ pollUrl: stack.config.pollUrl, tokens, transport: recipient.transport });

      // Act
      const result = await client.poll({ returnImmediately: true });

      // Assess
      expect(result.sets.size).toBe(1);
      expect(recorder.polls().map((e) => e.response?.status)).toEqual([401, 200]);
    });

    it('throws PollRejected 401 invalid_token when a fresh token is refused too, after one retry', async () => {
      // Prepare
      const { recipient, recorder } = await setUp();
      const client = new PollClient({ pollUrl: stack.config.pollUrl, tokens: new StaticTokenSource('not.a.token'), transport: recipient.transport });

      // Act
      const error = await client.poll({ returnImmediately: true }).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(PollRejected);
      expect(error).toMatchObject({ status: 401, err: 'invalid_token', retryable: false });
      expect(recorder.polls()).toHaveLength(2);
    });

    it("throws PollUnavailable with the transmitter's own 503 and Retry-After when DynamoDB is throttled", async () => {
      // Prepare
      const { recipient } = await setUp();
      await recipient.tokens.token();
      const faults = injectFaults(stack.documentClient, { rate: 1, persistentRate: 1, kinds: ['throttle'] });

      // Act
      let error: unknown;
      try {
        error = await recipient.client.poll({ returnImmediately: true }).catch((e: unknown) => e);
      } finally {
        faults.stop();
      }

      // Assess
      expect(error).toBeInstanceOf(PollUnavailable);
      expect(error).toMatchObject({
        code: 'poll_unavailable',
        retryable: true,
        status: 503,
        err: 'temporarily_unavailable',
        description: 'The service is temporarily unavailable; retry shortly',
        retryAfterMs: 1000,
      });
    });

    it('throws PollThrottled on 429, with Retry-After given as an HTTP date', async () => {
      // Prepare
      const { recipient } = await setUp([() => errorAnswer(429, 'too_many_requests', 'Slow down', { 'retry-after': new Date(Date.now() + 5000).toUTCString() })]);

      // Act
      const error = await recipient.client.poll({ returnImmediately: true }).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(PollThrottled);
      expect(error).toMatchObject({ code: 'poll_throttled', retryable: true, status: 429, err: 'too_many_requests', description: 'Slow down' });
      expect((error as PollThrottled).retryAfterMs).toBeGreaterThan(3500); // an HTTP date drops the milliseconds
      expect((error as PollThrottled).retryAfterMs).toBeLessThanOrEqual(5000);
    });

    it('throws MalformedPollResponse for a 200 that is not {sets, moreAvailable}', async () => {
      // Prepare
      const { recipient } = await setUp([
        { status: 200, headers: {}, body: '<html>gateway</html>' },
        { status: 200, headers: {}, body: '{"sets":{"a":42}}' },
        { status: 200, headers: {}, body: '{"sets":{},"moreAvailable":"yes"}' },
      ]);

      // Act
      const errors = [];
      for (let i = 0; i < 3; i++) errors.push(await recipient.client.poll({ returnImmediately: true }).catch((e: unknown) => e));

      // Assess
      for (const error of errors) expect(error).toBeInstanceOf(MalformedPollResponse);
      expect(errors.map((e) => (e as Error).message)).toEqual(['The poll response is not JSON', 'The SET "a" is not a string', '"moreAvailable" is not a boolean']);
    });

    it('reads an omitted moreAvailable as false (RFC 8936 §2.3)', async () => {
      // Prepare
      const { recipient } = await setUp([{ status: 200, headers: {}, body: '{"sets":{}}' }]);

      // Act
      const result = await recipient.client.poll({ returnImmediately: true });

      // Assess
      expect(result).toEqual({ sets: new Map(), moreAvailable: false });
    });
  });

  describe('acknowledge', () => {
    it('sends "maxEvents":0 and "returnImmediately":true explicitly: the transmitter answers no SET although some are queued', async () => {
      // Prepare
      const { clientId, recipient, recorder } = await setUp();
      const [a, b, c] = await publish(clientId, 3);
      await recipient.client.poll({ maxEvents: 1, returnImmediately: true });

      // Act
      const result = await recipient.client.acknowledge({ ack: [a!.jti] });

      // Assess
      expect(recorder.pollBodies()[1]).toBe(`{"ack":["${a!.jti}"],"maxEvents":0,"returnImmediately":true}`);
      expect(result).toEqual({ sets: new Map(), moreAvailable: true, interactionId: expect.stringMatching(UUID) });
      expect(await queued(stack, clientId)).toEqual([b!.jti, c!.jti]);
    });

    it('sends maxEvents 0 even with nothing to answer, and never waits for a long poll', async () => {
      // Prepare
      const { clientId, recipient, recorder } = await setUp();
      await publish(clientId, 1);
      await recipient.tokens.token();

      // Act
      const started = performance.now();
      const result = await recipient.client.acknowledge({});

      // Assess
      expect(recorder.pollBodies()).toEqual(['{"maxEvents":0,"returnImmediately":true}']);
      expect(result.sets.size).toBe(0);
      expect(performance.now() - started).toBeLessThan(900);
    });
  });
});

describe('pollRequestBody', () => {
  it('keeps 0 and false, which the caller chose, and leaves out what is undefined or empty', () => {
    // Act
    const bodies = [
      pollRequestBody({ maxEvents: 0, returnImmediately: false }),
      pollRequestBody({ maxEvents: undefined, returnImmediately: undefined, ack: [], setErrs: {} }),
      pollRequestBody({ ack: ['a', 'a', 'b'], setErrs: { c: { err: 'invalid_key' } }, maxEvents: 5 }),
    ];

    // Assess
    expect(bodies.map((b) => JSON.stringify(b))).toEqual(['{"maxEvents":0,"returnImmediately":false}', '{}', '{"ack":["a","b"],"setErrs":{"c":{"err":"invalid_key"}},"maxEvents":5}']);
  });
});
