/**
 * The poll metrics end to end: real polls over mTLS through the local stack (the same poll handler
 * Lambda runs, DynamoDB Local), with the Embedded Metric Format lines the handler writes to stdout
 * captured and checked metric by metric.
 */
import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessTokenVerifier } from '../../lambdas/core/access-token.ts';
import { ClientAuthenticator } from '../../lambdas/core/client-authenticator.ts';
import { validateSettings } from '../../lambdas/core/settings.ts';
import { createPollHandler } from '../../lambdas/handlers/poll.ts';
import { METRICS_NAMESPACE, POLL_METRICS, POLL_SERVICE } from '../../lambdas/observability/metric-names.ts';
import { createMetrics, defaultMetrics, pollVariant } from '../../lambdas/observability/metrics.ts';
import { lambdaContext } from '../../local/https-server.ts';
import { startTestStack, TEST_SETTINGS, type TestStack } from '../support/local-stack.ts';
import { publishSets } from '../support/queue.ts';
import { OutputCapture } from '../support/output-capture.ts';

/** An EMF line as Powertools writes it: `_aws` metadata, dimension values, metric values, metadata. */
interface EmfLine {
  readonly _aws: {
    readonly Timestamp: number;
    readonly CloudWatchMetrics: readonly { readonly Namespace: string; readonly Dimensions: string[][]; readonly Metrics: { Name: string; Unit: string }[] }[];
  };
  readonly [key: string]: unknown;
}

const LEASE_SECONDS = 1;
const EVENTS = { 'https://schemas.openid.net/secevent/caep/event-type/session-revoked': { initiating_entity: 'policy' } };

const captured = new OutputCapture();
let stack: TestStack;

beforeAll(async () => {
  captured.start();
  // A logger that is not SILENT: the handler's default Metrics then writes EMF to stdout, as in Lambda.
  // A 1 s lease so that a redelivery can be seen without a long wait.
  stack = await startTestStack({
    logger: new Logger({ serviceName: POLL_SERVICE, logLevel: 'WARN' }),
    settings: validateSettings({ ...TEST_SETTINGS, leaseSeconds: LEASE_SECONDS }),
  });
});

afterAll(async () => {
  captured.stop();
  await stack?.stop();
});

/** Every EMF line written so far. */
function emfLines(): EmfLine[] {
  return captured
    .text()
    .split('\n')
    .filter((l) => l.startsWith('{') && l.includes('"_aws"'))
    .map((l) => JSON.parse(l) as EmfLine);
}

/** The EMF lines of the request that sent this interaction id. */
const linesOf = (interactionId: string): EmfLine[] => emfLines().filter((l) => l.interactionId === interactionId);

/** The metric values of an EMF line, by name: what CloudWatch extracts from it. */
function metricValues(line: EmfLine): Record<string, unknown> {
  const names = line._aws.CloudWatchMetrics.flatMap((m) => m.Metrics.map((d) => d.Name));
  return Object.fromEntries(names.map((name) => [name, line[name]]));
}

/** A fresh recipient with its own queue, so each test's figures are its own. */
async function recipient(): Promise<string> {
  const clientId = `tpp-m-${randomUUID().slice(0, 8)}`;
  await stack.mintClient(clientId);
  return clientId;
}

/** The jtis of `count` SETs published to clientId, in the queue's order. */
async function publish(clientId: string, count: number, ttlSeconds?: number): Promise<string[]> {
  return (await publishSets(stack, clientId, count, { events: EVENTS, ...(ttlSeconds ? { ttlSeconds } : {}) })).map((s) => s.jti);
}

/** Polls with a fresh interaction id; returns the parsed body and that id. */
async function poll(clientId: string, body: unknown): Promise<{ status: number; sets: Record<string, string>; interactionId: string }> {
  const interactionId = `metrics-${randomUUID()}`;
  const res = await stack.poll(clientId, body, { 'x-fapi-interaction-id': interactionId });
  const parsed = res.status === 200 ? res.json<{ sets: Record<string, string> }>() : { sets: {} };
  return { status: res.status, sets: parsed.sets, interactionId };
}

/** The counters of an answered poll: `Polls` and those named; zeros are left out of the line. */
function counters(overrides: Partial<Record<string, number>>): Record<string, number> {
  return { [POLL_METRICS.polls]: 1, ...overrides } as Record<string, number>;
}

describe('poll metrics (EMF)', () => {
  it('a poll+ack that delivers N and acks M emits exactly those figures, once, in namespace setpoll with the service dimension only', async () => {
    // Prepare: 5 queued SETs, 3 of them delivered by a first (poll-only) poll.
    const clientId = await recipient();
    const jtis = await publish(clientId, 5);
    const first = await poll(clientId, { returnImmediately: true, maxEvents: 3 });
    const delivered = Object.keys(first.sets);

    // Act: acknowledge those 3 (M) and ask for more: the other 2 (N) come back.
    const second = await poll(clientId, { returnImmediately: true, maxEvents: 10, ack: delivered });

    // Assess
    expect(delivered).toEqual(jtis.slice(0, 3));
    expect(Object.keys(second.sets)).toEqual(jtis.slice(3));
    const [pollOnly, ...moreFirst] = linesOf(first.interactionId);
    const [pollAck, ...moreSecond] = linesOf(second.interactionId);
    expect(moreFirst).toEqual([]);
    expect(moreSecond).toEqual([]);
    expect(metricValues(pollOnly!)).toEqual({
      ...counters({ [POLL_METRICS.pollOnly]: 1, [POLL_METRICS.short]: 1, [POLL_METRICS.delivered]: 3 }),
      [POLL_METRICS.oldestSetAge]: expect.any(Number),
    });
    expect(metricValues(pollAck!)).toEqual({
      ...counters({ [POLL_METRICS.pollAndAck]: 1, [POLL_METRICS.short]: 1, [POLL_METRICS.delivered]: 2, [POLL_METRICS.acked]: 3 }),
      [POLL_METRICS.oldestSetAge]: expect.any(Number),
    });
    const [definition] = pollAck!._aws.CloudWatchMetrics;
    expect(pollAck!._aws.CloudWatchMetrics).toHaveLength(1);
    expect(definition!.Namespace).toBe(METRICS_NAMESPACE);
    expect(definition!.Dimensions).toEqual([['service']]);
    expect(pollAck!.service).toBe(POLL_SERVICE);
    const units = Object.fromEntries(definition!.Metrics.map((m) => [m.Name, m.Unit]));
    expect(units[POLL_METRICS.delivered]).toBe('Count');
    expect(units[POLL_METRICS.oldestSetAge]).toBe('Milliseconds');
    // The age of a SET published moments ago: known, small, never negative.
    expect(pollAck![POLL_METRICS.oldestSetAge]).toBeGreaterThanOrEqual(0);
    expect(pollAck![POLL_METRICS.oldestSetAge]).toBeLessThan(60_000);
    // Who it was is metadata (a log field, free), never a dimension.
    expect(pollAck).toMatchObject({ clientId, interactionId: second.interactionId, awsRequestId: expect.any(String) });
  });

  it('counts an ack-only poll with setErrs as ack-only, acked and errored', async () => {
    // Prepare
    const clientId = await recipient();
    const [a, b, c] = await publish(clientId, 3);
    await poll(clientId, { returnImmediately: true, maxEvents: 2 });

    // Act
    const answered = await poll(clientId, { returnImmediately: true, maxEvents: 0, ack: [a], setErrs: { [b!]: { err: 'invalid_key', description: 'x' } } });

    // Assess
    expect(answered.sets).toEqual({});
    expect(c).toEqual(expect.any(String));
    const [line, ...more] = linesOf(answered.interactionId);
    expect(more).toEqual([]);
    const { [POLL_METRICS.oldestSetAge]: age, ...rest } = metricValues(line!);
    expect(rest).toEqual(counters({ [POLL_METRICS.ackOnly]: 1, [POLL_METRICS.short]: 1, [POLL_METRICS.acked]: 1, [POLL_METRICS.errored]: 1 }));
    expect(age === undefined || typeof age === 'number').toBe(true);
  });

  it('counts a long poll on an empty queue as long, with its waits and no SETs', async () => {
    // Prepare
    const clientId = await recipient();

    // Act: `{}` is a long poll (1 s in the test settings).
    const waited = await poll(clientId, {});

    // Assess
    const [line] = linesOf(waited.interactionId);
    const values = metricValues(line!);
    expect(values[POLL_METRICS.longPollWaits]).toBeGreaterThan(0);
    expect({ ...values, [POLL_METRICS.longPollWaits]: 0 }).toEqual(counters({ [POLL_METRICS.pollOnly]: 1, [POLL_METRICS.long]: 1, [POLL_METRICS.longPollWaits]: 0 }));
    // Nothing queued: no age to report.
    expect(values).not.toHaveProperty(POLL_METRICS.oldestSetAge);
  });

  it('counts a SET handed out again after its lease ran out as delivered and redelivered', async () => {
    // Prepare: delivered, never acknowledged, lease run out.
    const clientId = await recipient();
    const [jti] = await publish(clientId, 1);
    const first = await poll(clientId, { returnImmediately: true });
    await new Promise((resolve) => setTimeout(resolve, LEASE_SECONDS * 1000 + 200));

    // Act
    const again = await poll(clientId, { returnImmediately: true });

    // Assess
    expect(Object.keys(first.sets)).toEqual([jti]);
    expect(Object.keys(again.sets)).toEqual([jti]);
    const [firstLine] = linesOf(first.interactionId);
    const [againLine] = linesOf(again.interactionId);
    expect(metricValues(firstLine!)).toMatchObject({ [POLL_METRICS.delivered]: 1 });
    expect(metricValues(firstLine!)).not.toHaveProperty(POLL_METRICS.redelivered);
    expect(metricValues(againLine!)).toEqual({
      ...counters({ [POLL_METRICS.pollOnly]: 1, [POLL_METRICS.short]: 1, [POLL_METRICS.delivered]: 1, [POLL_METRICS.redelivered]: 1 }),
      [POLL_METRICS.oldestSetAge]: expect.any(Number),
    });
    expect(againLine![POLL_METRICS.oldestSetAge]).toBeGreaterThanOrEqual(LEASE_SECONDS * 1000);
  });

  it('counts SETs that answered an ack request and came back unacknowledged, and logs the client (receivers that ack without maxEvents: 0)', async () => {
    // Prepare: the receiver acks its first SET with {"ack": [...]} alone (Go's omitempty dropped
    // "maxEvents": 0), ignores the SET that comes back in that answer, and the lease runs out.
    const clientId = await recipient();
    const [a, b] = await publish(clientId, 2);
    await poll(clientId, { returnImmediately: true, maxEvents: 1 });
    const ack = await poll(clientId, { returnImmediately: true, ack: [a] });
    await new Promise((resolve) => setTimeout(resolve, LEASE_SECONDS * 1000 + 200));

    // Act
    const again = await poll(clientId, { returnImmediately: true, ack: [a] });
    const plainRedelivery = await poll(clientId, { returnImmediately: true });

    // Assess: b went out with the ack's answer, and came back: redelivered after an ack request.
    expect(Object.keys(ack.sets)).toEqual([b]);
    expect(Object.keys(again.sets)).toEqual([b]);
    expect(plainRedelivery.sets).toEqual({});
    const [line] = linesOf(again.interactionId);
    expect(metricValues(line!)).toEqual({
      ...counters({ [POLL_METRICS.pollAndAck]: 1, [POLL_METRICS.short]: 1, [POLL_METRICS.delivered]: 1, [POLL_METRICS.redelivered]: 1, [POLL_METRICS.redeliveredAfterAcks]: 1 }),
      [POLL_METRICS.oldestSetAge]: expect.any(Number),
    });
    expect(metricValues(linesOf(ack.interactionId)[0]!)).not.toHaveProperty(POLL_METRICS.redeliveredAfterAcks);
    const warnings = captured
      .text()
      .split('\n')
      .filter((l) => l.startsWith('{') && l.includes('"SETs redelivered after an ack request"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.interactionId === again.interactionId);
    expect(warnings).toEqual([expect.objectContaining({ level: 'WARN', clientId, redeliveredAfterAcks: 1 })]);
  });

  it('counts a queued SET found past its TTL as expired, not delivered (with an explicit Metrics object)', async () => {
    // Prepare: the same handler with a clock 10 s ahead, over the same table. Moving the handler's
    // clock rather than waiting keeps DynamoDB Local's TTL sweeper from deleting the SET first.
    // The token check is stubbed here only: the certificate check and DynamoDB are real.
    const clientId = await recipient();
    await publish(clientId, 1, 5);
    const logger = new Logger({ serviceName: POLL_SERVICE, logLevel: 'WARN' });
    const handler = createPollHandler({
      store: stack.store,
      authenticator: new ClientAuthenticator({ registry: stack.registry, realm: stack.settings.realm }),
      tokens: { warmUp: () => undefined, verify: async () => ({}) } as unknown as AccessTokenVerifier,
      settings: stack.settings,
      logger,
      metrics: createMetrics({ serviceName: POLL_SERVICE, logger }),
      now: () => Date.now() + 10_000,
    });
    const interactionId = `metrics-${randomUUID()}`;
    const event = {
      rawPath: '/events',
      headers: { 'content-type': 'application/json', 'x-fapi-interaction-id': interactionId },
      body: JSON.stringify({ returnImmediately: true }),
      isBase64Encoded: false,
      requestContext: { http: { method: 'POST', path: '/events' }, authentication: { clientCert: { clientCertPem: stack.client(clientId).cert } } },
    } as unknown as APIGatewayProxyEventV2;

    // Act
    const res = await handler(event, lambdaContext({ functionName: 'setpoll-metrics-test', timeoutMs: 30_000 }));

    // Assess
    expect({ status: res.statusCode, body: JSON.parse(res.body ?? '{}') }).toEqual({ status: 200, body: { sets: {}, moreAvailable: false } });
    const [line, ...more] = linesOf(interactionId);
    expect(more).toEqual([]);
    const { [POLL_METRICS.oldestSetAge]: _age, ...values } = metricValues(line!);
    expect(values).toEqual(counters({ [POLL_METRICS.pollOnly]: 1, [POLL_METRICS.short]: 1, [POLL_METRICS.expired]: 1 }));
    expect(line).toMatchObject({ clientId, interactionId, awsRequestId: expect.any(String) });
    // Found expired, and deleted.
    expect((await stack.store.readQueue(clientId, 10)).items).toEqual([]);
  });

  it('writes no EMF line (and no empty-metrics warning) for a rejected request', async () => {
    // Prepare
    const clientId = await recipient();
    const before = captured.mark();

    // Act
    const refused = await poll(clientId, '{"maxEvents": "ten"}');

    // Assess
    expect(refused.status).toBe(400);
    expect(linesOf(refused.interactionId)).toEqual([]);
    expect(captured.text(before)).not.toContain('No application metrics');
  });
});

describe('metrics defaults', () => {
  it('follow the logger: none for a SILENT logger (the suites), namespace setpoll otherwise', () => {
    // Prepare / Act
    const silent = defaultMetrics(new Logger({ logLevel: 'SILENT' }), POLL_SERVICE);
    const loud = defaultMetrics(new Logger({ logLevel: 'ERROR' }), POLL_SERVICE);
    // Assess
    expect(silent).toBeUndefined();
    expect(loud).toBeDefined();
  });

  it('classify polls by what they ask for', () => {
    // Prepare
    const none = new Map();
    const errs = new Map([['j', { err: 'x' }]]);
    // Act / Assess
    expect(pollVariant({ ack: [], setErrs: none })).toBe('poll-only');
    expect(pollVariant({ maxEvents: 5, ack: ['j'], setErrs: none })).toBe('poll+ack');
    expect(pollVariant({ ack: [], setErrs: errs })).toBe('poll+ack');
    expect(pollVariant({ maxEvents: 0, ack: ['j'], setErrs: none })).toBe('ack-only');
    expect(pollVariant({ maxEvents: 0, ack: [], setErrs: none })).toBe('ack-only');
  });
});
