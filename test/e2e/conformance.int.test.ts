/**
 * Deviations from the letter of RFC 8936 found by the conformance review (docs/conformance.md),
 * each proven over real mTLS against the local stack with the exact answer a receiver gets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateSettings } from '../../lambdas/core/settings.ts';
import { httpsRequest } from '../support/https-client.ts';
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

describe("RFC 8936 §2.4: the RFC's own example requests, sent verbatim", () => {
  // Figures 3 to 5 and 7 to 9 of RFC 8936 (the jtis are the RFC's; none is queued here).
  const RFC_JTIS = ['4d3559ec67504aaba65d40b0363faad8', '3d0c3cf797584bd193bd0fb1bd4e7d30'];
  it.each<[string, string, Record<string, string>]>([
    ['poll-only, returnImmediately (§2.4.1)', '{\n"returnImmediately": true\n}', {}],
    ['acknowledge-only (§2.4.2)', `{\n"ack": [\n"${RFC_JTIS[0]}",\n"${RFC_JTIS[1]}"\n],\n"maxEvents": 0,\n"returnImmediately": true\n}`, {}],
    [
      'acknowledge with an error (§2.4.4), with Content-Language',
      `{\n"ack": ["${RFC_JTIS[1]}"],\n"setErrs": {\n"${RFC_JTIS[0]}": {\n"err": "authentication_failed",\n"description": "The SET could not be authenticated"\n}\n},\n"returnImmediately": true\n}`,
      { 'content-language': 'en-US' },
    ],
    ['empty ack and setErrs ("omitted or contains an empty array/object", §2.2)', '{"ack": [], "setErrs": {}, "returnImmediately": true}', {}],
  ])('%s answers 200 {"sets":{},"moreAvailable":false}', async (_name, body, headers) => {
    const clientId = await recipient('tpp-rfc');
    const res = await stack.poll(clientId, body, headers);
    expect([res.status, res.headers['content-type'], res.body]).toEqual([200, 'application/json', '{"sets":{},"moreAvailable":false}']);
  });
});

describe('RFC 6750 bearer tokens on the poll endpoint (RFC 8936 §3, SSF §7)', () => {
  it('takes the token after one or more spaces ("Bearer" 1*SP b64token, RFC 6750 §2.1)', async () => {
    const clientId = await recipient('tpp-spaces');
    const token = await stack.token(clientId);
    for (const authorization of [`Bearer ${token}`, `Bearer   ${token}`, `bearer ${token}`]) {
      const res = await stack.poll(clientId, { returnImmediately: true }, { authorization });
      expect([authorization.slice(0, 10), res.status, res.body]).toEqual([authorization.slice(0, 10), 200, '{"sets":{},"moreAvailable":false}']);
    }
  });

  it('never takes a token from the query or the body: a request with only those has sent none (401, no error code)', async () => {
    const clientId = await recipient('tpp-query');
    const token = await stack.token(clientId);
    const inQuery = await httpsRequest(`${stack.config.pollUrl}?access_token=${token}`, {
      headers: { 'content-type': 'application/json' },
      body: '{"returnImmediately":true}',
      ...stack.client(clientId),
    });
    const inBody = await stack.poll(clientId, `access_token=${token}`, { authorization: '', 'content-type': 'application/x-www-form-urlencoded' });
    for (const res of [inQuery, inBody]) {
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="setpoll"');
      expect(res.json()).toEqual({ err: 'invalid_token', description: 'The access token is missing, malformed, expired or not valid here' });
    }
  });

  it('accepts a token whose only scope is ssf.manage.poll (SSF §7: a transmitter-managed poll endpoint MAY)', async () => {
    const clientId = await recipient('tpp-ssfpoll');
    const set = await publish(clientId);
    const res = await stack.poll(clientId, { returnImmediately: true }, { authorization: `Bearer ${await stack.token(clientId, 'ssf.manage.poll')}` });
    expect([res.status, res.json()]).toEqual([200, { sets: { [set.jti]: set.set }, moreAvailable: false }]);
  });
});

describe('SSF §7.1.2: a disabled stream transmits nothing and holds nothing', () => {
  it('discards what was queued, queues nothing while disabled, and delivers only what comes after re-enabling', async () => {
    // Prepare: a receiver with a stream for session-revoked, and one SET queued to it.
    const clientId = await recipient('tpp-disabled');
    const ssfToken = await stack.token(clientId, 'ssf.manage ssf.read');
    const ssf = (method: string, path: string, body: unknown) =>
      httpsRequest(new URL(path, stack.server.origin), {
        method,
        headers: { authorization: `Bearer ${ssfToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        ...stack.client(clientId),
      });
    const pollStream = async () => (await stack.poll(clientId, { returnImmediately: true }, { authorization: `Bearer ${ssfToken}` })).json();
    const created = await ssf('POST', '/ssf/streams', { events_requested: [EVENT_TYPE] });
    expect(created.status).toBe(201);
    const streamId = created.json<{ stream_id: string }>().stream_id;
    const ssfSet = (txn: string) => stack.publisher.publish({ recipients: [clientId], events: { [EVENT_TYPE]: { initiating_entity: 'policy' } }, txn });
    const before = await ssfSet('txn-before');
    expect(before.outcomes.get(clientId)).toBe('queued');

    // Act
    const disabled = await ssf('POST', '/ssf/status', { stream_id: streamId, status: 'disabled' });
    const whileDisabled = await pollStream();
    const during = await ssfSet('txn-during');
    const enabled = await ssf('POST', '/ssf/status', { stream_id: streamId, status: 'enabled' });
    const afterEnabling = await pollStream();
    const after = await ssfSet('txn-after');
    const last = await pollStream();

    // Assess
    expect([disabled.status, disabled.json()]).toEqual([200, { stream_id: streamId, status: 'disabled' }]);
    expect(whileDisabled).toEqual({ sets: {}, moreAvailable: false });
    expect(during.outcomes.get(clientId)).toBe('filtered');
    expect([enabled.status, enabled.json()]).toEqual([200, { stream_id: streamId, status: 'enabled' }]);
    expect(afterEnabling).toEqual({ sets: {}, moreAvailable: false });
    expect(last).toEqual({ sets: { [after.jti]: after.set }, moreAvailable: false });
  });
});
