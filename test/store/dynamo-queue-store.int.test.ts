import { describe, expect, it } from 'vitest';
import { createTestTable } from '../support/dynamo.ts';

const ttl = () => Math.floor(Date.now() / 1000) + 600;

describe('DynamoQueueStore', () => {
  describe('readHead', () => {
    it('reads the lease record and the first SETs in jti order in one Query, never delivery records or other queues', async () => {
      // Prepare: a lease record, three SETs, an errored record (R# sorts before the lease) and another recipient's SET.
      const { store } = await createTestTable();
      for (const jti of ['c', 'a', 'b']) await store.enqueue('alpha', { jti, set: `jws.${jti}`, ttl: ttl() });
      await store.enqueue('alpha', { jti: 'r', set: 'jws.r', ttl: ttl() });
      expect(await store.recordError('alpha', 'r', { err: 'invalid_key' }, Date.now())).toBe(true);
      await store.enqueue('beta', { jti: 'a0', set: 'jws.a0', ttl: ttl() });
      const until = Date.now() + 30_000;
      await store.writeLease('alpha', 0, new Map([['a', until]]));
      // Act
      const head = await store.readHead('alpha', 2, false);
      // Assess: Limit counts SETs only; `next` says more may follow.
      expect(head.lease).toEqual({ version: 1, entries: new Map([['a', until]]), withAcks: new Set() });
      expect(head.page.items).toEqual([
        { jti: 'a', set: 'jws.a', ttl: expect.any(Number), attempts: 0 },
        { jti: 'b', set: 'jws.b', ttl: expect.any(Number), attempts: 0 },
      ]);
      expect(head.page.next).toBeDefined();
      const rest = await store.readQueue('alpha', 10, head.page.next, true);
      expect(rest.items.map((i) => i.jti)).toEqual(['c']);
    });

    it('answers version 0 and no entries when the recipient has no lease record yet', async () => {
      const { store } = await createTestTable();
      await store.enqueue('alpha', { jti: 'a', set: 'jws.a', ttl: ttl() });
      const head = await store.readHead('alpha', 10, true);
      expect(head.lease).toEqual({ version: 0, entries: new Map(), withAcks: new Set() });
      expect(head.page.items.map((i) => i.jti)).toEqual(['a']);
      expect(head.page.next).toBeUndefined();
    });

    it('keeps the mark of SETs leased in answer to an ack request', async () => {
      const { store } = await createTestTable();
      const until = Date.now() + 30_000;
      await store.writeLease('alpha', 0, new Map([['a', until], ['b', until]]), new Set(['b']));
      const head = await store.readHead('alpha', 10, true);
      expect(head.lease).toEqual({ version: 1, entries: new Map([['a', until], ['b', until]]), withAcks: new Set(['b']) });
    });
  });

  describe('acknowledge', () => {
    it('deletes queued SETs, and the failed record of a SET no longer queued; an errored record stays', async () => {
      // Prepare: q queued; f failed; e errored by the recipient.
      const { store } = await createTestTable();
      for (const jti of ['q', 'f', 'e']) await store.enqueue('alpha', { jti, set: `jws.${jti}`, ttl: ttl() });
      expect(await store.markFailed('alpha', { jti: 'f', set: 'jws.f', ttl: ttl(), attempts: 1 }, Date.now())).toBe(true);
      expect(await store.recordError('alpha', 'e', { err: 'invalid_key' }, Date.now())).toBe(true);

      // Act
      const counts = await store.acknowledge('alpha', ['q', 'f', 'e', 'unknown']);
      const again = await store.acknowledge('alpha', ['q', 'f']);

      // Assess
      expect(counts).toEqual({ queued: 1, failed: 1 });
      expect(again).toEqual({ queued: 0, failed: 0 });
      expect((await store.readQueue('alpha', 10, undefined, true)).items).toEqual([]);
      expect(await store.readRecord('alpha', 'f')).toBeUndefined();
      expect(await store.readRecord('alpha', 'e')).toMatchObject({ state: 'errored', err: 'invalid_key' });
    });
  });
});
