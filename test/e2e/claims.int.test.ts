/**
 * Notification claims that once answered 500 (issue #11 item 6), over real mTLS against the local
 * stack: each is accepted and reaches the recipient's SET as the same JSON values, or is a 400
 * saying why. Claims are stored as JSON text, so no DynamoDB number, key or nesting limit applies.
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../support/local-stack.ts';

const PROVIDER = 'provider-demo';
const TYPE = 'https://schemas.openid.net/secevent/caep/event-type/session-revoked';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
  expect((await stack.manage(PROVIDER, 'POST', '/destinations', { clientId: 'tpp-alpha' })).status).toBe(201);
});
afterAll(() => stack?.stop());

/** `{"events": {TYPE: <event>}}` as raw JSON text, so numbers go out exactly as written. */
const body = (id: string, event: string) => `{"notificationId":"${id}","events":{"${TYPE}":${event}}}`;
/** An object nested `depth` levels deep, innermost `{"leaf":1}`. */
const nested = (depth: number): string => (depth <= 1 ? '{"leaf":1}' : `{"a":${nested(depth - 1)}}`);

/** The one SET tpp-alpha can poll now (acknowledged), decoded. */
async function receive(): Promise<Record<string, unknown>> {
  const sets = (await stack.poll('tpp-alpha', { returnImmediately: true })).json<{ sets: Record<string, string> }>().sets;
  expect(Object.keys(sets)).toHaveLength(1);
  await stack.poll('tpp-alpha', { returnImmediately: true, maxEvents: 0, ack: Object.keys(sets) });
  return decodeJwt(Object.values(sets)[0]!);
}

describe('notification claims of any valid JSON', () => {
  it.each([
    ['large integers', '{"n":9007199254740994,"m":1e20,"neg":-9007199254740994}'],
    ['tiny and huge floats', '{"tiny":5e-324,"small":1e-300,"huge":1.7976931348623157e308,"big":1e300,"third":0.30000000000000004}'],
    ['an empty-string key', '{"":"empty","inner":{"":0}}'],
    ['constructor, prototype and __proto__ keys', '{"constructor":{"prototype":{"polluted":true}},"__proto__":{"polluted":true},"toString":1,"hasOwnProperty":"x"}'],
    ['31-deep nesting', nested(31)],
  ])('accepts %s and signs exactly the values sent', async (name, event) => {
    // Prepare
    const id = `claims-${name.replace(/[^a-z0-9]+/gi, '-')}`;
    const sent = body(id, event);

    // Act
    const res = await stack.manage(PROVIDER, 'POST', '/notifications', sent);
    const read = await stack.manage(PROVIDER, 'GET', `/notifications/${id}`);
    const set = await receive();

    // Assess: compared as JSON text of the parsed values, so own __proto__ keys count too.
    const expected = JSON.stringify((JSON.parse(sent) as { events: unknown }).events);
    expect(res.status).toBe(201);
    expect(JSON.stringify(set.events)).toBe(expected);
    expect(JSON.stringify(read.json<{ claims: { events: unknown } }>().claims.events)).toBe(expected);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    ['an integer a double would round', '{"n":9007199254740993}', 'The number 9007199254740993 cannot be kept exactly (numbers are IEEE 754 doubles here): send it as a string'],
    ['a number beyond the largest double', '{"n":1e400}', 'The number 1e400 cannot be kept exactly (numbers are IEEE 754 doubles here): send it as a string'],
    ['a number below the smallest double', '{"n":1e-400}', 'The number 1e-400 cannot be kept exactly (numbers are IEEE 754 doubles here): send it as a string'],
    ['nesting over 64 levels', nested(70), 'The claims must not nest arrays and objects more than 64 deep'],
  ])('refuses %s with a 400 that says why, and stores nothing', async (name, event, description) => {
    // Prepare
    const id = `refused-${name.replace(/[^a-z0-9]+/gi, '-')}`;
    // Act
    const res = await stack.manage(PROVIDER, 'POST', '/notifications', body(id, event));
    // Assess
    expect({ status: res.status, body: res.json() }).toEqual({ status: 400, body: { err: 'invalid_request', description } });
    expect((await stack.manage(PROVIDER, 'GET', `/notifications/${id}`)).status).toBe(404);
  });
});
