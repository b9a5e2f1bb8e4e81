/**
 * DynamoDB failing under the poll handler: throttling, 5xx and timeouts on a fraction of calls
 * (behind the SDK's own three attempts), a handler killed after it leased SETs, slow reads and
 * deletes racing an ack, and timeouts on the ack path. Whatever fails, no SET is lost, a SET is
 * handed out again only after its lease ran out, and every failed request is a 503 with Retry-After.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynamoEndpoint } from '../support/dynamo-endpoint.ts';
import { validateSettings } from '../../lambdas/core/settings.ts';
import { JwkSigner, loadOrCreateSigningJwk } from '../../lambdas/producer/signer.ts';
import { uuidv7 } from '../../lambdas/producer/uuidv7.ts';
import { injectFaults, killAfter, slowCalls } from '../support/faults.ts';
import { fromDynamoItem, keepAliveClient, localTable, restorePartition, watchDynamo, type KeepAliveClient, type RawResponse, type TableClient } from '../support/fuzz.ts';
import { TEST_SETTINGS, startTestStack, type TestStack } from '../support/local-stack.ts';
import { LEASE_SK } from '../../lambdas/store/schema.ts';

const LEASE_SECONDS = 2;
const LEASE_MS = LEASE_SECONDS * 1000;
/** Clock tolerance of the redelivery checks. */
const TOLERANCE_MS = 100;
const SETTINGS = validateSettings({ ...TEST_SETTINGS, leaseSeconds: LEASE_SECONDS, maxEvents: 10 });
const EVENT = { 'https://schemas.openid.net/secevent/risc/event-type/account-disabled': { reason: 'hijacking' } };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const UNAVAILABLE = { err: 'temporarily_unavailable', description: 'The service is temporarily unavailable; retry shortly' };

let stack: TestStack;
/** The test's own access to the table: never watched, never faulted. */
let table: TableClient;

beforeAll(async () => {
  stack = await startTestStack({ settings: SETTINGS });
  table = localTable(dynamoEndpoint(), stack.config.dynamodb.tableName);
});
afterAll(async () => {
  table?.close();
  await stack?.stop();
});

/** A kept-alive connection to the poll endpoint over mTLS as clientId. */
const connection = (clientId: string): KeepAliveClient => keepAliveClient(stack.config.pollUrl, stack.client(clientId));

/** A JSON poll over a kept-alive connection. */
async function poll(client: KeepAliveClient, token: string, body: object, signal?: AbortSignal): Promise<RawResponse> {
  return client.send({
    headers: { authorization: [`Bearer ${token}`], 'content-type': ['application/json'] },
    body: Buffer.from(JSON.stringify(body)),
    ...(signal ? { signal } : {}),
  });
}

/** The 503 every failed request must be: the error shape, JSON, Retry-After, an interaction id. */
function expectUnavailable(res: RawResponse): void {
  expect(res.status).toBe(503);
  expect(JSON.parse(res.body)).toEqual(UNAVAILABLE);
  expect(res.headers['content-type']).toBe('application/json');
  expect(res.headers['retry-after']).toBe('1');
  expect(res.headers['x-fapi-interaction-id']).toMatch(UUID);
}

/**
 * Queues `count` signed SETs for a recipient the way a producer may (docs/item-schema.md, "The DynamoDB item
 * schema"), in batches of 25: much faster than one conditional put per SET, for test setup.
 */
async function queueSets(clientId: string, count: number): Promise<Map<string, string>> {
  const signer = await JwkSigner.fromJwk(await loadOrCreateSigningJwk(`${stack.dir}/fault-test-signer.json`, 'ES256'));
  const iat = Math.floor(Date.now() / 1000);
  const sets = new Map<string, string>();
  for (let i = 0; i < count; i++) {
    const jti = uuidv7();
    sets.set(jti, await signer.sign({ iss: stack.config.issuer, iat, jti, aud: clientId, events: EVENT }));
  }
  await table.putAll([...sets].map(([jti, set]) => ({ pk: `Q#${clientId}`, sk: `S#${jti}`, jti, set, ttl: iat + 86_400 })));
  return sets;
}

const queued = async (clientId: string): Promise<string[]> =>
  (await table.query(`Q#${clientId}`)).filter((i) => String(i.sk).startsWith('S#')).map((i) => String(i.jti));

/**
 * One SET queued for tpp-beta, alone, and delivered over `client` (so leased), ready to be acked:
 * its jti, and when the poll that delivered it was sent.
 */
async function deliveredSet(client: KeepAliveClient, token: string): Promise<{ jti: string; sentAt: number }> {
  await restorePartition(table, 'Q#tpp-beta', []);
  const [jti] = (await queueSets('tpp-beta', 1)).keys();
  const res = await poll(client, token, { returnImmediately: true });
  expect(Object.keys((JSON.parse(res.body) as { sets: object }).sets)).toEqual([jti]);
  return { jti: jti!, sentAt: res.sentAt };
}

interface Delivery {
  readonly jti: string;
  readonly set: string;
  readonly sentAt: number;
  readonly receivedAt: number;
}

describe('POST /events', () => {
  describe('DynamoDB throttling, 5xx and timeouts', () => {
    it('4 pollers acking 2,000 SETs (dropping 20% of their acks) lose none, redeliver only after a lease ran out, and get 503 with Retry-After for every failure', async () => {
      // Prepare
      const TOTAL = 2000;
      const published = await queueSets('tpp-alpha', TOTAL);
      const token = await stack.token('tpp-alpha');
      const watch = watchDynamo(stack.documentClient);
      const clients = Array.from({ length: 4 }, () => connection('tpp-alpha'));
      const deliveries: Delivery[] = [];
      const deliveredOnce = new Set<string>();
      const failures: RawResponse[] = [];
      const latencies: number[] = [];
      let firstPass = 0;
      /** The acks each failed request carried. */
      const failedAcks: { sentAt: number; receivedAt: number; ack: string[] }[] = [];
      const acked = new Set<string>();
      let dropped = 0;
      let resent = 0;
      const started = Date.now();
      // A safety bound: about 25 s on a quiet machine, twice that with another heavy file alongside.
      const deadline = started + 70_000;
      // Throttles are retried after up to 1 s and 2 s: one fault in six is one, to keep the test short.
      const faults = injectFaults(stack.documentClient, { rate: 0.01, persistentRate: 0.002, kinds: ['throttle', 'server', 'server', 'timeout', 'timeout', 'timeout'] });

      // Act: poll and ack until every SET was acknowledged in a successful response.
      const poller = async (client: KeepAliveClient): Promise<void> => {
        let pending: string[] = [];
        while (acked.size < TOTAL && Date.now() < deadline) {
          const res = await poll(client, token, { returnImmediately: true, maxEvents: 10, ...(pending.length > 0 ? { ack: pending } : {}) });
          latencies.push(res.receivedAt - res.sentAt);
          if (res.status !== 200) {
            // The acks of a failed request are sent again with the next one.
            failures.push(res);
            failedAcks.push({ sentAt: res.sentAt, receivedAt: res.receivedAt, ack: pending });
            resent += pending.length;
            await delay(Number(res.headers['retry-after'] ?? 1) * 1000);
            continue;
          }
          for (const jti of pending) acked.add(jti);
          pending = [];
          const body = JSON.parse(res.body) as { sets: Record<string, string>; moreAvailable: boolean };
          for (const [jti, set] of Object.entries(body.sets)) {
            deliveries.push({ jti, set, sentAt: res.sentAt, receivedAt: res.receivedAt });
            deliveredOnce.add(jti);
            if (firstPass === 0 && deliveredOnce.size === TOTAL) firstPass = Date.now() - started;
            if (Math.random() < 0.2) dropped++;
            else pending.push(jti);
          }
          if (Object.keys(body.sets).length === 0 && !body.moreAvailable && pending.length === 0) await delay(100);
        }
      };
      try {
        await Promise.all(clients.map(poller));
      } finally {
        faults.stop();
        watch.stop();
        for (const client of clients) client.close();
      }
      const elapsed = Date.now() - started;
      latencies.sort((a, b) => a - b);
      console.info(
        `faults: ${TOTAL} SETs in ${elapsed} ms (each delivered once by ${firstPass} ms); ${latencies.length} requests, ` +
          `p50 ${latencies[latencies.length >> 1]} ms, p95 ${latencies[Math.floor(latencies.length * 0.95)]} ms; ` +
          `${faults.injected()} faults injected in ${watch.calls.length} DynamoDB commands; ` +
          `${failures.length} requests answered 503 (${resent} acks re-sent); ${deliveries.length} deliveries, ` +
          `${deliveries.length - deliveredOnce.size} redeliveries (${dropped} acks dropped by the pollers)`,
      );

      // Assess: every SET was delivered, as published, and acknowledged; the queue is empty.
      expect(acked.size).toBe(TOTAL);
      expect(deliveredOnce).toEqual(new Set(published.keys()));
      for (const d of deliveries) expect(d.set).toBe(published.get(d.jti));
      expect(await queued('tpp-alpha')).toEqual([]);
      const last = connection('tpp-alpha');
      const final = await poll(last, token, { returnImmediately: true }).finally(last.close);
      expect([final.status, final.body]).toEqual([200, '{"sets":{},"moreAvailable":false}']);

      // Every failed request was a 503 with Retry-After, never a 500.
      for (const res of failures) expectUnavailable(res);

      // The successful lease writes, in version order: one chain, each version once.
      const writes = watch.leaseWrites('Q#tpp-alpha').filter((w) => w.ok).sort((a, b) => a.version - b.version);
      expect(writes.map((w) => w.version)).toEqual(writes.map((_, i) => i + 1));
      const leasesOf = (jti: string) => writes.flatMap((w) => w.entries.filter(([j]) => j === jti).map(([, until]) => ({ version: w.version, until, startedAt: w.startedAt, endedAt: w.endedAt })));

      // A redelivery only after the lease of the previous successful delivery ran out. On the client's
      // clock a delivery was selected between sending and receiving, so of two deliveries of a SET,
      // one must have been answered at least a lease after the other was sent.
      const byJti = new Map<string, Delivery[]>();
      for (const d of deliveries) byJti.set(d.jti, [...(byJti.get(d.jti) ?? []), d]);
      const early: object[] = [];
      for (const [jti, list] of byJti) {
        for (let i = 0; i < list.length; i++) {
          for (let k = i + 1; k < list.length; k++) {
            const [a, b] = [list[i]!, list[k]!];
            if (b.receivedAt - a.sentAt < LEASE_MS - TOLERANCE_MS && a.receivedAt - b.sentAt < LEASE_MS - TOLERANCE_MS) {
              const [from, to] = [Math.min(a.sentAt, b.sentAt), Math.max(a.receivedAt, b.receivedAt)];
              const ackFailed = failedAcks.filter((f) => f.ack.includes(jti) && f.sentAt >= from && f.sentAt <= to).map((f) => ({ sentAt: f.sentAt, answeredAt: f.receivedAt }));
              early.push({ jti, deliveries: [a, b].map((d) => ({ sentAt: d.sentAt, receivedAt: d.receivedAt })), ackFailed, leases: leasesOf(jti) });
            }
          }
        }
      }
      expect(early).toEqual([]);
      // The same on the server's clock, for every lease taken, delivered or not: a SET leased again
      // was selected after its previous lease ended.
      const leasedUntil = new Map<string, number>();
      let releases = 0;
      const relet: object[] = [];
      for (const write of writes) {
        for (const [jti, until] of write.entries) {
          const previous = leasedUntil.get(jti);
          if (previous !== undefined && until !== previous) {
            releases++;
            if (until - LEASE_MS < previous - TOLERANCE_MS) relet.push({ jti, version: write.version, selectedAt: until - LEASE_MS, previousUntil: previous });
          }
          leasedUntil.set(jti, until);
        }
      }
      expect(relet).toEqual([]);
      // Each delivery came from one of those leases, taken while its request was in flight.
      const leases = new Map<string, Set<number>>();
      for (const write of writes) for (const [jti, until] of write.entries) leases.set(jti, (leases.get(jti) ?? new Set()).add(until));
      const unexplained = deliveries.filter((d) => ![...(leases.get(d.jti) ?? [])].some((until) => until >= d.sentAt + LEASE_MS && until <= d.receivedAt + LEASE_MS));
      expect(unexplained).toEqual([]);
      // Faults were injected, and some outlasted the SDK's retries.
      expect(faults.injected()).toBeGreaterThan(0);
      expect(failures.length).toBeGreaterThan(0);
      expect(releases).toBeGreaterThan(0);
    }, 90_000);
  });

  describe('a handler killed after it leased SETs', () => {
    it('does not serve them before the lease ends, and serves them right after', async () => {
      // Prepare
      const sets = await queueSets('tpp-beta', 3);
      const token = await stack.token('tpp-beta');
      const victim = connection('tpp-beta');
      const other = connection('tpp-beta');
      const kill = killAfter(stack.documentClient, (command, input) => {
        const item = fromDynamoItem(input.Item) as { pk?: string; sk?: string };
        return /^Put/.test(command) && item.pk === 'Q#tpp-beta' && item.sk === LEASE_SK;
      });
      const polls: RawResponse[] = [];
      let until = 0;
      try {
        // Act: the first poll leases the SETs and never answers; its client gives up.
        const abort = new AbortController();
        const killedPoll = poll(victim, token, { returnImmediately: true }, abort.signal).then(
          () => 'answered',
          () => 'no answer',
        );
        const lease = fromDynamoItem((await kill.killed).Item) as { l: [string, number][] };
        until = Math.max(...lease.l.map(([, u]) => u));
        expect(lease.l.map(([jti]) => jti)).toEqual([...sets.keys()]);
        abort.abort();
        expect(await killedPoll).toBe('no answer');
        // Another poll every 50 ms until the SETs come back.
        while (Date.now() < until + 2000) {
          const res = await poll(other, token, { returnImmediately: true });
          polls.push(res);
          if (res.body !== '{"sets":{},"moreAvailable":false}') break;
          await delay(50);
        }
      } finally {
        kill.release();
        victim.close();
        other.close();
      }

      // Assess: every poll before the lease end got nothing; the first one after it got all three.
      const served = polls.at(-1)!;
      const withheld = polls.slice(0, -1);
      expect(served.status).toBe(200);
      expect(JSON.parse(served.body)).toEqual({ sets: Object.fromEntries(sets), moreAvailable: false });
      expect(served.receivedAt).toBeGreaterThanOrEqual(until);
      expect(served.receivedAt - until).toBeLessThan(1000);
      expect(withheld.length).toBeGreaterThan(2);
      for (const res of withheld) expect([res.status, res.body]).toEqual([200, '{"sets":{},"moreAvailable":false}']);
      expect(withheld.filter((res) => res.sentAt >= until)).toEqual([]);
    });
  });

  describe('a poll whose read answers slowly', () => {
    it('does not deliver a SET acknowledged after its read', async () => {
      // Prepare: J delivered to one poll, so leased.
      const token = await stack.token('tpp-beta');
      const first = connection('tpp-beta');
      const second = connection('tpp-beta');
      const { jti: j } = await deliveredSet(first, token);
      // Act: a second poll reads the lease record and the queue (J still there) and gets the answer a
      // second later; meanwhile the first acknowledges J.
      const slow = slowCalls(stack.documentClient, { commands: ['QueryCommand'], ms: 1000, count: 1, after: true });
      const racing = poll(second, token, { returnImmediately: true });
      await delay(150);
      const ack = await poll(first, token, { returnImmediately: true, maxEvents: 0, ack: [j] });
      const raced = await racing.finally(slow.stop);
      first.close();
      second.close();
      // Assess
      expect([ack.status, ack.body]).toEqual([200, '{"sets":{},"moreAvailable":false}']);
      expect(ack.receivedAt).toBeLessThan(raced.receivedAt);
      expect([raced.status, raced.body]).toEqual([200, '{"sets":{},"moreAvailable":false}']);
      expect(await queued('tpp-beta')).toEqual([]);
    });
  });

  describe('an ack whose delete is slow', () => {
    it('does not let another poll receive the SET while the ack is under way', async () => {
      // Prepare: J delivered to one poll, so leased.
      const token = await stack.token('tpp-beta');
      const first = connection('tpp-beta');
      const second = connection('tpp-beta');
      const delivered = await deliveredSet(first, token);
      const j = delivered.jti;
      // Act: the first poll acknowledges J, and DynamoDB takes a second over the delete; meanwhile,
      // well within J's lease, a second poll.
      const slow = slowCalls(stack.documentClient, { commands: ['DeleteCommand'], ms: 1000, count: 1 });
      const acking = poll(first, token, { returnImmediately: true, maxEvents: 0, ack: [j] });
      await delay(300);
      const meanwhile = await poll(second, token, { returnImmediately: true });
      const ack = await acking.finally(slow.stop);
      first.close();
      second.close();
      // Assess
      expect(meanwhile.receivedAt - delivered.sentAt).toBeLessThan(LEASE_MS);
      expect(meanwhile.receivedAt).toBeLessThan(ack.receivedAt);
      expect([meanwhile.status, meanwhile.body]).toEqual([200, '{"sets":{},"moreAvailable":false}']);
      expect([ack.status, ack.body]).toEqual([200, '{"sets":{},"moreAvailable":false}']);
      expect(await queued('tpp-beta')).toEqual([]);
    });
  });

  describe('a DynamoDB timeout on the ack path', () => {
    it('answers 503 with Retry-After, keeps the SET queued and leased, and a retried ack succeeds', async () => {
      // Prepare
      const token = await stack.token('tpp-beta');
      const client = connection('tpp-beta');
      const deliveredAt = Date.now();
      const { jti } = await deliveredSet(client, token);
      const faults = injectFaults(stack.documentClient, { rate: 1, kinds: ['timeout'], commands: ['DeleteCommand'] });
      // Act
      const failed = await poll(client, token, { returnImmediately: true, maxEvents: 0, ack: [jti] }).finally(faults.stop);
      const stillQueued = await queued('tpp-beta');
      const withinLease = await poll(client, token, { returnImmediately: true });
      const retried = await poll(client, token, { returnImmediately: true, maxEvents: 0, ack: [jti] });
      client.close();
      // Assess: every attempt the SDK made timed out; the SET was neither lost nor handed out again
      // within its lease; the retried ack removed it.
      expectUnavailable(failed);
      expect(faults.injected()).toBe(3);
      expect(stillQueued).toEqual([jti]);
      expect(withinLease.receivedAt - deliveredAt).toBeLessThan(LEASE_MS);
      expect([withinLease.status, withinLease.body]).toEqual([200, '{"sets":{},"moreAvailable":false}']);
      expect([retried.status, retried.body]).toEqual([200, '{"sets":{},"moreAvailable":false}']);
      expect(await queued('tpp-beta')).toEqual([]);
      expect(await stack.store.readRecord('tpp-beta', jti)).toBeUndefined();
    });

    it('keeps a SET leased when its ack fails in a combined ack-and-poll request: no other poll receives it within the lease', async () => {
      // Prepare: J delivered (leased for 2 s), K waiting.
      const token = await stack.token('tpp-beta');
      const client = connection('tpp-beta');
      await restorePartition(table, 'Q#tpp-beta', []);
      const sets = await queueSets('tpp-beta', 2);
      const [j, k] = [...sets.keys()] as [string, string];
      const first = await poll(client, token, { returnImmediately: true, maxEvents: 1 });
      const faults = injectFaults(stack.documentClient, { rate: 1, kinds: ['timeout'], commands: ['DeleteCommand'] });
      // Act: J's ack fails while the same request leases K; then another poll, well within J's lease.
      const failed = await poll(client, token, { returnImmediately: true, maxEvents: 1, ack: [j] }).finally(faults.stop);
      const next = await poll(client, token, { returnImmediately: true });
      client.close();
      // Assess
      expect(JSON.parse(first.body)).toEqual({ sets: { [j]: sets.get(j) }, moreAvailable: true });
      expectUnavailable(failed);
      expect(next.receivedAt - first.sentAt).toBeLessThan(LEASE_MS);
      // K may be leased by the failed request or not; J must not be handed out again.
      expect(next.status).toBe(200);
      expect([{ sets: {}, moreAvailable: false }, { sets: { [k]: sets.get(k) }, moreAvailable: false }]).toContainEqual(JSON.parse(next.body));
      expect(await queued('tpp-beta')).toEqual([j, k]);
    });

    it('answers 503 when the delete took effect but every answer was lost, and the retried ack succeeds', async () => {
      // Prepare
      const token = await stack.token('tpp-beta');
      const client = connection('tpp-beta');
      const { jti } = await deliveredSet(client, token);
      const faults = injectFaults(stack.documentClient, { rate: 1, kinds: ['timeout'], commands: ['DeleteCommand'], when: 'after' });
      // Act
      const failed = await poll(client, token, { returnImmediately: true, maxEvents: 0, ack: [jti] }).finally(faults.stop);
      const retried = await poll(client, token, { returnImmediately: true, maxEvents: 0, ack: [jti] });
      client.close();
      // Assess
      expectUnavailable(failed);
      expect(faults.injected()).toBe(3);
      expect([retried.status, retried.body]).toEqual([200, '{"sets":{},"moreAvailable":false}']);
      expect(await queued('tpp-beta')).toEqual([]);
    });

    it('answers 503 when the acks fail while the queue reads are still running, and no rejection goes unhandled', async () => {
      // Prepare: the deletes fail at once (after the SDK's retries); the reads take 500 ms.
      const token = await stack.token('tpp-beta');
      const client = connection('tpp-beta');
      const { jti } = await deliveredSet(client, token);
      const unhandled: unknown[] = [];
      const listener = (reason: unknown): void => void unhandled.push(reason);
      process.on('unhandledRejection', listener);
      const faults = injectFaults(stack.documentClient, { rate: 1, kinds: ['server'], commands: ['DeleteCommand'] });
      const slow = slowCalls(stack.documentClient, { commands: ['GetCommand', 'QueryCommand'], ms: 500 });
      // Act
      const failed = await poll(client, token, { returnImmediately: true, maxEvents: 0, ack: [jti] }).finally(() => {
        faults.stop();
        slow.stop();
      });
      await delay(50);
      process.off('unhandledRejection', listener);
      const retried = await poll(client, token, { returnImmediately: true, maxEvents: 0, ack: [jti] });
      client.close();
      // Assess
      expectUnavailable(failed);
      expect(unhandled).toEqual([]);
      expect([retried.status, retried.body]).toEqual([200, '{"sets":{},"moreAvailable":false}']);
      expect(await queued('tpp-beta')).toEqual([]);
    });

    it('answers 200 when only the first answer was lost: the SDK\'s retry finds the SET acknowledged', async () => {
      // Prepare
      const token = await stack.token('tpp-beta');
      const client = connection('tpp-beta');
      const { jti } = await deliveredSet(client, token);
      const faults = injectFaults(stack.documentClient, { rate: 1, kinds: ['timeout'], commands: ['DeleteCommand'], when: 'after', limit: 1 });
      // Act
      const res = await poll(client, token, { returnImmediately: true, maxEvents: 0, ack: [jti] }).finally(faults.stop);
      client.close();
      // Assess
      expect(faults.injected()).toBe(1);
      expect([res.status, res.body]).toEqual([200, '{"sets":{},"moreAvailable":false}']);
      expect(await queued('tpp-beta')).toEqual([]);
    });
  });
});
