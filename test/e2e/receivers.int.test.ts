/**
 * The wire behaviour of RFC 8936 receivers other people run (the caep.dev Shared Signals receiver
 * library, i2goSignals, the Keycloak SSF receiver), replayed as requests over real mTLS against the
 * local stack, with the exact outcome setpoll promises for each (docs/server-policies.md ›
 * "Receivers in the field"). Then each "Done when" line of issue #14 as a test of its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateSettings } from '../../lambdas/core/settings.ts';
import { httpsRequest } from '../support/https-client.ts';
import { TEST_SETTINGS, startTestStack, type TestStack } from '../support/local-stack.ts';
import { publishSets, queued as queuedJtis } from '../support/queue.ts';

const EVENT = { 'https://schemas.openid.net/secevent/caep/event-type/session-revoked': { initiating_entity: 'policy' } };
/** Long enough to tell a long poll from a short one, short enough for the suite. */
const LONG_POLL_SECONDS = 2;

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ settings: validateSettings({ ...TEST_SETTINGS, leaseSeconds: 2, longPollSeconds: LONG_POLL_SECONDS }) });
});
afterAll(() => stack?.stop());

/** A recipient of its own per test, so no test sees another's SETs. */
async function recipient(name: string): Promise<string> {
  const clientId = `${name}-${Math.random().toString(36).slice(2, 8)}`;
  await stack.mintClient(clientId);
  return clientId;
}

const publish = (clientId: string, count: number) => publishSets(stack, clientId, count, { events: EVENT });
const queued = (clientId: string) => queuedJtis(stack, clientId);
const sets = (...items: { jti: string; set: string }[]) => Object.fromEntries(items.map((i) => [i.jti, i.set]));

describe('receivers in the field', () => {
  it('i2goSignals: an extra member ("timeoutSecs": 10) is ignored, and the poll is answered', async () => {
    // Prepare
    const clientId = await recipient('i2go');
    const [a, b] = await publish(clientId, 2);

    // Act
    const res = await stack.poll(clientId, { returnImmediately: true, maxEvents: 5, timeoutSecs: 10 });

    // Assess
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ sets: sets(a!, b!), moreAvailable: false });
  });

  it('i2goSignals: an ack beside the extra member is applied (the receiver is not stuck retrying)', async () => {
    // Prepare
    const clientId = await recipient('i2go-ack');
    const [a, b] = await publish(clientId, 2);
    await stack.poll(clientId, { returnImmediately: true, maxEvents: 1 });

    // Act
    const res = await stack.poll(clientId, { returnImmediately: true, maxEvents: 5, timeoutSecs: 10, ack: [a!.jti] });

    // Assess
    expect(res.json()).toEqual({ sets: sets(b!), moreAvailable: false });
    expect(await queued(clientId)).toEqual([b!.jti]);
  });

  it('Java clients that serialise nulls: null members count as omitted', async () => {
    // Prepare
    const clientId = await recipient('nulls');
    const [a, b] = await publish(clientId, 2);
    await stack.poll(clientId, { returnImmediately: true, maxEvents: 1 });

    // Act
    const res = await stack.poll(clientId, {
      returnImmediately: true,
      maxEvents: null,
      ack: [a!.jti],
      setErrs: null,
    });
    const allNull = await stack.poll(clientId, { returnImmediately: true, maxEvents: null, ack: null, setErrs: null });

    // Assess: the ack applied, the server cap applied; then nothing is due (b is leased).
    expect(res.json()).toEqual({ sets: sets(b!), moreAvailable: false });
    expect(allNull.json()).toEqual({ sets: {}, moreAvailable: false });
    expect(await queued(clientId)).toEqual([b!.jti]);
  });

  it('a null description in setErrs counts as omitted', async () => {
    // Prepare
    const clientId = await recipient('null-description');
    const [a] = await publish(clientId, 1);

    // Act
    const res = await stack.poll(clientId, { returnImmediately: true, setErrs: { [a!.jti]: { err: 'invalid_key', description: null } } });

    // Assess
    expect(res.json()).toEqual({ sets: {}, moreAvailable: false });
    const record = await stack.store.readRecord(clientId, a!.jti);
    expect(record).toMatchObject({ state: 'errored', err: 'invalid_key' });
    expect(record).not.toHaveProperty('description');
  });

  it('a 300-character setErrs description beside an ack: the ack applies and the description is stored cut to 256', async () => {
    // Prepare
    const clientId = await recipient('long-description');
    const [a, b] = await publish(clientId, 2);
    await stack.poll(clientId, { returnImmediately: true });
    const description = `${'The SET signature did not verify. '.repeat(9)}`.slice(0, 300);
    expect(description).toHaveLength(300);

    // Act
    const res = await stack.poll(
      clientId,
      { returnImmediately: true, ack: [a!.jti], setErrs: { [b!.jti]: { err: 'invalid_key', description } } },
      { 'content-language': 'en' },
    );

    // Assess
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ sets: {}, moreAvailable: false });
    expect(await queued(clientId)).toEqual([]);
    expect(await stack.store.readRecord(clientId, a!.jti)).toBeUndefined();
    expect(await stack.store.readRecord(clientId, b!.jti)).toMatchObject({
      state: 'errored',
      err: 'invalid_key',
      description: description.slice(0, 256),
      lang: 'en',
      set: b!.set,
    });
  });

  it('Go receivers (omitempty drops "maxEvents": 0): an ack without maxEvents is a poll too; the SETs in its answer come back after the lease', async () => {
    // Prepare
    const clientId = await recipient('omitempty');
    const [a, b, c] = await publish(clientId, 3);
    await stack.poll(clientId, { returnImmediately: true, maxEvents: 1 });

    // Act: the receiver means "ack a", and ignores what comes back.
    const ack = await stack.poll(clientId, { returnImmediately: true, ack: [a!.jti] });
    const meanwhile = await stack.poll(clientId, { returnImmediately: true });
    await new Promise((r) => setTimeout(r, 2100));
    const after = await stack.poll(clientId, { returnImmediately: true });

    // Assess: b and c went out leased with the ack's answer, were withheld for the lease, then redelivered.
    expect(ack.json()).toEqual({ sets: sets(b!, c!), moreAvailable: false });
    expect(meanwhile.json()).toEqual({ sets: {}, moreAvailable: false });
    expect(after.json()).toEqual({ sets: sets(b!, c!), moreAvailable: false });
    expect(await queued(clientId)).toEqual([b!.jti, c!.jti]);
  });

  it('an ack-only request without returnImmediately is a long poll: the ack applies at once, the answer comes after the full wait', async () => {
    // Prepare
    const clientId = await recipient('ack-long');
    const [a] = await publish(clientId, 1);
    await stack.poll(clientId, { returnImmediately: true });

    // Act
    const started = performance.now();
    const pending = stack.poll(clientId, { maxEvents: 0, ack: [a!.jti] });
    await new Promise((r) => setTimeout(r, 500));
    const duringTheWait = await queued(clientId);
    const res = await pending;

    // Assess
    expect(duringTheWait).toEqual([]);
    expect(res.json()).toEqual({ sets: {}, moreAvailable: false });
    expect(performance.now() - started).toBeGreaterThanOrEqual(LONG_POLL_SECONDS * 1000);
  });

  it('an ack-only request without returnImmediately answers as soon as a SET is ready, with none (RFC 8936 §2.4.2)', async () => {
    // Prepare
    const clientId = await recipient('ack-ready');
    const [a] = await publish(clientId, 1);
    await stack.poll(clientId, { returnImmediately: true });

    // Act
    const pending = stack.poll(clientId, { maxEvents: 0, ack: [a!.jti] });
    await new Promise((r) => setTimeout(r, 300));
    const [b] = await publish(clientId, 1);
    const res = await pending;

    // Assess
    expect(res.json()).toEqual({ sets: {}, moreAvailable: true });
    expect(await queued(clientId)).toEqual([b!.jti]);
  });

  it('a misspelt member is refused, naming the one meant, and changes nothing', async () => {
    // Prepare
    const clientId = await recipient('typo');
    const [a] = await publish(clientId, 1);
    await stack.poll(clientId, { returnImmediately: true });

    // Act
    const res = await stack.poll(clientId, { returnImmediately: true, acks: [a!.jti] });

    // Assess
    expect(res.status).toBe(400);
    expect(res.json()).toEqual({ err: 'invalid_request', description: 'Unknown member "acks": did you mean "ack"?' });
    expect(await queued(clientId)).toEqual([a!.jti]);
  });
});

describe('issue #14: done when', () => {
  it('{"returnImmediately": true, "timeoutSecs": 10} answers 200', async () => {
    const clientId = await recipient('done-extra');
    const res = await stack.poll(clientId, { returnImmediately: true, timeoutSecs: 10 });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ sets: {}, moreAvailable: false });
  });

  it('{"acks": ["x"]} answers 400, naming ack', async () => {
    const clientId = await recipient('done-acks');
    const res = await stack.poll(clientId, { acks: ['x'] });
    expect(res.status).toBe(400);
    expect(res.json()).toEqual({ err: 'invalid_request', description: 'Unknown member "acks": did you mean "ack"?' });
  });

  it('{"ack": null, "setErrs": null} answers 200', async () => {
    // A long poll (returnImmediately omitted): with a SET queued it answers at once.
    const clientId = await recipient('done-nulls');
    const [a] = await publish(clientId, 1);
    const res = await stack.poll(clientId, { ack: null, setErrs: null });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ sets: sets(a!), moreAvailable: false });
  });

  it('an ack together with a 300-character description acknowledges the SET and records the error', async () => {
    const clientId = await recipient('done-description');
    const [a, b] = await publish(clientId, 2);
    await stack.poll(clientId, { returnImmediately: true });
    const res = await stack.poll(clientId, { returnImmediately: true, ack: [a!.jti], setErrs: { [b!.jti]: { err: 'invalid_issuer', description: 'x'.repeat(300) } } });
    expect(res.status).toBe(200);
    expect(await queued(clientId)).toEqual([]);
    expect(await stack.store.readRecord(clientId, b!.jti)).toMatchObject({ state: 'errored', err: 'invalid_issuer', description: 'x'.repeat(256) });
  });

  it('a 4 s long poll lasts at least 4 s', async () => {
    const longStack = await startTestStack({ settings: validateSettings({ ...TEST_SETTINGS, longPollSeconds: 4 }) });
    try {
      const started = performance.now();
      const res = await longStack.poll('tpp-alpha', {});
      expect(performance.now() - started).toBeGreaterThanOrEqual(4000);
      expect(res.json()).toEqual({ sets: {}, moreAvailable: false });
    } finally {
      await longStack.stop();
    }
  });

  it('POST /open-banking/v4.0/events answers 200 on npm start (beside /events)', async () => {
    const clientId = await recipient('done-ob');
    const [a] = await publish(clientId, 1);
    const res = await httpsRequest(`${stack.server.origin}/open-banking/v4.0/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await stack.token(clientId)}`, 'content-type': 'application/json' },
      body: '{"returnImmediately":true}',
      ...stack.client(clientId),
    });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ sets: sets(a!), moreAvailable: false });
    expect(new URL(stack.config.pollUrl).pathname).toBe('/events');
  });

  it('a request with no token gets WWW-Authenticate: Bearer realm="…" with no error code', async () => {
    const res = await stack.poll('tpp-alpha', { returnImmediately: true }, { authorization: '' });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="setpoll"');
    expect(res.json()).toEqual({ err: 'invalid_token', description: 'The access token is missing, malformed, expired or not valid here' });
  });
});
