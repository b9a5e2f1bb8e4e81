import { describe, expect, it } from 'vitest';
import { PollService } from '../../lambdas/core/poll-service.ts';
import { parsePollRequest } from '../../lambdas/core/poll-request.ts';
import { DEFAULT_SETTINGS, type PollSettings } from '../../lambdas/core/settings.ts';
import { uuidv7 } from '../../lambdas/producer/uuidv7.ts';
import { DynamoQueueStore } from '../../lambdas/store/dynamo-queue-store.ts';
import { createTestTable } from '../support/dynamo.ts';

/** Near the real time: DynamoDB Local's TTL sweeper may delete items whose `ttl` is in the real past. */
const T0 = Math.floor(Date.now() / 1000) * 1000;

/** A store on a fresh table, a movable clock, and a service over both. */
async function setup(overrides: Partial<PollSettings> = {}) {
  const table = await createTestTable();
  const clock = { now: T0 };
  const settings: PollSettings = { ...DEFAULT_SETTINGS, longPollSeconds: 1, ...overrides };
  const service = new PollService({ store: table.store, settings, now: () => clock.now });
  /** Queues SETs; a queue is read in jti order. */
  const enqueue = async (clientId: string, jtis: string[], ttlSeconds = 3600) => {
    for (const jti of jtis) {
      await table.store.enqueue(clientId, { jti, set: `jws.${jti}.sig`, ttl: Math.floor(clock.now / 1000) + ttlSeconds });
    }
  };
  const poll = (clientId: string, body: unknown, lang?: string) =>
    service.poll(clientId, parsePollRequest(body), lang ? { lang } : {});
  return { ...table, clock, service, enqueue, poll, settings };
}

const jtis = (n: number, prefix = 'j') => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, '0')}`);

describe('PollService', () => {
  describe('poll (RFC 8936 §2.4.1 poll-only)', () => {
    it('returns queued SETs oldest first, keyed by jti, with moreAvailable false when none remain', async () => {
      // Prepare: setpoll's jtis are UUIDv7; queue them out of order.
      const { enqueue, poll } = await setup();
      const [oldest, middle, newest] = [T0 - 5000, T0 - 10, T0 - 9].map((t) => uuidv7(t)) as [string, string, string];
      await enqueue('alpha', [newest, oldest, middle]);
      // Act
      const out = await poll('alpha', { returnImmediately: true });
      // Assess
      expect(Object.keys(out.sets)).toEqual([oldest, middle, newest]);
      expect(out.sets[oldest]).toBe(`jws.${oldest}.sig`);
      expect(out.moreAvailable).toBe(false);
    });

    it('honours maxEvents and says moreAvailable exactly when deliverable SETs remain', async () => {
      const { enqueue, poll } = await setup();
      await enqueue('alpha', jtis(3));
      const first = await poll('alpha', { returnImmediately: true, maxEvents: 2 });
      expect(Object.keys(first.sets)).toEqual(['j0000', 'j0001']);
      expect(first.moreAvailable).toBe(true);
      const second = await poll('alpha', { returnImmediately: true, maxEvents: 2 });
      expect(Object.keys(second.sets)).toEqual(['j0002']);
      expect(second.moreAvailable).toBe(false);
    });

    it('caps an omitted or oversized maxEvents at the server maximum', async () => {
      const { enqueue, poll } = await setup({ maxEvents: 5, maxInFlight: 50 });
      await enqueue('alpha', jtis(12));
      const omitted = await poll('alpha', { returnImmediately: true });
      expect(Object.keys(omitted.sets)).toHaveLength(5);
      expect(omitted.moreAvailable).toBe(true);
      const oversized = await poll('alpha', { returnImmediately: true, maxEvents: 1_000_000 });
      expect(Object.keys(oversized.sets)).toEqual(jtis(10).slice(5));
      expect(oversized.moreAvailable).toBe(true);
    });

    it('caps the response by size and reports the rest as moreAvailable', async () => {
      const { enqueue, poll } = await setup({ maxResponseBytes: 40 });
      await enqueue('alpha', jtis(3));
      const out = await poll('alpha', { returnImmediately: true });
      // Each entry is jti (5) + "jws.j000N.sig" (13) + 8 bytes of JSON punctuation = 26.
      expect(Object.keys(out.sets)).toEqual(['j0000']);
      expect(out.moreAvailable).toBe(true);
    });

    it('answers {} with no SETs and moreAvailable false on an empty queue', async () => {
      const { poll } = await setup();
      const out = await poll('alpha', { returnImmediately: true });
      expect(out.sets).toEqual({});
      expect(out.moreAvailable).toBe(false);
    });
  });

  describe('poll (RFC 8936 §2.4.2 acknowledge-only)', () => {
    it('maxEvents 0 deletes the acked SETs, returns none, and reports what remains', async () => {
      const { enqueue, poll, store } = await setup();
      await enqueue('alpha', jtis(3));
      await poll('alpha', { returnImmediately: true, maxEvents: 2 });
      const out = await poll('alpha', { returnImmediately: true, maxEvents: 0, ack: ['j0000', 'j0001'] });
      expect(out.sets).toEqual({});
      expect(out.moreAvailable).toBe(true);
      expect(out.stats.acked).toBe(2);
      const page = await store.readQueue('alpha', 10);
      expect(page.items.map((i) => i.jti)).toEqual(['j0002']);
    });

    it('frees the in-flight slots of the SETs it acks, so poll-only and ack-only can alternate', async () => {
      // Prepare: an in-flight cap of 3 that poll-only/ack-only cycles would exhaust if acks left leases behind.
      const { enqueue, poll, store } = await setup({ maxEvents: 3, maxInFlight: 3 });
      await enqueue('alpha', jtis(12));
      // Act
      const delivered: string[] = [];
      for (let cycle = 0; cycle < 4; cycle++) {
        const got = Object.keys((await poll('alpha', { returnImmediately: true })).sets);
        delivered.push(...got);
        await poll('alpha', { returnImmediately: true, maxEvents: 0, ack: got });
      }
      // Assess
      expect(delivered).toEqual(jtis(12));
      expect((await store.readLease('alpha', true)).entries.size).toBe(0);
    });

    it('acking an unknown or already acked jti is a silent success', async () => {
      const { enqueue, poll } = await setup();
      await enqueue('alpha', ['a']);
      await poll('alpha', { returnImmediately: true });
      await poll('alpha', { returnImmediately: true, maxEvents: 0, ack: ['a'] });
      const again = await poll('alpha', { returnImmediately: true, maxEvents: 0, ack: ['a', 'never-queued'] });
      expect(again).toEqual({ sets: {}, moreAvailable: false, stats: expect.objectContaining({ acked: 0 }) });
    });
  });

  describe('poll (RFC 8936 §2.4.3 combined acknowledge and poll)', () => {
    it('applies acks first and never returns a SET acked in the same request', async () => {
      // Prepare: deliver a, let its lease run out, so it would be deliverable again.
      const { enqueue, poll, clock, settings } = await setup();
      await enqueue('alpha', ['a', 'b']);
      await poll('alpha', { returnImmediately: true, maxEvents: 1 });
      clock.now += settings.leaseSeconds * 1000 + 1;
      // Act
      const out = await poll('alpha', { returnImmediately: true, ack: ['a'] });
      // Assess
      expect(out.sets).toEqual({ b: 'jws.b.sig' });
      expect(out.stats.acked).toBe(1);
      const after = await poll('alpha', { returnImmediately: true });
      expect(after.sets).toEqual({});
    });

    it('honours an ack that arrives after the lease ran out', async () => {
      const { enqueue, poll, clock, settings, store } = await setup();
      await enqueue('alpha', ['a']);
      await poll('alpha', { returnImmediately: true });
      clock.now += settings.leaseSeconds * 1000 * 3;
      const out = await poll('alpha', { returnImmediately: true, maxEvents: 0, ack: ['a'] });
      expect(out).toMatchObject({ sets: {}, moreAvailable: false, stats: { acked: 1 } });
      expect((await store.readQueue('alpha', 10)).items).toEqual([]);
    });
  });

  describe('poll (RFC 8936 §2.4.4 setErrs)', () => {
    it('stores err, description and Content-Language on a readable record and stops delivery', async () => {
      const { enqueue, poll, store, clock, settings } = await setup();
      await enqueue('alpha', ['bad', 'good']);
      await poll('alpha', { returnImmediately: true });
      const out = await poll(
        'alpha',
        { returnImmediately: true, ack: ['good'], setErrs: { bad: { err: 'authentication_failed', description: 'The SET could not be authenticated' } } },
        'en-US',
      );
      expect(out.stats).toMatchObject({ acked: 1, errored: 1 });
      const record = await store.readRecord('alpha', 'bad');
      expect(record).toEqual({
        jti: 'bad',
        state: 'errored',
        err: 'authentication_failed',
        description: 'The SET could not be authenticated',
        lang: 'en-US',
        attempts: 0,
        at: clock.now,
        set: 'jws.bad.sig',
        ttl: Math.floor(T0 / 1000) + 3600,
      });
      clock.now += settings.leaseSeconds * 1000 + 1;
      expect((await poll('alpha', { returnImmediately: true })).sets).toEqual({});
    });

    it('accepts setErrs without Content-Language', async () => {
      const { enqueue, poll, store } = await setup();
      await enqueue('alpha', ['bad']);
      await poll('alpha', { returnImmediately: true });
      await poll('alpha', { returnImmediately: true, setErrs: { bad: { err: 'invalid_key' } } });
      expect(await store.readRecord('alpha', 'bad')).toMatchObject({ state: 'errored', err: 'invalid_key' });
      expect((await store.readRecord('alpha', 'bad'))?.lang).toBeUndefined();
    });
  });

  describe('redelivery (RFC 8936 §2.4.1, server policy)', () => {
    it('withholds a delivered SET for the lease and delivers it again after', async () => {
      const { enqueue, poll, clock, settings } = await setup();
      await enqueue('alpha', ['a']);
      expect((await poll('alpha', { returnImmediately: true })).sets).toEqual({ a: 'jws.a.sig' });
      clock.now += settings.leaseSeconds * 1000 - 1;
      expect(await poll('alpha', { returnImmediately: true })).toMatchObject({ sets: {}, moreAvailable: false });
      clock.now += 2;
      expect((await poll('alpha', { returnImmediately: true })).sets).toEqual({ a: 'jws.a.sig' });
    });

    it('moves a SET out of attempts to a failed record instead of dropping it (maxDeliveryAttempts 1)', async () => {
      const { enqueue, poll, store, clock, settings } = await setup({ maxDeliveryAttempts: 1 });
      await enqueue('alpha', ['a']);
      expect((await poll('alpha', { returnImmediately: true })).sets).toEqual({ a: 'jws.a.sig' });
      clock.now += settings.leaseSeconds * 1000 + 1;
      const out = await poll('alpha', { returnImmediately: true });
      expect(out).toMatchObject({ sets: {}, moreAvailable: false, stats: { failed: 1 } });
      expect(await store.readRecord('alpha', 'a')).toMatchObject({ state: 'failed', attempts: 1, set: 'jws.a.sig' });
      expect((await store.readQueue('alpha', 10)).items).toEqual([]);
    });

    it('honours a late ack after the SET became failed: the failed record goes (docs "an ack is honoured whenever it arrives")', async () => {
      // Prepare: a delivered once, then failed; b errored by the recipient.
      const { enqueue, poll, store, clock, settings } = await setup({ maxDeliveryAttempts: 1 });
      await enqueue('alpha', ['a', 'b']);
      await poll('alpha', { returnImmediately: true });
      await poll('alpha', { returnImmediately: true, setErrs: { b: { err: 'invalid_key' } } });
      clock.now += settings.leaseSeconds * 1000 + 1;
      expect((await poll('alpha', { returnImmediately: true })).stats.failed).toBe(1);
      expect(await store.readRecord('alpha', 'a')).toMatchObject({ state: 'failed' });

      // Act: the recipient's ack comes after all, and one for b, which it had reported as errored.
      const out = await poll('alpha', { returnImmediately: true, ack: ['a', 'b'] });
      const again = await poll('alpha', { returnImmediately: true, ack: ['a'] });

      // Assess: the failed record is gone and counted once; the recipient's own error report stays.
      expect(out).toMatchObject({ sets: {}, moreAvailable: false, stats: { acked: 1 } });
      expect(again.stats.acked).toBe(0);
      expect(await store.readRecord('alpha', 'a')).toBeUndefined();
      expect(await store.readRecord('alpha', 'b')).toMatchObject({ state: 'errored', err: 'invalid_key' });
      expect((await store.readQueue('alpha', 10)).items).toEqual([]);
    });

    it('counts attempts up to the limit (maxDeliveryAttempts 3)', async () => {
      const { enqueue, poll, store, clock, settings } = await setup({ maxDeliveryAttempts: 3 });
      await enqueue('alpha', ['a']);
      for (let i = 0; i < 3; i++) {
        expect((await poll('alpha', { returnImmediately: true })).sets).toEqual({ a: 'jws.a.sig' });
        clock.now += settings.leaseSeconds * 1000 + 1;
      }
      expect((await poll('alpha', { returnImmediately: true })).sets).toEqual({});
      expect(await store.readRecord('alpha', 'a')).toMatchObject({ state: 'failed', attempts: 3 });
    });

    it('stops leasing beyond maxInFlight unacked SETs', async () => {
      const { enqueue, poll } = await setup({ maxEvents: 2, maxInFlight: 3 });
      await enqueue('alpha', jtis(5));
      expect(Object.keys((await poll('alpha', { returnImmediately: true })).sets)).toHaveLength(2);
      expect(Object.keys((await poll('alpha', { returnImmediately: true })).sets)).toHaveLength(1);
      expect((await poll('alpha', { returnImmediately: true })).sets).toEqual({});
      expect(Object.keys((await poll('alpha', { returnImmediately: true, ack: ['j0000', 'j0001'] })).sets)).toEqual(['j0003', 'j0004']);
    });
  });

  describe('errored SETs, the OB reading (erroredSets: redeliver)', () => {
    it('keeps a reported SET queued with the error on it, withholds it for a lease, then delivers it again', async () => {
      // Prepare
      const { enqueue, poll, store, clock, settings } = await setup({ erroredSets: 'redeliver', maxDeliveryAttempts: 3 });
      await enqueue('alpha', ['a', 'b']);
      await poll('alpha', { returnImmediately: true });

      // Act
      const reported = await poll('alpha', { returnImmediately: true, setErrs: { a: { err: 'invalid_key', description: 'Unknown kid' } } }, 'en');
      const withheld = await poll('alpha', { returnImmediately: true });
      clock.now += settings.leaseSeconds * 1000 + 1;
      const again = await poll('alpha', { returnImmediately: true, ack: ['b'] });

      // Assess: no errored record; the SET is queued with the report and comes back after the lease.
      expect(reported).toMatchObject({ sets: {}, moreAvailable: false, stats: { errored: 1 } });
      expect(withheld.sets).toEqual({});
      expect(await store.readRecord('alpha', 'a')).toBeUndefined();
      expect(again.sets).toEqual({ a: 'jws.a.sig' });
      expect((await store.readQueue('alpha', 10, undefined, true)).items).toEqual([
        { jti: 'a', set: 'jws.a.sig', ttl: expect.any(Number), attempts: 2, error: { err: 'invalid_key', description: 'Unknown kid', lang: 'en' } },
      ]);
    });

    it('is bounded by maxDeliveryAttempts: the SET then moves to failed, carrying the last report', async () => {
      // Prepare
      const { enqueue, poll, store, clock, settings } = await setup({ erroredSets: 'redeliver', maxDeliveryAttempts: 2 });
      await enqueue('alpha', ['a']);

      // Act: delivered twice, reported twice (the second report replaces the first whole).
      await poll('alpha', { returnImmediately: true });
      await poll('alpha', { returnImmediately: true, setErrs: { a: { err: 'invalid_key', description: 'Unknown kid' } } });
      clock.now += settings.leaseSeconds * 1000 + 1;
      expect((await poll('alpha', { returnImmediately: true })).sets).toEqual({ a: 'jws.a.sig' });
      await poll('alpha', { returnImmediately: true, setErrs: { a: { err: 'invalid_issuer' } } });
      clock.now += settings.leaseSeconds * 1000 + 1;
      const last = await poll('alpha', { returnImmediately: true });

      // Assess
      expect(last).toMatchObject({ sets: {}, moreAvailable: false, stats: { failed: 1 } });
      const record = await store.readRecord('alpha', 'a');
      expect(record).toMatchObject({ state: 'failed', attempts: 2, err: 'invalid_issuer', set: 'jws.a.sig' });
      expect(record).not.toHaveProperty('description');
      expect((await store.readQueue('alpha', 10, undefined, true)).items).toEqual([]);
    });

    it('a later ack removes the errored SET for good', async () => {
      const { enqueue, poll, store, clock, settings } = await setup({ erroredSets: 'redeliver', maxDeliveryAttempts: 5 });
      await enqueue('alpha', ['a']);
      await poll('alpha', { returnImmediately: true });
      await poll('alpha', { returnImmediately: true, setErrs: { a: { err: 'invalid_key' } } });
      const acked = await poll('alpha', { returnImmediately: true, ack: ['a'] });
      clock.now += settings.leaseSeconds * 1000 + 1;
      expect(acked.stats.acked).toBe(1);
      expect((await poll('alpha', { returnImmediately: true })).sets).toEqual({});
      expect(await store.readRecord('alpha', 'a')).toBeUndefined();
    });

    it('the default stays RFC 8936: a report is final and the SET leaves the queue', async () => {
      const { enqueue, poll, store, settings } = await setup();
      expect(settings.erroredSets).toBe('final');
      await enqueue('alpha', ['a']);
      await poll('alpha', { returnImmediately: true, setErrs: { a: { err: 'invalid_key' } } });
      expect(await store.readRecord('alpha', 'a')).toMatchObject({ state: 'errored' });
      expect((await store.readQueue('alpha', 10, undefined, true)).items).toEqual([]);
    });
  });

  describe('concurrency', () => {
    it('4 parallel pollers on one recipient receive each of 200 SETs exactly once within the lease', async () => {
      const { enqueue, service, settings } = await setup({ maxEvents: 10, leaseSeconds: 300 });
      const all = jtis(200);
      await enqueue('alpha', all);
      const seen: string[] = [];
      const poller = async () => {
        for (let idle = 0; idle < 3; ) {
          const out = await service.poll('alpha', parsePollRequest({ returnImmediately: true }));
          const got = Object.keys(out.sets);
          seen.push(...got);
          idle = got.length === 0 && !out.moreAvailable ? idle + 1 : 0;
        }
      };
      await Promise.all([poller(), poller(), poller(), poller()]);
      expect(seen).toHaveLength(200);
      expect(new Set(seen).size).toBe(200);
      expect(seen.sort()).toEqual(all);
      expect(settings.leaseSeconds).toBe(300);
    });
  });

  describe('producer-chosen jtis', () => {
    it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty', 'a#b', 'ü-ünïcode'])('delivers, leases and acks a SET whose jti is %j', async (jti) => {
      const { enqueue, poll, store } = await setup();
      await enqueue('alpha', ['ordinary', jti]);
      const first = await poll('alpha', { returnImmediately: true });
      expect(Object.entries(first.sets).sort()).toEqual([[jti, `jws.${jti}.sig`], ['ordinary', 'jws.ordinary.sig']].sort());
      expect(JSON.parse(JSON.stringify(first.sets))).toEqual(first.sets);
      expect([...(await store.readLease('alpha', true)).entries.keys()].sort()).toEqual([jti, 'ordinary'].sort());
      expect((await poll('alpha', { returnImmediately: true })).sets).toEqual({});
      const acked = await poll('alpha', { returnImmediately: true, maxEvents: 0, ack: [jti, 'ordinary'] });
      expect(acked.stats.acked).toBe(2);
    });
  });

  describe('stats', () => {
    it('counts redelivered and expired SETs, and samples the age of the oldest queued SET', async () => {
      // Prepare: two UUIDv7 SETs made 5 s and 10 ms ago, one that expires in 30 s.
      const { enqueue, poll, clock, settings } = await setup();
      const [old, recent] = [uuidv7(T0 - 5000), uuidv7(T0 - 10)] as [string, string];
      await enqueue('alpha', [old, recent]);
      await enqueue('alpha', ['zz-short'], 30);
      // Act: deliver; let the leases and the short TTL run out; deliver again.
      const first = await poll('alpha', { returnImmediately: true, maxEvents: 2 });
      clock.now += settings.leaseSeconds * 1000 + 1000;
      const second = await poll('alpha', { returnImmediately: true });
      // Assess
      expect(first.stats).toMatchObject({ delivered: 2, redelivered: 0, expired: 0, oldestAgeMs: 5000 });
      expect(Object.keys(second.sets)).toEqual([old, recent]);
      expect(second.stats).toMatchObject({ delivered: 2, redelivered: 2, expired: 1, oldestAgeMs: 5000 + settings.leaseSeconds * 1000 + 1000 });
    });

    it('leaves oldestAgeMs out when the oldest jti is not a UUIDv7', async () => {
      const { enqueue, poll } = await setup();
      await enqueue('alpha', ['a-producer-jti']);
      const out = await poll('alpha', { returnImmediately: true });
      expect(out.stats.delivered).toBe(1);
      expect('oldestAgeMs' in out.stats).toBe(false);
    });
  });

  describe('races with acks', () => {
    /** Holds one readHead's answer until released: injects the timing, the store itself is real. */
    class GatedStore extends DynamoQueueStore {
      gate: Promise<void> | undefined;
      override async readHead(clientId: string, limit: number, consistent: boolean) {
        const gate = this.gate;
        this.gate = undefined;
        const head = await super.readHead(clientId, limit, consistent);
        if (gate) await gate;
        return head;
      }
    }

    it('never delivers a SET acked by another request after this poll read the queue', async () => {
      // Prepare: x is leased for 30 s to one poll; the racing poll's clock is past that lease, so
      // its read (taken before the ack) shows x as deliverable.
      const table = await createTestTable();
      const settings = { ...DEFAULT_SETTINGS, longPollSeconds: 0, leaseSeconds: 30 };
      const plain = new PollService({ store: table.store, settings });
      const gated = new GatedStore({ client: table.client, tableName: table.tableName });
      const racing = new PollService({ store: gated, settings, now: () => Date.now() + 31_000 });
      await table.store.enqueue('alpha', { jti: 'x', set: 'jws.x', ttl: Math.floor(Date.now() / 1000) + 120 });
      expect((await plain.poll('alpha', parsePollRequest({ returnImmediately: true }))).sets).toEqual({ x: 'jws.x' });
      // Act: the racing poll reads, then x is acked (deleted and dropped from the lease record).
      let release!: () => void;
      gated.gate = new Promise((r) => (release = r));
      const pending = racing.poll('alpha', parsePollRequest({ returnImmediately: true }));
      await new Promise((r) => setTimeout(r, 50));
      const ack = await plain.poll('alpha', parsePollRequest({ returnImmediately: true, maxEvents: 0, ack: ['x'] }));
      release();
      const out = await pending;
      // Assess: the racing poll's lease write lost to the ack's, and its strongly consistent re-read found nothing.
      expect(ack.stats.acked).toBe(1);
      expect(out.sets).toEqual({});
      expect(out.moreAvailable).toBe(false);
      expect(out.stats.conflicts).toBe(1);
    });
  });

  describe('eviction', () => {
    it('never delivers a SET past its expiry, even before TTL deletion', async () => {
      const { enqueue, poll, clock, store } = await setup();
      await enqueue('alpha', ['short'], 30);
      await enqueue('alpha', ['long'], 3600);
      clock.now += 30_000;
      // Expired by the service's clock, but its ttl is still in the real future: DynamoDB keeps it.
      expect((await store.readQueue('alpha', 10)).items.map((i) => i.jti)).toEqual(['long', 'short']);
      const out = await poll('alpha', { returnImmediately: true });
      expect(out.sets).toEqual({ long: 'jws.long.sig' });
      expect(out.moreAvailable).toBe(false);
    });
  });

  describe('isolation', () => {
    it('a recipient cannot read, ack or report errors on another recipient\'s SETs', async () => {
      const { enqueue, poll, store } = await setup();
      await enqueue('beta', ['b1', 'b2']);
      await enqueue('alpha', ['a1']);
      expect((await poll('alpha', { returnImmediately: true })).sets).toEqual({ a1: 'jws.a1.sig' });
      const out = await poll('alpha', { returnImmediately: true, ack: ['b1'], setErrs: { b2: { err: 'invalid_issuer' } } });
      expect(out).toMatchObject({ sets: {}, stats: { acked: 0, errored: 0 } });
      expect((await store.readQueue('beta', 10)).items.map((i) => i.jti)).toEqual(['b1', 'b2']);
      expect(await store.readRecord('beta', 'b2')).toBeUndefined();
      expect(Object.keys((await poll('beta', { returnImmediately: true })).sets)).toEqual(['b1', 'b2']);
    });
  });

  describe('long polling (RFC 8936 §2.4, RFC 6202)', () => {
    it('waits out the configured wait on an empty queue, then answers with no SETs', async () => {
      const table = await createTestTable();
      const service = new PollService({ store: table.store, settings: { ...DEFAULT_SETTINGS, longPollSeconds: 1 } });
      // A first read opens the connection, so the timed poll measures the wait and not a cold start.
      await service.poll('alpha', parsePollRequest({ returnImmediately: true }));
      const started = performance.now();
      const out = await service.poll('alpha', parsePollRequest({}));
      const waited = performance.now() - started;
      expect(out).toMatchObject({ sets: {}, moreAvailable: false });
      // RFC 8936 §2.5: never before the timeout interval has elapsed; then one read, not another round.
      expect(waited).toBeGreaterThanOrEqual(1000);
      expect(waited).toBeLessThan(1500);
      expect(out.stats.waits).toBeGreaterThanOrEqual(3);
      // Bounded re-reads: the back-off keeps a 1 s wait to a handful of reads.
      expect(out.stats.waits).toBeLessThanOrEqual(6);
    });

    it('reads once more at the deadline: a SET enqueued in the last round is delivered, not left for the next poll', async () => {
      // Prepare: a 2.2 s wait re-reads at 0.1, 0.3, 0.7 and 1.4 s, then sleeps out the 0.8 s left
      // (less than a 1 s round) and reads at the deadline. The SET arrives in that last sleep.
      const table = await createTestTable();
      const service = new PollService({ store: table.store, settings: { ...DEFAULT_SETTINGS, longPollSeconds: 2.2 } });
      const started = performance.now();
      const pending = service.poll('alpha', parsePollRequest({}));
      await new Promise((r) => setTimeout(r, 1900));

      // Act
      await table.store.enqueue('alpha', { jti: 'last', set: 'jws.last', ttl: Math.floor(Date.now() / 1000) + 60 });
      const out = await pending;

      // Assess
      expect(out.sets).toEqual({ last: 'jws.last' });
      // Five reads on an idle machine; on a loaded one a delayed earlier read may already see the SET.
      expect(out.stats.waits).toBeGreaterThanOrEqual(4);
      expect(performance.now() - started).toBeGreaterThanOrEqual(2200);
    });

    it('returns a SET enqueued during the wait within about a second', async () => {
      const table = await createTestTable();
      const service = new PollService({ store: table.store, settings: { ...DEFAULT_SETTINGS, longPollSeconds: 10 } });
      const started = performance.now();
      const pending = service.poll('alpha', parsePollRequest({ returnImmediately: false }));
      await new Promise((r) => setTimeout(r, 1500));
      await table.store.enqueue('alpha', { jti: 'late', set: 'jws.late', ttl: Math.floor(Date.now() / 1000) + 60 });
      const enqueuedAt = performance.now();
      const out = await pending;
      expect(out.sets).toEqual({ late: 'jws.late' });
      expect(performance.now() - enqueuedAt).toBeLessThan(1500);
      expect(performance.now() - started).toBeLessThan(5000);
    });

    it('an ack-only long poll waits until a SET is ready, then returns none (§2.4.2)', async () => {
      const table = await createTestTable();
      const service = new PollService({ store: table.store, settings: { ...DEFAULT_SETTINGS, longPollSeconds: 10 } });
      const pending = service.poll('alpha', parsePollRequest({ maxEvents: 0, ack: ['x'] }));
      await new Promise((r) => setTimeout(r, 500));
      await table.store.enqueue('alpha', { jti: 'ready', set: 'jws.ready', ttl: Math.floor(Date.now() / 1000) + 60 });
      expect(await pending).toMatchObject({ sets: {}, moreAvailable: true });
    });
  });
});
