/**
 * Bad input, generated: more than 10,000 poll requests over real HTTPS and mTLS against one local
 * stack with long polls off. The poll API docs' reference model (test/support/fuzz.ts › judge) judges
 * each request first. One it rejects is sent as tpp-alpha, whose queue no DynamoDB command may
 * touch; one it accepts is sent as tpp-beta (or one of seven recipients like it, so accepted
 * requests run side by side), whose queue is compared with the model's effect and then restored.
 * Every queue holds SETs whose jtis are prototype names (`__proto__`, `constructor`, …), `?` and
 * `x?`, NUL, non-ASCII and 128 characters long, which the generators also name in ack and setErrs.
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { validateSettings } from '../../lambdas/core/settings.ts';
import { TEST_SETTINGS, startTestStack, type TestStack } from '../support/local-stack.ts';
import { LEASE_SK } from '../../lambdas/store/schema.ts';
import {
  CONTENT_TYPES,
  arbitraryJsonText,
  authArb,
  authorizationValues,
  expectedChallenge,
  byUtf8,
  contentLanguageArb,
  contentTypeArb,
  describeRequest,
  expectedEffect,
  expectedInteractionId,
  interactionIdArb,
  judge,
  keepAliveClient,
  localTable,
  methodArb,
  nearValidBodyText,
  rawBodyArb,
  restorePartition,
  watchDynamo,
  withBody,
  type DynamoWatch,
  type FuzzRequest,
  type Item,
  type KeepAliveClient,
  type PollLimits,
  type RawResponse,
  type SeededSet,
  type TableClient,
  type Verdict,
} from '../support/fuzz.ts';

const ALPHA = 'tpp-alpha';
/**
 * Recipients for requests the model accepts: tpp-beta, and seven like it, so that those (several
 * DynamoDB round trips each, then a check and a restore) run side by side.
 */
const LANE_IDS = ['tpp-beta', ...Array.from({ length: 7 }, (_, i) => `tpp-beta-${i + 2}`)];
const pkOf = (clientId: string): string => `Q#${clientId}`;
const EVENT = { 'https://schemas.openid.net/secevent/caep/event-type/session-revoked': { initiating_entity: 'policy' } };
/**
 * Producer-chosen jtis that broke a queue once or could: prototype names; `?` and `x?` (what
 * DynamoDB Local makes of jtis with a lone surrogate); NUL; non-ASCII; the longest allowed.
 */
const NAMED_JTIS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '?', 'x?', '\u0000nul', 'é', '\u{1F600}', 'j'.repeat(128)];
const SETTINGS = validateSettings({ ...TEST_SETTINGS, longPollSeconds: 0 });
const LIMITS: PollLimits = { maxRequestBytes: SETTINGS.maxRequestBytes, maxAnswers: SETTINGS.maxInFlight, maxEvents: SETTINGS.maxEvents };
/** Requests per fast-check run: the rejected ones as tpp-alpha (two at a time), the accepted ones side by side on the lanes. */
const BATCH = 64;
/** tpp-alpha's whole partition is compared with its seeds after this many rejected requests. */
const SNAPSHOT_EVERY = 50;

interface Recipient {
  readonly clientId: string;
  readonly pk: string;
  readonly client: KeepAliveClient;
  readonly token: string;
  /** The partition as seeded. */
  readonly seeded: Item[];
  readonly seeds: SeededSet[];
}

let stack: TestStack;
/** The test's own access to the table: not seen by the watch. */
let table: TableClient;
let watch: DynamoWatch;
let alpha: Recipient;
let lanes: Recipient[];
let seedJtis: string[];
const tally = { requests: 0, rejected: 0, accepted: 0, sinceSnapshot: 0, statuses: new Map<number, number>(), started: 0, cpu: process.cpuUsage() };

beforeAll(async () => {
  stack = await startTestStack({ settings: SETTINGS });
  table = localTable(inject('dynamoEndpoint'), stack.config.dynamodb.tableName);
  for (const id of LANE_IDS.slice(1)) await stack.mintClient(id);
  const all = [ALPHA, ...LANE_IDS];
  for (const jti of [...NAMED_JTIS, undefined, undefined]) {
    await stack.publisher.publish({ recipients: all, events: EVENT, ...(jti === undefined ? {} : { jti }) });
  }
  const recipients: Recipient[] = [];
  for (const clientId of all) {
    const seeded = await table.query(pkOf(clientId));
    recipients.push({
      clientId,
      pk: pkOf(clientId),
      // tpp-alpha's rejected requests go two at a time, filling each other's waits.
      client: keepAliveClient(stack.config.pollUrl, stack.client(clientId), { maxSockets: clientId === ALPHA ? 2 : 1 }),
      token: await stack.token(clientId),
      seeded,
      seeds: seeded.map((item) => ({ jti: String(item.jti), set: String(item.set), item })),
    });
  }
  [alpha, ...lanes] = recipients as [Recipient, ...Recipient[]];
  seedJtis = alpha.seeds.map((s) => s.jti);
  watch = watchDynamo(stack.documentClient);
  tally.started = Date.now();
  tally.cpu = process.cpuUsage();
}, 120_000);

afterAll(async () => {
  watch?.stop();
  for (const r of [alpha, ...(lanes ?? [])]) r?.client.close();
  table?.close();
  await stack?.stop();
});

/** Sends a generated request as `to`; a dropped connection fails with the request named. */
function send(to: Recipient, req: FuzzRequest): Promise<RawResponse> {
  const other = to === alpha ? lanes[0]! : alpha;
  return to.client
    .send({
      method: req.method,
      headers: {
        authorization: authorizationValues(req.auth, to.token, other.token),
        'content-type': CONTENT_TYPES[req.contentType]![0],
        'x-fapi-interaction-id': req.interactionId,
        'content-language': req.contentLanguage,
      },
      body: req.body,
    })
    .catch((error: unknown) => {
      throw new Error(`${describeRequest(req)}\ngot no answer as ${to.clientId}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    });
}

const restore = (r: Recipient, current?: Item[]): Promise<number> => restorePartition(table, r.pk, r.seeded, current);
const bySk = (list: readonly Item[]): Item[] => [...list].sort((a, b) => byUtf8(String(a.sk), String(b.sk)));

function count(res: RawResponse): void {
  tally.requests++;
  tally.statuses.set(res.status, (tally.statuses.get(res.status) ?? 0) + 1);
}

/** Wraps a failed check with the request and its answer. */
function failure(req: FuzzRequest, res: RawResponse, error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  return new Error(`${describeRequest(req)}\nwas answered ${res.status} ${res.body.slice(0, 400)}\n${message}`, { cause: error });
}

/**
 * What every answer must be: 200 or 4xx, JSON, with the interaction id the docs promise, and an
 * error exactly {err, description}. Checked by hand rather than with expect: this runs 10,000 times.
 */
function commonProblems(res: RawResponse, req: FuzzRequest): { body: unknown; problems: string[] } {
  const problems: string[] = [];
  if (res.status !== 200 && !(res.status >= 400 && res.status < 500)) problems.push(`status ${res.status} is neither 200 nor 4xx`);
  if (res.headers['content-type'] !== 'application/json') problems.push(`content-type ${res.headers['content-type']}`);
  const interaction = expectedInteractionId(req.interactionId);
  const given = res.headers['x-fapi-interaction-id'];
  if (typeof interaction === 'string' ? given !== interaction : !interaction.test(String(given))) problems.push(`x-fapi-interaction-id ${given}, expected ${interaction}`);
  let body: unknown;
  try {
    body = JSON.parse(res.body);
  } catch {
    problems.push('the body is not JSON');
  }
  if (res.status !== 200) {
    const error = body as Record<string, unknown> | undefined;
    const keys = Object.keys(error ?? {});
    if (keys.length !== 2 || keys[0] !== 'err' || keys[1] !== 'description' || typeof error?.err !== 'string' || typeof error.description !== 'string') {
      problems.push('the error body is not exactly {err: string, description: string}');
    }
  }
  return { body, problems };
}

/** A request the model rejects, as tpp-alpha: the documented error, and no DynamoDB command on the queue. */
async function exerciseRejected(req: FuzzRequest, verdict: Extract<Verdict, { kind: 'reject' }>): Promise<void> {
  const before = watch.count(alpha.pk);
  const res = await send(alpha, req);
  count(res);
  tally.rejected++;
  const { body, problems } = commonProblems(res, req);
  const error = body as { err?: string; description?: string } | undefined;
  if (res.status !== verdict.status || error?.err !== verdict.err) problems.push(`expected ${verdict.status} ${verdict.err}`);
  if (!verdict.anyDescription && !verdict.descriptions.includes(String(error?.description))) problems.push(`description not one of ${JSON.stringify(verdict.descriptions)}`);
  if (res.status === 401) {
    const challenge = expectedChallenge(authorizationValues(req.auth, alpha.token, lanes[0]!.token));
    if (res.headers['www-authenticate'] !== challenge) problems.push(`www-authenticate ${res.headers['www-authenticate']}, expected ${challenge}`);
  }
  if (res.status === 405 && res.headers.allow !== 'POST') problems.push(`allow ${res.headers.allow}`);
  if (watch.count(alpha.pk) !== before) problems.push(`DynamoDB commands on Q#tpp-alpha: ${JSON.stringify(watch.touching(alpha.pk).slice(-3).map((c) => c.input))}`);
  if (problems.length > 0) throw failure(req, res, new Error(problems.join('\n')));
}

/**
 * A request the model accepts, as one lane's recipient: the exact response the model predicts for
 * a queue holding the seeds, and the queue afterwards (acked SETs gone, reported ones moved to
 * error records, delivered ones leased). Then the queue is put back as seeded.
 */
async function exerciseAccepted(req: FuzzRequest, verdict: Extract<Verdict, { kind: 'accept' }>, lane: Recipient): Promise<void> {
  const res = await send(lane, req);
  count(res);
  tally.accepted++;
  try {
    const { body, problems } = commonProblems(res, req);
    same('problems', problems, []);
    const after = await table.query(lane.pk);
    if (res.status === 400 && verdict.mayReject) {
      same('err', (body as { err: string }).err, 'invalid_request');
      same('queue', after, lane.seeded);
      return;
    }
    const effect = expectedEffect(lane.seeds, verdict.poll, LIMITS);
    same('status', res.status, 200);
    same('body', body, effect.body);
    same('order of sets', Object.keys((body as { sets: object }).sets), Object.keys(effect.body.sets));
    same('queued SETs', bySk(after.filter((i) => String(i.sk).startsWith('S#'))), bySk(effect.queued));
    const records = bySk(after.filter((i) => String(i.sk).startsWith('R#')));
    same('error records', records.map(({ at, ...record }) => ({ ...record, at: typeof at })), bySk(effect.records).map((r) => ({ ...r, at: 'number' })));
    const lease = after.find((i) => i.sk === LEASE_SK) as { l: [string, number][]; ttl: unknown } | undefined;
    if (effect.leased.length === 0) same('lease record', lease, undefined);
    else {
      const leaseMs = SETTINGS.leaseSeconds * 1000;
      same('lease record', { ...lease, l: lease?.l.map(([jti]) => jti), ttl: typeof lease?.ttl }, { pk: lane.pk, sk: LEASE_SK, v: 1, l: effect.leased, ttl: 'number' });
      for (const [, until] of lease!.l) same(`lease end ${until} within [${res.sentAt + leaseMs}, ${res.receivedAt + leaseMs}]`, until >= res.sentAt + leaseMs && until <= res.receivedAt + leaseMs, true);
    }
    await restore(lane, after);
  } catch (error) {
    throw failure(req, res, error);
  }
}

/** expect(actual).toEqual(expected), called only when they differ (for its diff): it is slow for the hot path. */
function same(label: string, actual: unknown, expected: unknown): void {
  if (!isDeepStrictEqual(actual, expected)) expect(actual, label).toEqual(expected);
}

/**
 * One fast-check run: the batch's rejected requests as tpp-alpha (two at a time), its accepted ones
 * on the lanes, all at once. Afterwards no command may have touched tpp-alpha's queue, and every few
 * batches its whole partition is compared with the seeds. A failure puts every queue back first.
 */
async function exerciseBatch(batch: readonly FuzzRequest[]): Promise<void> {
  const judged = batch.map((req) => ({ req, verdict: judge(req, LIMITS) }));
  const alphaBefore = watch.count(alpha.pk);
  const refused = judged.filter((j) => j.verdict.kind === 'reject');
  const rejected = Promise.all(
    [1, 2].map(async () => {
      for (let next = refused.shift(); next; next = refused.shift()) await exerciseRejected(next.req, next.verdict as Extract<Verdict, { kind: 'reject' }>);
    }),
  );
  const queue = judged.filter((j) => j.verdict.kind === 'accept');
  const accepted = Promise.all(
    lanes.map(async (lane) => {
      for (let next = queue.shift(); next; next = queue.shift()) await exerciseAccepted(next.req, next.verdict as Extract<Verdict, { kind: 'accept' }>, lane);
    }),
  );
  const outcomes = await Promise.allSettled([rejected, accepted]);
  try {
    for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
    if (watch.count(alpha.pk) !== alphaBefore) expect(watch.touching(alpha.pk).slice(alphaBefore).map((c) => c.input), 'DynamoDB commands on Q#tpp-alpha').toEqual([]);
    tally.sinceSnapshot += judged.filter((j) => j.verdict.kind === 'reject').length;
    if (tally.sinceSnapshot >= SNAPSHOT_EVERY) {
      tally.sinceSnapshot = 0;
      expect(await table.query(alpha.pk), 'tpp-alpha\'s partition').toEqual(alpha.seeded);
    }
  } catch (error) {
    await Promise.all([alpha, ...lanes].map((r) => restore(r)));
    throw error;
  }
}

/**
 * A property over batches of generated requests, `requests` in all. The failure message names the
 * request and its answer, so shrinking (batch after batch of live requests) is left out.
 */
const batches = (arb: fc.Arbitrary<FuzzRequest>, requests: number) => {
  // fast-check prints a failing batch by this, not as 64 requests of bytes.
  const batch = fc
    .array(arb, { minLength: BATCH, maxLength: BATCH })
    .map((list) => Object.assign(list, { [fc.toStringMethod]: () => `a batch of ${list.length} requests; the failing one is named in the error` }));
  return [fc.asyncProperty(batch, exerciseBatch), { numRuns: Math.ceil(requests / BATCH), endOnFailure: true }] as const;
};

/** 10,000 ack entries cycling through `distinct` jtis (the seeded ones first), each at least `width` characters. */
function ackListRequest(config: { distinct: number; width: number; interactionId: readonly string[] }): FuzzRequest {
  const pool = seedJtis.slice(0, Math.min(config.distinct, seedJtis.length));
  for (let i = pool.length; i < config.distinct; i++) pool.push(`j-${i}`.padEnd(config.width, '.'));
  const ack = Array.from({ length: 10_000 }, (_, i) => pool[i % pool.length]!);
  const body = Buffer.from(JSON.stringify({ returnImmediately: true, ack }));
  return { method: 'POST', auth: 'Bearer', contentType: 0, interactionId: config.interactionId, contentLanguage: [], body };
}

const plain = { method: 'POST', auth: 'Bearer', contentType: 0, interactionId: [], contentLanguage: [] } as const;

describe('POST /events', () => {
  describe('the watch on the handler\'s DynamoDB client', () => {
    it('sees the queue reads of an accepted poll of tpp-alpha, which leaves the queue as it was', async () => {
      // Prepare
      const before = watch.count(alpha.pk);
      // Act
      const res = await send(alpha, { ...plain, body: Buffer.from('{"returnImmediately":true,"maxEvents":0}') });
      // Assess
      expect([res.status, res.body]).toEqual([200, '{"sets":{},"moreAvailable":true}']);
      const reads = watch.touching(alpha.pk).slice(before);
      expect(reads.length).toBeGreaterThan(0);
      expect(reads.every((c) => /^(Get|Query)/.test(c.command) && c.ok === true)).toBe(true);
      expect(await table.query(alpha.pk)).toEqual(alpha.seeded);
    });
  });

  describe('generated requests', () => {
    it('arbitrary JSON: 200 or the documented 4xx, and a rejected request changes nothing', async () => {
      await fc.assert(...batches(withBody(arbitraryJsonText.map((t) => Buffer.from(t, 'utf8'))), 1500));
    }, 120_000);

    it('near-valid bodies: wrong types, huge numbers, deep nesting, prototype keys, control characters, lone surrogates', async () => {
      await fc.assert(...batches(withBody(nearValidBodyText(seedJtis).map((t) => Buffer.from(t, 'utf8'))), 1000));
    }, 120_000);

    it('10,000-entry ack lists: valid with at most 1000 distinct jtis, 400 with more, 413 past 1 MiB', async () => {
      const configs = fc.record({ distinct: fc.constantFrom(1, 10, 999, 1000, 1001, 5000), width: fc.constantFrom(8, 128), interactionId: interactionIdArb });
      const seen = new Set<number>();
      await fc.assert(
        fc.asyncProperty(configs, async (config) => {
          const req = ackListRequest(config);
          await exerciseBatch([req]);
          const verdict = judge(req, LIMITS);
          seen.add(verdict.kind === 'accept' ? 200 : verdict.status);
        }),
        {
          numRuns: 6,
          examples: [[{ distinct: 1000, width: 8, interactionId: [] }], [{ distinct: 1001, width: 8, interactionId: [] }], [{ distinct: 1000, width: 128, interactionId: [] }]],
        },
      );
      expect([...seen].sort((a, b) => a - b)).toEqual([200, 400, 413]);
    }, 120_000);

    it('raw bodies: empty, truncated, BOMs, invalid UTF-8, UTF-16, raw control characters, trailing garbage', async () => {
      await fc.assert(...batches(withBody(rawBodyArb(seedJtis)), 2500));
    }, 120_000);

    it('headers: methods, missing, duplicate and malformed authorization, content types and charsets, odd interaction ids', async () => {
      const body = fc.oneof(
        { weight: 1, arbitrary: fc.constantFrom('{"returnImmediately":true,"maxEvents":2,"ack":["__proto__","constructor"]}', '{"maxEvents":0,"setErrs":{"constructor":{"err":"invalid_key"}}}', '{}') },
        { weight: 19, arbitrary: nearValidBodyText(seedJtis) },
      );
      const requests = fc.record({
        method: methodArb,
        auth: authArb,
        contentType: contentTypeArb,
        interactionId: interactionIdArb,
        contentLanguage: contentLanguageArb,
        body: body.map((t) => Buffer.from(t, 'utf8')),
      });
      await fc.assert(...batches(requests, 5000));
    }, 120_000);

    it('a jti no SET can carry (a lone surrogate) acknowledges and reports no other SET', async () => {
      // Prepare: the queue holds SETs whose jtis are "?" and "x?".
      const lane = lanes[0]!;
      await restore(lane);
      // Act
      const acked = await send(lane, { ...plain, body: Buffer.from('{"maxEvents":0,"ack":["\\ud800"]}') });
      const ackedItems = await table.query(lane.pk);
      await restore(lane, ackedItems);
      const reported = await send(lane, { ...plain, body: Buffer.from('{"maxEvents":0,"setErrs":{"x\\udfff":{"err":"invalid_key"}}}') });
      const reportedItems = await table.query(lane.pk);
      await restore(lane, reportedItems);
      // Assess: a 400, or a 200 that leaves every SET where it was.
      for (const [res, after] of [
        [acked, ackedItems],
        [reported, reportedItems],
      ] as const) {
        expect([200, 400]).toContain(res.status);
        if (res.status === 400) expect(JSON.parse(res.body)).toEqual({ err: 'invalid_request', description: expect.any(String) });
        else expect(after).toEqual(lane.seeded);
      }
    });
  });

  describe('after every generated request', () => {
    it('a normal poll of tpp-alpha returns 200 with every seeded SET', async () => {
      // Prepare
      const elapsed = Date.now() - tally.started;
      const cpu = process.cpuUsage(tally.cpu);
      const ordered = [...alpha.seeds].sort((a, b) => byUtf8(a.jti, b.jti));
      // Act
      const res = await send(alpha, { ...plain, body: Buffer.from('{"returnImmediately":true}') });
      // Assess
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toEqual({ sets: Object.fromEntries(ordered.map((s) => [s.jti, s.set])), moreAvailable: false });
      expect(Object.keys((JSON.parse(res.body) as { sets: object }).sets)).toEqual(ordered.map((s) => s.jti));
      const connections = [alpha, ...lanes].reduce((n, r) => n + r.client.connections(), 0);
      console.info(
        `fuzz: ${tally.requests} generated requests in ${elapsed} ms (${Math.round((cpu.user + cpu.system) / 1000)} ms of CPU in this process) over ${connections} TLS connections; ` +
          `${tally.accepted} accepted, ${tally.rejected} rejected; statuses ${JSON.stringify(Object.fromEntries(tally.statuses))}`,
      );
      expect(tally.requests).toBeGreaterThanOrEqual(10_000);
      expect([...tally.statuses.keys()].sort((a, b) => a - b)).toEqual([200, 400, 401, 405, 413, 415]);
    });
  });
});
