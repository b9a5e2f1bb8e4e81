/**
 * The document and the handlers agree on which requests are valid: every request schema of
 * openapi/setpoll.yaml, compiled with ajv (JSON Schema 2020-12), and the handlers' own validation
 * (`parsePollRequest`; the management handler's router, query, header and body checks with the
 * Notifier validators) judge the same inputs, curated and generated, and must reach the same
 * verdict. A change to either side that the other does not follow fails here.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeCursor } from '../../lambdas/store/notifier-cursor.ts';
import { DESTINATION_PREFIX, NOTIFICATION_PREFIX, providerPk } from '../../lambdas/store/schema.ts';
import { claimsFit, docAcceptsPoll, docAcceptsRequest, handlerAcceptsPoll, itemSchema } from './agreement.ts';
import { HARNESS_PROVIDER, startHarness, type Harness, type HarnessRequest } from './harness.ts';
import { OpenApiDocument } from './openapi.ts';
import { ACCOUNT_DISABLED, CREDENTIAL_CHANGE, SESSION_REVOKED } from '../support/event-types.ts';


let doc: OpenApiDocument;
let harness: Harness;

beforeAll(() => {
  doc = new OpenApiDocument();
  harness = startHarness();
});

/** The value a JSON body carries once sent: what both sides really see. */
const viaJson = (value: unknown): unknown => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));

const handlerAcceptsRequest = async (request: HarnessRequest): Promise<boolean> => (await harness.verdict(request)) === 'accepted';

// --- Generators ---------------------------------------------------------------------------------
// Each member is usually valid and sometimes not (`usually`), so that generated inputs are accepted
// and refused in good proportions (checked by expectBothVerdicts). Strings are built from characters
// of the Basic Multilingual Plane only (surrogates excluded), where the server's UTF-16 lengths and
// JSON Schema's code-point lengths are the same; the one place they differ is asserted on its own.

const ascii = fc.constantFrom(...'abcdefXYZ0123456789-_.~'.split(''));
const bmp = fc
  .integer({ min: 0x20, max: 0xfffd })
  .filter((c) => c < 0xd800 || c > 0xdfff)
  .map((c) => String.fromCharCode(c));
const char = fc.oneof({ weight: 4, arbitrary: ascii }, { weight: 1, arbitrary: bmp });
const text = (minLength: number, maxLength: number, unit: fc.Arbitrary<string> = char) => fc.string({ unit, minLength, maxLength });
/** Exactly `n` characters. */
const exactly = (n: number, unit: fc.Arbitrary<string> = char) => fc.string({ unit, minLength: n, maxLength: n });
/** A string of `min` to `max` characters, often at one of the two limits. */
const within = (min: number, max: number, unit: fc.Arbitrary<string> = char) =>
  fc.oneof({ weight: 3, arbitrary: text(min, Math.min(max, min + 8), unit) }, { weight: 1, arbitrary: exactly(max, unit) }, { weight: 1, arbitrary: exactly(min, unit) });
/** A string just outside `min` to `max` characters. */
const outside = (min: number, max: number, unit: fc.Arbitrary<string> = char) => (min > 0 ? fc.oneof(exactly(min - 1, unit), exactly(max + 1, unit)) : exactly(max + 1, unit));
const junk = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -5, max: 5 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 3 }),
  fc.constant([]),
  fc.constant({}),
);
/** Usually `good`, sometimes `bad`. */
const usually = (good: fc.Arbitrary<unknown>, bad: fc.Arbitrary<unknown> = junk) => fc.oneof({ weight: 9, arbitrary: good }, { weight: 1, arbitrary: bad });
/** Sometimes with a member no schema names. */
const withExtra = <T extends object>(arb: fc.Arbitrary<T>) => usually(arb, arb.map((v) => ({ ...v, unexpected: 1 })));

// The poll request.
const jtiPool = fc.constantFrom('j-1', 'j-2', 'j-3');
const jti = usually(fc.oneof(jtiPool, within(1, 128)), fc.oneof(outside(1, 128), junk));
const setErrKey = usually(fc.oneof(jtiPool, within(1, 128)), outside(1, 128));
const setError = usually(
  withExtra(fc.record({ err: usually(within(1, 40), fc.oneof(outside(1, 40), junk)), description: usually(within(0, 256), fc.oneof(outside(0, 256), junk)) }, { requiredKeys: ['err'] })),
  fc.oneof(junk, fc.constant({ description: 'no err' })),
);
/** Sometimes with a member RFC 8936 does not define: ignored, or a near-miss of a defined one. */
const withPollExtra = <T extends object>(arb: fc.Arbitrary<T>) =>
  usually(arb, fc.tuple(arb, fc.constantFrom('unexpected', 'timeoutSecs', 'events', 'acks', 'max_events', 'Ack', 'setErr', 'returnimmediately'), junk).map(([v, k, x]) => ({ ...v, [k]: x })));
const pollBody = usually(
  withPollExtra(
    fc.record(
      {
        maxEvents: usually(fc.oneof(fc.nat(200), fc.constantFrom(2 ** 31, 2 ** 53 - 1, 1e21)), fc.oneof(fc.integer({ min: -3, max: -1 }), fc.constantFrom(0.5, 1.5), junk)),
        returnImmediately: usually(fc.boolean()),
        ack: usually(fc.array(jti, { maxLength: 5 })),
        setErrs: usually(fc.dictionary(setErrKey as fc.Arbitrary<string>, setError, { maxKeys: 3 })),
      },
      { requiredKeys: [] },
    ),
  ),
);

// The Notifier.
const noColon = char.filter((c) => c !== ':');
const eventTypeUri = usually(
  fc.oneof(
    { weight: 4, arbitrary: fc.webUrl() },
    { weight: 3, arbitrary: fc.constantFrom(SESSION_REVOKED, CREDENTIAL_CHANGE, ACCOUNT_DISABLED) },
    { weight: 1, arbitrary: fc.stringMatching(/^urn:[a-z]{1,8}:[a-z0-9.-]{1,20}$/) },
    // At the 256-character limit.
    { weight: 1, arbitrary: fc.constant(`https://schemas.example/${'e'.repeat(232)}`) },
  ),
  fc.oneof(
    // No scheme: not an absolute URI on either side.
    text(0, 20, noColon),
    fc.constant(`https://schemas.example/${'e'.repeat(233)}`),
  ),
);
const eventTypes = usually(
  fc.oneof({ weight: 5, arbitrary: fc.uniqueArray(eventTypeUri, { minLength: 1, maxLength: 4 }) }, { weight: 2, arbitrary: fc.constant(null) }),
  fc.oneof(
    fc.constant([]),
    fc.constant([SESSION_REVOKED, SESSION_REVOKED]),
    fc.integer({ min: 50, max: 51 }).map((n) => Array.from({ length: n }, (_, i) => `urn:setpoll:type-${i}`)),
    junk,
  ),
);
const clientIdChar = fc.integer({ min: 0x21, max: 0x7e }).filter((c) => c !== 0x23).map((c) => String.fromCharCode(c));
const clientId = usually(within(1, 128, clientIdChar), fc.oneof(outside(1, 128, clientIdChar), fc.constantFrom('has space', 'has#hash', 'tpp-é'), text(1, 6, bmp), junk));
const expectedVersion = usually(fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.constant(2 ** 53 - 1)), fc.oneof(fc.constantFrom(0, -1, 1.5, 2 ** 53), junk));
const idChar = fc.constantFrom(...'abcXYZ019._~:-'.split(''));
const notificationId = usually(within(1, 128, idChar), fc.oneof(outside(1, 128, idChar), text(1, 6, bmp), junk));
const eventObject = usually(
  fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
  // Not an object; or over the 64 KiB claims limit on its own.
  fc.oneof(junk.filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)), fc.constant({ pad: 'x'.repeat(70_000) })),
);
const events = usually(
  fc.dictionary(eventTypeUri as fc.Arbitrary<string>, eventObject, { minKeys: 1, maxKeys: 3 }),
  fc.oneof(
    fc.constant({}),
    fc.integer({ min: 50, max: 51 }).map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`urn:setpoll:type-${i}`, {}]))),
    junk,
  ),
);
const claimString = usually(within(1, 256), fc.oneof(outside(1, 256), junk));
const notificationBody = usually(
  withExtra(
    fc.record(
      {
        notificationId,
        events,
        sub: claimString,
        sub_id: usually(withExtra(fc.record({ format: claimString, id: fc.string({ maxLength: 8 }) }, { requiredKeys: ['format'] })), fc.oneof(fc.constant({ id: 'u' }), junk)),
        txn: claimString,
        toe: usually(fc.oneof(fc.nat(), fc.double({ min: 0, noNaN: true, noDefaultInfinity: true })), fc.oneof(fc.double({ max: -Number.MIN_VALUE, noNaN: true, noDefaultInfinity: true }), junk)),
        ttlSeconds: usually(fc.oneof(fc.integer({ min: 1, max: 2_592_000 }), fc.constantFrom(1, 2_592_000)), fc.oneof(fc.constantFrom(0, 2_592_001, -1, 1.5), junk)),
      },
      { requiredKeys: ['events'] },
    ),
  ),
  fc.oneof(fc.record({ sub: fc.string() }), junk),
);
const registration = usually(withExtra(fc.record({ clientId, eventTypes }, { requiredKeys: ['clientId'] })), fc.oneof(fc.record({ eventTypes }), junk));
const update = usually(withExtra(fc.record({ eventTypes }, { requiredKeys: ['eventTypes'] })), fc.oneof(fc.constant({}), junk));
const bulkOperation = usually(
  fc.oneof(
    withExtra(fc.record({ op: fc.constant('register'), clientId, eventTypes }, { requiredKeys: ['op', 'clientId'] })),
    withExtra(fc.record({ op: fc.constant('update'), clientId, eventTypes, expectedVersion }, { requiredKeys: ['op', 'clientId', 'eventTypes'] })),
    withExtra(fc.record({ op: fc.constant('delete'), clientId, expectedVersion }, { requiredKeys: ['op', 'clientId'] })),
  ),
  fc.oneof(
    // A member another op takes, a missing member, or an unknown op.
    fc.record({ op: fc.constant('register'), clientId, expectedVersion }),
    fc.record({ op: fc.constant('delete'), clientId, eventTypes }),
    fc.record({ op: fc.constant('update'), clientId }),
    fc.record({ op: usually(fc.constantFrom('create', 'Register')), clientId }),
    junk,
  ),
);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The two verdicts side by side, so a failure shows both and the input. */
async function bothOn(request: HarnessRequest): Promise<{ doc: boolean; handler: boolean }> {
  const sent = { ...request, body: viaJson(request.body) };
  return { doc: docAcceptsRequest(doc, sent), handler: await handlerAcceptsRequest(sent) };
}

describe('the poll request (OBEventPolling1) and parsePollRequest', () => {
  const valid: [string, unknown][] = [
    ['an empty object: a long poll', {}],
    ['a short poll', { returnImmediately: true }],
    ['acknowledge only', { maxEvents: 0, returnImmediately: true, ack: ['a', 'b'] }],
    ['maxEvents above int32 (the server cap applies)', { maxEvents: 2 ** 40 }],
    ['empty ack and setErrs', { ack: [], setErrs: {} }],
    ['a 128-character jti', { ack: ['x'.repeat(128)] }],
    ['a repeated ack', { ack: ['a', 'a'] }],
    ['setErrs without description (RFC 8935)', { setErrs: { j: { err: 'invalid_key' } } }],
    ['setErrs with an empty description', { setErrs: { j: { err: 'e', description: '' } } }],
    ['setErrs at the length limits', { setErrs: { ['k'.repeat(128)]: { err: 'e'.repeat(40), description: 'd'.repeat(256) } } }],
    ['1000 distinct acks', { ack: Array.from({ length: 1000 }, (_, i) => `j-${i}`) }],
    ['1001 acks naming one jti', { ack: Array.from({ length: 1001 }, () => 'same') }],
    ['500 acks and 500 setErrs', { ack: Array.from({ length: 500 }, (_, i) => `a-${i}`), setErrs: Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`e-${i}`, { err: 'e' }])) }],
    ['a jti outside the BMP within the limit', { ack: ['😀'.repeat(64)] }],
    ['a member RFC 8936 does not define (i2goSignals)', { returnImmediately: true, timeoutSecs: 10 }],
    ['null members', { ack: null, setErrs: null, maxEvents: null, returnImmediately: null }],
    ['maxEvents null', { maxEvents: null }],
    ['a null description', { setErrs: { j: { err: 'e', description: null } } }],
    ['a 257-character description (stored cut to 256)', { setErrs: { j: { err: 'e', description: 'd'.repeat(257) } } }],
    ['an unknown setErrs member', { setErrs: { j: { err: 'e', lang: 'en' } } }],
  ];
  const invalid: [string, unknown][] = [
    ['null', null],
    ['an array', []],
    ['a string', 'poll'],
    ['a misspelt member', { maxevents: 1 }],
    ['a near-miss of ack', { acks: ['x'] }],
    ['a near-miss of setErrs', { set_errs: {} }],
    ['a near-miss of a setErrs member', { setErrs: { j: { err: 'e', Description: 'd' } } }],
    ['negative maxEvents', { maxEvents: -1 }],
    ['fractional maxEvents', { maxEvents: 1.5 }],
    ['maxEvents as a string', { maxEvents: '1' }],
    ['returnImmediately as a string', { returnImmediately: 'true' }],
    ['ack not an array', { ack: 'a' }],
    ['an ack that is not a string', { ack: [1] }],
    ['an empty jti', { ack: [''] }],
    ['a 129-character jti', { ack: ['x'.repeat(129)] }],
    ['a lone surrogate in a jti', { ack: ['\ud800'] }],
    ['setErrs as an array', { setErrs: [] }],
    ['an empty setErrs key', { setErrs: { '': { err: 'e' } } }],
    ['a 129-character setErrs key', { setErrs: { ['k'.repeat(129)]: { err: 'e' } } }],
    ['a setErrs entry that is a string', { setErrs: { j: 'e' } }],
    ['a setErrs entry without err', { setErrs: { j: {} } }],
    ['an empty err', { setErrs: { j: { err: '' } } }],
    ['a 41-character err', { setErrs: { j: { err: 'e'.repeat(41) } } }],
    ['a description that is a number', { setErrs: { j: { err: 'e', description: 5 } } }],
    ['1001 distinct acks', { ack: Array.from({ length: 1001 }, (_, i) => `j-${i}`) }],
    ['600 acks and 401 setErrs', { ack: Array.from({ length: 600 }, (_, i) => `a-${i}`), setErrs: Object.fromEntries(Array.from({ length: 401 }, (_, i) => [`e-${i}`, { err: 'e' }])) }],
    ['a jti both acknowledged and reported', { ack: ['a'], setErrs: { a: { err: 'e' } } }],
  ];

  it.each(valid)('both accept %s', (_name, body) => {
    // Act
    const verdicts = { doc: docAcceptsPoll(doc, viaJson(body)), handler: handlerAcceptsPoll(viaJson(body)) };

    // Assess
    expect(verdicts).toEqual({ doc: true, handler: true });
  });

  it.each(invalid)('both refuse %s', (_name, body) => {
    // Act
    const verdicts = { doc: docAcceptsPoll(doc, viaJson(body)), handler: handlerAcceptsPoll(viaJson(body)) };

    // Assess
    expect(verdicts).toEqual({ doc: false, handler: false });
  });

  it('agree on 1000 generated bodies', () => {
    // Prepare
    const seen = { accepted: 0, refused: 0 };

    // Act + Assess
    fc.assert(
      fc.property(pollBody, (body) => {
        const sent = viaJson(body);
        const verdict = handlerAcceptsPoll(sent);
        seen[verdict ? 'accepted' : 'refused']++;
        expect({ body: sent, doc: docAcceptsPoll(doc, sent) }).toEqual({ body: sent, doc: verdict });
      }),
      { numRuns: 1000 },
    );
    expectBothVerdicts(seen, 1000);
  });

  it('differ only where the document says: the server counts UTF-16 code units, JSON Schema code points', () => {
    // Prepare: 65 characters outside the BMP are 130 UTF-16 code units.
    const body = { ack: ['😀'.repeat(65)] };

    // Act
    const verdicts = { doc: docAcceptsPoll(doc, body), handler: handlerAcceptsPoll(body) };

    // Assess: the schema allows it, the server refuses it, as the Jti schema's description warns.
    expect(verdicts).toEqual({ doc: true, handler: false });
    expect(doc.schema('Jti').description).toContain('UTF-16 code units');
  });
});

describe('the management requests and the Notifier validators', () => {
  const path = {
    destination: (id: string) => `/destinations/${encodeURIComponent(id)}`,
    notification: (id: string) => `/notifications/${encodeURIComponent(id)}`,
  };
  const curated: [string, HarnessRequest, boolean][] = [
    // Registration
    ['a destination for every type', { method: 'POST', path: '/destinations', body: { clientId: 'tpp-alpha' } }, true],
    ['a destination with eventTypes null', { method: 'POST', path: '/destinations', body: { clientId: 'tpp-alpha', eventTypes: null } }, true],
    ['a destination with two types', { method: 'POST', path: '/destinations', body: { clientId: 'tpp-beta', eventTypes: [SESSION_REVOKED, CREDENTIAL_CHANGE] } }, true],
    ['a 128-character client id', { method: 'POST', path: '/destinations', body: { clientId: 'c'.repeat(128) } }, true],
    ['a client id with a colon', { method: 'POST', path: '/destinations', body: { clientId: 'org:tpp' } }, true],
    ['a client id with a slash', { method: 'POST', path: '/destinations', body: { clientId: 'org/tpp' } }, false],
    ['a client id with a question mark', { method: 'POST', path: '/destinations', body: { clientId: 'org?tpp' } }, false],
    ['a client id with a percent sign', { method: 'POST', path: '/destinations', body: { clientId: 'org%2Ftpp' } }, false],
    ['a client id of ".."', { method: 'POST', path: '/destinations', body: { clientId: '..' } }, false],
    ['a notification id of "."', { method: 'POST', path: '/notifications', body: { notificationId: '.', events: { [SESSION_REVOKED]: {} } } }, false],
    ['50 event types', { method: 'POST', path: '/destinations', body: { clientId: 'c', eventTypes: Array.from({ length: 50 }, (_, i) => `urn:t:${i}`) } }, true],
    ['no clientId', { method: 'POST', path: '/destinations', body: {} }, false],
    ['a misspelt member', { method: 'POST', path: '/destinations', body: { clientId: 'c', eventtypes: [SESSION_REVOKED] } }, false],
    ['a client id with a space', { method: 'POST', path: '/destinations', body: { clientId: 'has space' } }, false],
    ['a client id with #', { method: 'POST', path: '/destinations', body: { clientId: 'a#b' } }, false],
    ['a 129-character client id', { method: 'POST', path: '/destinations', body: { clientId: 'c'.repeat(129) } }, false],
    ['empty eventTypes', { method: 'POST', path: '/destinations', body: { clientId: 'c', eventTypes: [] } }, false],
    ['51 event types', { method: 'POST', path: '/destinations', body: { clientId: 'c', eventTypes: Array.from({ length: 51 }, (_, i) => `urn:t:${i}`) } }, false],
    ['a repeated event type', { method: 'POST', path: '/destinations', body: { clientId: 'c', eventTypes: [SESSION_REVOKED, SESSION_REVOKED] } }, false],
    ['an event type that is not a URI', { method: 'POST', path: '/destinations', body: { clientId: 'c', eventTypes: ['session-revoked'] } }, false],
    ['a 257-character event type', { method: 'POST', path: '/destinations', body: { clientId: 'c', eventTypes: [`https://e.example/${'e'.repeat(239)}`] } }, false],
    ['a body that is an array', { method: 'POST', path: '/destinations', body: [{ clientId: 'c' }] }, false],
    // Update, delete, read
    ['an update', { method: 'PUT', path: path.destination('tpp-alpha'), body: { eventTypes: [ACCOUNT_DISABLED] } }, true],
    ['an update to every type', { method: 'PUT', path: path.destination('tpp-alpha'), body: { eventTypes: null }, headers: { 'if-match': '"3"' } }, true],
    ['an update with If-Match *', { method: 'PUT', path: path.destination('tpp-alpha'), body: { eventTypes: null }, headers: { 'if-match': '*' } }, true],
    ['an update without eventTypes', { method: 'PUT', path: path.destination('tpp-alpha'), body: {} }, false],
    ['an update naming clientId', { method: 'PUT', path: path.destination('tpp-alpha'), body: { clientId: 'tpp-alpha', eventTypes: null } }, false],
    ['a weak If-Match', { method: 'PUT', path: path.destination('tpp-alpha'), body: { eventTypes: null }, headers: { 'if-match': 'W/"1"' } }, false],
    ['an unquoted If-Match', { method: 'DELETE', path: path.destination('tpp-alpha'), headers: { 'if-match': '1' } }, false],
    ['an If-Match list', { method: 'DELETE', path: path.destination('tpp-alpha'), headers: { 'if-match': '"1", "2"' } }, false],
    ['an If-Match with a leading zero', { method: 'DELETE', path: path.destination('tpp-alpha'), headers: { 'if-match': '"01"' } }, false],
    ['a delete', { method: 'DELETE', path: path.destination('org:tpp'), headers: { 'if-match': '"2"' } }, true],
    ['a read', { method: 'GET', path: path.destination('tpp-alpha') }, true],
    ['a read of an id with a space', { method: 'GET', path: '/destinations/has%20space' }, false],
    ['a malformed percent-encoding', { method: 'GET', path: '/destinations/%E0%A4%A' }, false],
    ['a query parameter on a destination', { method: 'GET', path: path.destination('tpp-alpha'), query: { limit: '5' } }, false],
    // Listings
    ['a listing', { method: 'GET', path: '/destinations' }, true],
    ['a listing of 1', { method: 'GET', path: '/destinations', query: { limit: '1' } }, true],
    ['a listing of 100', { method: 'GET', path: '/notifications', query: { limit: '100' } }, true],
    ['a listing of 0', { method: 'GET', path: '/destinations', query: { limit: '0' } }, false],
    ['a listing of 101', { method: 'GET', path: '/notifications', query: { limit: '101' } }, false],
    ['a limit that is not a number', { method: 'GET', path: '/destinations', query: { limit: 'ten' } }, false],
    ['a fractional limit', { method: 'GET', path: '/destinations', query: { limit: '1.5' } }, false],
    ['a misspelt query parameter', { method: 'GET', path: '/destinations', query: { limt: '5' } }, false],
    ['a cursor of this listing', { method: 'GET', path: '/destinations', query: { cursor: encodeCursor({ pk: providerPk(HARNESS_PROVIDER), sk: `${DESTINATION_PREFIX}tpp-alpha` }) } }, true],
    ['a cursor of the notifications listing', { method: 'GET', path: '/notifications', query: { cursor: encodeCursor({ pk: providerPk(HARNESS_PROVIDER), sk: `${NOTIFICATION_PREFIX}n-1` }) } }, true],
    ['a cursor with characters outside base64url', { method: 'GET', path: '/notifications', query: { cursor: 'a+b/c=' } }, false],
    ['a status page', { method: 'GET', path: `${path.notification('n-1')}/status`, query: { limit: '10' } }, true],
    ['a status of a bad notification id', { method: 'GET', path: '/notifications/n%201/status' }, false],
    // Notifications
    ['a notification', { method: 'POST', path: '/notifications', body: { events: { [SESSION_REVOKED]: {} } } }, true],
    [
      'a notification with every member',
      {
        method: 'POST',
        path: '/notifications',
        body: { notificationId: 'n-1', events: { [SESSION_REVOKED]: { initiating_entity: 'policy' } }, sub: 's', sub_id: { format: 'opaque', id: 'u' }, txn: 't', toe: 1767225600.5, ttlSeconds: 2_592_000 },
      },
      true,
    ],
    ['no events', { method: 'POST', path: '/notifications', body: { notificationId: 'n-1' } }, false],
    ['empty events', { method: 'POST', path: '/notifications', body: { events: {} } }, false],
    ['an event that is not an object', { method: 'POST', path: '/notifications', body: { events: { [SESSION_REVOKED]: [] } } }, false],
    ['an event type that is not a URI', { method: 'POST', path: '/notifications', body: { events: { 'not a uri': {} } } }, false],
    ['a notification id with a space', { method: 'POST', path: '/notifications', body: { notificationId: 'n 1', events: { [SESSION_REVOKED]: {} } } }, false],
    ['a sub_id without format', { method: 'POST', path: '/notifications', body: { events: { [SESSION_REVOKED]: {} }, sub_id: { id: 'u' } } }, false],
    ['an empty sub', { method: 'POST', path: '/notifications', body: { events: { [SESSION_REVOKED]: {} }, sub: '' } }, false],
    ['a negative toe', { method: 'POST', path: '/notifications', body: { events: { [SESSION_REVOKED]: {} }, toe: -1 } }, false],
    ['a ttl over 30 days', { method: 'POST', path: '/notifications', body: { events: { [SESSION_REVOKED]: {} }, ttlSeconds: 2_592_001 } }, false],
    ['claims of exactly 64 KiB', { method: 'POST', path: '/notifications', body: claimsOfBytes(65_536) }, true],
    ['claims of 64 KiB and a byte', { method: 'POST', path: '/notifications', body: claimsOfBytes(65_537) }, false],
    ['a replace', { method: 'PUT', path: path.notification('n-1'), body: { events: { [SESSION_REVOKED]: {} } } }, true],
    ['a replace naming its own id', { method: 'PUT', path: path.notification('n-1'), body: { notificationId: 'n-1', events: { [SESSION_REVOKED]: {} } } }, true],
    ['a replace naming another id', { method: 'PUT', path: path.notification('n-1'), body: { notificationId: 'n-2', events: { [SESSION_REVOKED]: {} } } }, false],
    ['a withdraw', { method: 'DELETE', path: path.notification('n-1') }, true],
    ['a read of a notification id with a slash', { method: 'GET', path: '/notifications/n%2F1' }, false],
    // Bulk requests (the items are judged one by one below)
    ['a destination bulk', { method: 'POST', path: '/destinations/bulk', body: { operations: [{ op: 'register', clientId: 'c' }], atomic: false } }, true],
    ['a destination bulk of 100', { method: 'POST', path: '/destinations/bulk', body: { operations: Array.from({ length: 100 }, (_, i) => ({ op: 'delete', clientId: `c-${i}` })) } }, true],
    ['a destination bulk of 101', { method: 'POST', path: '/destinations/bulk', body: { operations: Array.from({ length: 101 }, (_, i) => ({ op: 'delete', clientId: `c-${i}` })) } }, false],
    ['an empty destination bulk', { method: 'POST', path: '/destinations/bulk', body: { operations: [] } }, false],
    ['a destination bulk with atomic "yes"', { method: 'POST', path: '/destinations/bulk', body: { operations: [{ op: 'delete', clientId: 'c' }], atomic: 'yes' } }, false],
    ['a destination bulk with an unknown member', { method: 'POST', path: '/destinations/bulk', body: { operations: [{ op: 'delete', clientId: 'c' }], dryRun: true } }, false],
    ['a notification bulk', { method: 'POST', path: '/notifications/bulk', body: { notifications: [{ events: { [SESSION_REVOKED]: {} } }] } }, true],
    ['a notification bulk of 101', { method: 'POST', path: '/notifications/bulk', body: { notifications: Array.from({ length: 101 }, () => ({ events: { [SESSION_REVOKED]: {} } })) } }, false],
    ['a notification bulk without notifications', { method: 'POST', path: '/notifications/bulk', body: {} }, false],
  ];

  it.each(curated)('%s: as expected on both sides', async (_name, request, expected) => {
    // Act
    const verdicts = await bothOn(request);

    // Assess
    expect(verdicts).toEqual({ doc: expected, handler: expected });
  });

  it('agree on 300 generated notifications (POST and PUT)', async () => {
    // Prepare
    const requests = fc.tuple(notificationBody, fc.constantFrom('POST', 'PUT its own id', 'PUT without id', 'PUT as generated')).map(([generated, how]): HarnessRequest => {
      // A replace's body names no id or the path's, unless the generated one is kept.
      const body = isObject(generated) && how !== 'PUT as generated' && how !== 'POST' ? { ...generated, notificationId: how === 'PUT its own id' ? 'n-1' : undefined } : generated;
      return how === 'POST' ? { method: 'POST', path: '/notifications', body } : { method: 'PUT', path: '/notifications/n-1', body };
    });

    // Act + Assess
    await expectAgreementOn(requests, 300);
  });

  it('agree on 300 generated destination registrations and updates', async () => {
    // Prepare
    const requests = fc.oneof(
      registration.map((body): HarnessRequest => ({ method: 'POST', path: '/destinations', body })),
      update.map((body): HarnessRequest => ({ method: 'PUT', path: '/destinations/tpp-alpha', body })),
    );

    // Act + Assess
    await expectAgreementOn(requests, 300);
  });

  it('agree on 100 generated bulk requests, and on each of at least 300 generated destination operations and 200 notifications', async () => {
    // Prepare
    const operationItem = itemSchema(doc, 'POST', '/destinations/bulk', 'operations');
    const notificationItem = itemSchema(doc, 'POST', '/notifications/bulk', 'notifications');
    const operationsSeen = { accepted: 0, refused: 0 };
    const notificationsSeen = { accepted: 0, refused: 0 };
    const envelopes = usually(
      withExtra(
        fc.record(
          {
            operations: usually(
              fc.array(bulkOperation, { minLength: 1, maxLength: 3 }),
              fc.oneof(fc.constant([]), fc.constant(Array.from({ length: 101 }, (_, i) => ({ op: 'delete', clientId: `c-${i}` }))), junk),
            ),
            atomic: usually(fc.boolean()),
          },
          { requiredKeys: ['operations'] },
        ),
      ),
    );

    // Act + Assess: the request as a whole.
    await fc.assert(
      fc.asyncProperty(envelopes, async (body) => {
        const res = await harness.call({ method: 'POST', path: '/destinations/bulk', body: viaJson(body) });
        expect([200, 400, 503]).toContain(res.status);
        expect({ body, doc: docAcceptsRequest(doc, { method: 'POST', path: '/destinations/bulk', body: viaJson(body) }) }).toEqual({ body, doc: res.status !== 400 });
      }),
      { numRuns: 100 },
    );

    /**
     * Sends `items` as `field` of one bulk request to `path`: the request is a 200 and each item is
     * answered on its own, a 400 exactly where `documented` refuses it (a 503 otherwise).
     */
    const eachItemAnswered = async (path: string, field: string, items: unknown[], documented: (item: unknown) => boolean, seen: { accepted: number; refused: number }) => {
      const sent = viaJson(items) as unknown[];
      const res = await harness.call({ method: 'POST', path, body: { [field]: sent } });
      expect(res.status).toBe(200);
      const results = (res.json() as { results: { status: number }[] }).results;
      sent.forEach((item, i) => {
        expect([400, 503]).toContain(results[i]!.status);
        seen[results[i]!.status === 400 ? 'refused' : 'accepted']++;
        expect({ [field]: item, doc: documented(item) }).toEqual({ [field]: item, doc: results[i]!.status !== 400 });
      });
    };

    // Act + Assess: each destination operation, answered on its own.
    await fc.assert(
      fc.asyncProperty(fc.array(bulkOperation, { minLength: 10, maxLength: 40 }), (operations) =>
        eachItemAnswered('/destinations/bulk', 'operations', operations, (operation) => doc.check(operationItem as never, operation).valid, operationsSeen),
      ),
      { numRuns: 30 },
    );

    // Act + Assess: each notification, answered on its own.
    await fc.assert(
      fc.asyncProperty(fc.array(notificationBody, { minLength: 5, maxLength: 15 }), (notifications) =>
        eachItemAnswered(
          '/notifications/bulk',
          'notifications',
          notifications,
          (notification) => doc.check(notificationItem as never, notification).valid && claimsFit(notification as Record<string, unknown>),
          notificationsSeen,
        ),
      ),
      { numRuns: 40 },
    );
    expectBothVerdicts(operationsSeen, 300);
    expectBothVerdicts(notificationsSeen, 200);
  });

  it('agree on the atomic rule that a clientId appears once', async () => {
    // Prepare
    const operations = [
      { op: 'register', clientId: 'twice' },
      { op: 'delete', clientId: 'twice' },
    ];

    // Act
    const res = await harness.call({ method: 'POST', path: '/destinations/bulk', body: { atomic: true, operations } });

    // Assess: the repeat is a 400 item, as the operation's description says; nothing is applied.
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ atomic: true, applied: false, results: [{ status: 424 }, { status: 400, error: { err: 'invalid_request' } }] });
    expect(String((doc.operation('POST', '/destinations/bulk').operation as { description: string }).description)).toContain('may appear only once');
  });

  it('differ only where the document says: event types are parsed as WHATWG URLs', async () => {
    // Prepare
    const register = (type: string): HarnessRequest => ({ method: 'POST', path: '/destinations', body: { clientId: 'c', eventTypes: [type] } });

    // Act
    const verdicts = {
      portTooLarge: await bothOn(register('https://a.example:99999/e')),
      space: await bothOn(register('https://a.example/b c')),
    };

    // Assess: each as EventTypeUri's description says. Non-ASCII event types are left out: the
    // document tells clients not to rely on them (`format: uri` excludes them).
    expect(verdicts).toEqual({
      portTooLarge: { doc: true, handler: false },
      space: { doc: false, handler: true },
    });
    const description = String(doc.schema('EventTypeUri').description);
    for (const example of ['https://a.example:99999/e', 'https://a.example/b c']) expect(description).toContain(example);
  });
});

describe("the document's own examples", () => {
  /** Every example of a media type: `example`, or each value of `examples`. */
  const examplesOf = (media: Record<string, unknown>): [string, unknown][] => [
    ...(media.example === undefined ? [] : [['example', media.example] as [string, unknown]]),
    ...Object.entries((media.examples as Record<string, { value: unknown }> | undefined) ?? {}).map(([name, e]): [string, unknown] => [name, e.value]),
  ];

  it('request examples are valid for the document and accepted by the handlers', async () => {
    // Prepare
    const cases = doc.operations().flatMap((op) => {
      const body = op.operation.requestBody === undefined ? undefined : (doc.deref(op.operation.requestBody as never) as { content: Record<string, Record<string, unknown>> });
      return Object.entries(body?.content ?? {}).flatMap(([type, media]) => examplesOf(media).map(([name, value]) => ({ op, type, name, value, schema: media.schema })));
    });
    expect(cases.length).toBeGreaterThanOrEqual(13);

    for (const { op, type, name, value, schema } of cases) {
      // Act
      const label = `${op.operationId} ${name}`;
      const documented = doc.check(schema as never, value);
      const concretePath = op.path.replace('{clientId}', 'tpp-alpha').replace('{notificationId}', 'n-2026-0001');
      // The one form body, of the local token endpoint, is sent to its handler in live.int.test.ts.
      const accepted = type !== 'application/json' || (op.path === '/events' ? handlerAcceptsPoll(value) : await handlerAcceptsRequest({ method: op.method, path: concretePath, body: value }));

      // Assess
      expect({ label, valid: documented.valid, errors: documented.errors, accepted }).toEqual({ label, valid: true, errors: '', accepted: true });
    }
  });

  it('response examples are valid against their response schemas', () => {
    // Prepare
    const cases = doc.operations().flatMap((op) =>
      Object.entries(op.operation.responses as Record<string, unknown>).flatMap(([status, raw]) => {
        const response = doc.deref(raw as never) as { content?: Record<string, Record<string, unknown>> };
        return Object.values(response.content ?? {}).flatMap((media) => examplesOf(media).map(([name, value]) => ({ label: `${op.operationId} ${status} ${name}`, value, schema: media.schema })));
      }),
    );
    expect(cases.length).toBeGreaterThanOrEqual(20);

    for (const { label, value, schema } of cases) {
      // Act
      const { valid, errors } = doc.check(schema as never, value);

      // Assess
      expect({ label, valid, errors }).toEqual({ label, valid: true, errors: '' });
    }
  });
});

/** The generators are worth something only if they make plenty of both kinds of input. */
/**
 * On each of `numRuns` generated requests the document and the handler agree, and both verdicts
 * occur in good proportions.
 */
async function expectAgreementOn(requests: fc.Arbitrary<HarnessRequest>, numRuns: number): Promise<void> {
  const seen = { accepted: 0, refused: 0 };
  await fc.assert(
    fc.asyncProperty(requests, async (request) => {
      const verdicts = await bothOn(request);
      seen[verdicts.handler ? 'accepted' : 'refused']++;
      expect({ request, ...verdicts }).toEqual({ request, doc: verdicts.handler, handler: verdicts.handler });
    }),
    { numRuns },
  );
  expectBothVerdicts(seen, numRuns);
}

function expectBothVerdicts(seen: { accepted: number; refused: number }, atLeast: number): void {
  const total = seen.accepted + seen.refused;
  expect(total).toBeGreaterThanOrEqual(atLeast);
  expect(seen.accepted / total).toBeGreaterThan(0.1);
  expect(seen.refused / total).toBeGreaterThan(0.1);
}

/** A notification whose claims serialize to exactly `bytes` bytes of JSON. */
function claimsOfBytes(bytes: number): Record<string, unknown> {
  const body = (pad: string) => ({ events: { [SESSION_REVOKED]: { pad } } });
  const overhead = Buffer.byteLength(JSON.stringify(body('')), 'utf8');
  const out = body('x'.repeat(bytes - overhead));
  if (Buffer.byteLength(JSON.stringify(out), 'utf8') !== bytes) throw new Error('claimsOfBytes is off');
  return out;
}
