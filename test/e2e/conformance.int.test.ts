/**
 * Deviations from the letter of RFC 8936 found by the conformance review (docs/conformance.md),
 * each proven over real mTLS against the local stack with the exact answer a receiver gets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateSettings } from '../../lambdas/core/settings.ts';
import { TEST_SETTINGS, startTestStack, type TestStack } from '../support/local-stack.ts';

const EVENT_TYPE = 'https://schemas.openid.net/secevent/caep/event-type/session-revoked';
/** A response size cap far under one padded SET, as an operator may set SETPOLL_MAX_RESPONSE_BYTES. */
const MAX_RESPONSE_BYTES = 2000;

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ settings: validateSettings({ ...TEST_SETTINGS, maxResponseBytes: MAX_RESPONSE_BYTES }) });
});
afterAll(() => stack?.stop());

/** A recipient of its own per test, so no test sees another's SETs. */
async function recipient(name: string): Promise<string> {
  const clientId = `${name}-${Math.random().toString(36).slice(2, 8)}`;
  await stack.mintClient(clientId);
  return clientId;
}

const publish = (clientId: string, padding = 0) =>
  stack.publisher.publish({ recipients: [clientId], events: { [EVENT_TYPE]: { initiating_entity: 'policy', ...(padding ? { reason_admin: { en: 'x'.repeat(padding) } } : {}) } } });

describe('RFC 8936 §2.5: every SET the transmitter says is available is delivered', () => {
  it('a SET larger than the response size cap is delivered alone, not held back with moreAvailable true for ever', async () => {
    // Prepare: a SET over the cap at the head of the queue, a small one behind it.
    const clientId = await recipient('tpp-large');
    const large = await publish(clientId, 3 * MAX_RESPONSE_BYTES);
    const small = await publish(clientId);
    expect(large.set.length).toBeGreaterThan(MAX_RESPONSE_BYTES);
    // Act
    const first = await stack.poll(clientId, { returnImmediately: true });
    const second = await stack.poll(clientId, { returnImmediately: true, ack: [large.jti] });
    // Assess
    expect([first.status, first.json()]).toEqual([200, { sets: { [large.jti]: large.set }, moreAvailable: true }]);
    expect([second.status, second.json()]).toEqual([200, { sets: { [small.jti]: small.set }, moreAvailable: false }]);
  });
});
