import { describe, expect, it } from 'vitest';
import { Conflict, InvalidRequest, NotFound } from '../../lambdas/core/errors.ts';
import { MAX_BULK_ITEMS, type BulkOperation } from '../../lambdas/notifier/destinations.ts';
import { encodeCursor } from '../../lambdas/store/notifier-cursor.ts';
import { CREDENTIAL_CHANGE, SESSION_REVOKED, T0, failingClient, setupNotifier } from './support.ts';

const iso = (ms: number) => new Date(ms).toISOString();

describe('DestinationService', () => {
  describe('register', () => {
    it('registers a destination at version 1 with its event types, readable with get', async () => {
      // Prepare
      const { destinations } = await setupNotifier();
      // Act
      const created = await destinations.register('prov-a', { clientId: 'tpp-alpha', eventTypes: [SESSION_REVOKED] });
      // Assess
      expect(created).toEqual({ clientId: 'tpp-alpha', eventTypes: [SESSION_REVOKED], version: 1, createdAt: iso(T0), updatedAt: iso(T0) });
      expect(await destinations.get('prov-a', 'tpp-alpha')).toEqual(created);
    });

    it('registers a destination for every event type when eventTypes is omitted or null', async () => {
      const { destinations } = await setupNotifier();
      expect(await destinations.register('prov-a', { clientId: 'all-1' })).not.toHaveProperty('eventTypes');
      expect(await destinations.register('prov-a', { clientId: 'all-2', eventTypes: null })).not.toHaveProperty('eventTypes');
    });

    it('answers 409 Conflict for a clientId already registered and keeps the first', async () => {
      const { destinations } = await setupNotifier();
      await destinations.register('prov-a', { clientId: 'tpp-alpha', eventTypes: [SESSION_REVOKED] });
      const again = destinations.register('prov-a', { clientId: 'tpp-alpha' });
      await expect(again).rejects.toThrow(Conflict);
      await expect(again).rejects.toMatchObject({ code: 'conflict', statusCode: 409 });
      expect((await destinations.get('prov-a', 'tpp-alpha')).eventTypes).toEqual([SESSION_REVOKED]);
    });

    it.each([
      ['an empty clientId', { clientId: '' }],
      ['a clientId with #', { clientId: 'a#b' }],
      ['a clientId with a space', { clientId: 'a b' }],
      ['a clientId of 129 characters', { clientId: 'x'.repeat(129) }],
      ['an empty eventTypes', { clientId: 'c', eventTypes: [] }],
      ['a relative event type', { clientId: 'c', eventTypes: ['session-revoked'] }],
      ['a repeated event type', { clientId: 'c', eventTypes: [SESSION_REVOKED, SESSION_REVOKED] }],
      ['51 event types', { clientId: 'c', eventTypes: Array.from({ length: 51 }, (_, i) => `urn:example:event:${i}`) }],
      ['an event type of 257 characters', { clientId: 'c', eventTypes: [`https://e.example/${'x'.repeat(239)}`] }],
      ['an unknown member', { clientId: 'c', eventtypes: [SESSION_REVOKED] }],
    ])('answers 400 InvalidRequest for %s', async (_, input) => {
      const { destinations } = await setupNotifier();
      await expect(destinations.register('prov-a', input as never)).rejects.toThrow(InvalidRequest);
    });

    it('accepts 50 event types of 256 characters each', async () => {
      const { destinations } = await setupNotifier();
      const eventTypes = Array.from({ length: 50 }, (_, i) => `https://e.example/${String(i).padStart(2, '0')}${'x'.repeat(236)}`);
      expect(eventTypes[0]).toHaveLength(256);
      expect((await destinations.register('prov-a', { clientId: 'c', eventTypes })).eventTypes).toHaveLength(50);
    });

    it('throws TypeError for a malformed providerId (programmer misuse, not a 400)', async () => {
      const { destinations } = await setupNotifier();
      await expect(destinations.register('prov#a', { clientId: 'c' })).rejects.toThrow(TypeError);
      await expect(destinations.register('', { clientId: 'c' })).rejects.toThrow(TypeError);
    });
  });

  describe('update', () => {
    it('replaces the event types, adds 1 to the version and stamps updatedAt', async () => {
      const { destinations, clock } = await setupNotifier();
      await destinations.register('prov-a', { clientId: 'tpp-alpha', eventTypes: [SESSION_REVOKED] });
      clock.now += 5000;
      const updated = await destinations.update('prov-a', 'tpp-alpha', { eventTypes: [CREDENTIAL_CHANGE] });
      expect(updated).toEqual({ clientId: 'tpp-alpha', eventTypes: [CREDENTIAL_CHANGE], version: 2, createdAt: iso(T0), updatedAt: iso(T0 + 5000) });
      expect(await destinations.get('prov-a', 'tpp-alpha')).toEqual(updated);
    });

    it('removes the filter with eventTypes null (every type)', async () => {
      const { destinations } = await setupNotifier();
      await destinations.register('prov-a', { clientId: 'tpp-alpha', eventTypes: [SESSION_REVOKED] });
      const updated = await destinations.update('prov-a', 'tpp-alpha', { eventTypes: null });
      expect(updated).not.toHaveProperty('eventTypes');
      expect(updated.version).toBe(2);
    });

    it('applies with the current expectedVersion and answers 409 for a stale one, leaving the destination unchanged', async () => {
      const { destinations } = await setupNotifier();
      await destinations.register('prov-a', { clientId: 'tpp-alpha', eventTypes: [SESSION_REVOKED] });
      await destinations.update('prov-a', 'tpp-alpha', { eventTypes: [CREDENTIAL_CHANGE] }, 1);
      await expect(destinations.update('prov-a', 'tpp-alpha', { eventTypes: null }, 1)).rejects.toThrow(Conflict);
      expect(await destinations.get('prov-a', 'tpp-alpha')).toMatchObject({ version: 2, eventTypes: [CREDENTIAL_CHANGE] });
    });

    it('answers 404 for a missing destination, with or without expectedVersion', async () => {
      const { destinations } = await setupNotifier();
      await expect(destinations.update('prov-a', 'nobody', { eventTypes: null })).rejects.toThrow(NotFound);
      await expect(destinations.update('prov-a', 'nobody', { eventTypes: null }, 3)).rejects.toThrow(NotFound);
    });

    it('answers 400 when eventTypes is missing or expectedVersion is not a positive integer', async () => {
      const { destinations } = await setupNotifier();
      await destinations.register('prov-a', { clientId: 'tpp-alpha' });
      await expect(destinations.update('prov-a', 'tpp-alpha', {})).rejects.toThrow(InvalidRequest);
      await expect(destinations.update('prov-a', 'tpp-alpha', { eventTypes: null }, 0)).rejects.toThrow(InvalidRequest);
      await expect(destinations.update('prov-a', 'tpp-alpha', { eventTypes: null }, 1.5)).rejects.toThrow(InvalidRequest);
    });
  });

  describe('delete', () => {
    it('deletes a destination; get and a second delete then answer 404', async () => {
      const { destinations } = await setupNotifier();
      await destinations.register('prov-a', { clientId: 'tpp-alpha' });
      await destinations.delete('prov-a', 'tpp-alpha');
      await expect(destinations.get('prov-a', 'tpp-alpha')).rejects.toThrow(NotFound);
      await expect(destinations.delete('prov-a', 'tpp-alpha')).rejects.toThrow(NotFound);
    });

    it('answers 409 for a stale expectedVersion and keeps the destination; deletes with the current one', async () => {
      const { destinations } = await setupNotifier();
      await destinations.register('prov-a', { clientId: 'tpp-alpha' });
      await destinations.update('prov-a', 'tpp-alpha', { eventTypes: [SESSION_REVOKED] });
      await expect(destinations.delete('prov-a', 'tpp-alpha', 1)).rejects.toThrow(Conflict);
      expect((await destinations.get('prov-a', 'tpp-alpha')).version).toBe(2);
      await destinations.delete('prov-a', 'tpp-alpha', 2);
      await expect(destinations.get('prov-a', 'tpp-alpha')).rejects.toThrow(NotFound);
    });

    it('answers 404 for a missing destination with an expectedVersion', async () => {
      const { destinations } = await setupNotifier();
      await expect(destinations.delete('prov-a', 'nobody', 1)).rejects.toThrow(NotFound);
    });
  });

  describe('get', () => {
    it('answers 404 for a destination never registered', async () => {
      const { destinations } = await setupNotifier();
      await expect(destinations.get('prov-a', 'nobody')).rejects.toThrow(NotFound);
    });
  });

  describe('list', () => {
    it('pages through the destinations in clientId order with an opaque cursor; the last page has none', async () => {
      // Prepare: five destinations, registered out of order.
      const { destinations } = await setupNotifier();
      for (const id of ['d-3', 'd-1', 'd-5', 'd-2', 'd-4']) await destinations.register('prov-a', { clientId: id });
      // Act
      const first = await destinations.list('prov-a', { limit: 2 });
      const second = await destinations.list('prov-a', { limit: 2, cursor: first.nextCursor! });
      const third = await destinations.list('prov-a', { limit: 2, cursor: second.nextCursor! });
      // Assess
      expect(first.items.map((d) => d.clientId)).toEqual(['d-1', 'd-2']);
      expect(second.items.map((d) => d.clientId)).toEqual(['d-3', 'd-4']);
      expect(third.items.map((d) => d.clientId)).toEqual(['d-5']);
      expect(first.nextCursor).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(third).not.toHaveProperty('nextCursor');
    });

    it('gives no cursor when a page ends exactly at the last destination, and defaults to 50 per page', async () => {
      const { destinations } = await setupNotifier();
      for (const id of ['d-1', 'd-2']) await destinations.register('prov-a', { clientId: id });
      expect(await destinations.list('prov-a', { limit: 2 })).not.toHaveProperty('nextCursor');
      expect((await destinations.list('prov-a')).items).toHaveLength(2);
      expect(await destinations.list('prov-empty')).toEqual({ items: [] });
    });

    it('answers 400 for a tampered, foreign or malformed cursor and a limit outside 1-100', async () => {
      const { destinations } = await setupNotifier();
      for (const id of ['d-1', 'd-2', 'd-3']) await destinations.register('prov-a', { clientId: id });
      const { nextCursor } = await destinations.list('prov-a', { limit: 1 });
      const flipped = nextCursor!.slice(0, 5) + (nextCursor![5] === 'A' ? 'B' : 'A') + nextCursor!.slice(6);
      for (const cursor of [
        flipped,
        `${nextCursor!}x`,
        'not a cursor!',
        '',
        Buffer.from('{"pk":"P#prov-a"}').toString('base64url'),
        encodeCursor({ pk: 'P#prov-a', sk: 'N#some-notification' }),
        encodeCursor({ pk: 'P#prov-b', sk: 'D#d-1' }),
      ]) {
        await expect(destinations.list('prov-a', { limit: 1, cursor }), cursor).rejects.toThrow(InvalidRequest);
      }
      // The genuine cursor of provider A is a 400 for provider B too.
      await expect(destinations.list('prov-b', { cursor: nextCursor! })).rejects.toThrow(InvalidRequest);
      await expect(destinations.list('prov-a', { limit: 0 })).rejects.toThrow(InvalidRequest);
      await expect(destinations.list('prov-a', { limit: 101 })).rejects.toThrow(InvalidRequest);
    });
  });

  describe('ownership', () => {
    it('never shows or changes one provider’s destinations to another: 404, not 403, and separate lists', async () => {
      // Prepare
      const { destinations } = await setupNotifier();
      await destinations.register('prov-a', { clientId: 'tpp-alpha', eventTypes: [SESSION_REVOKED] });
      // Act + Assess: B sees nothing of A's destination.
      await expect(destinations.get('prov-b', 'tpp-alpha')).rejects.toThrow(NotFound);
      await expect(destinations.update('prov-b', 'tpp-alpha', { eventTypes: null })).rejects.toThrow(NotFound);
      await expect(destinations.update('prov-b', 'tpp-alpha', { eventTypes: null }, 1)).rejects.toThrow(NotFound);
      await expect(destinations.delete('prov-b', 'tpp-alpha')).rejects.toThrow(NotFound);
      expect(await destinations.list('prov-b')).toEqual({ items: [] });
      // B can register the same clientId as its own, independent destination.
      await destinations.register('prov-b', { clientId: 'tpp-alpha' });
      expect((await destinations.list('prov-b')).items.map((d) => [d.clientId, d.eventTypes])).toEqual([['tpp-alpha', undefined]]);
      expect(await destinations.get('prov-a', 'tpp-alpha')).toMatchObject({ version: 1, eventTypes: [SESSION_REVOKED] });
      // A bulk of B touches only B's items.
      const bulk = await destinations.bulk('prov-b', [{ op: 'delete', clientId: 'tpp-alpha' }, { op: 'delete', clientId: 'tpp-alpha' }]);
      expect(bulk.results.map((r) => r.status)).toEqual([204, 404]);
      expect((await destinations.list('prov-a')).items.map((d) => d.clientId)).toEqual(['tpp-alpha']);
    });
  });

  describe('bulk', () => {
    it('attempts every operation and answers each with its own status (non-atomic)', async () => {
      // Prepare
      const { destinations } = await setupNotifier();
      await destinations.register('prov-a', { clientId: 'existing' });
      await destinations.register('prov-a', { clientId: 'to-update' });
      await destinations.register('prov-a', { clientId: 'to-delete' });
      const operations = [
        { op: 'register', clientId: 'new', eventTypes: [SESSION_REVOKED] },
        { op: 'register', clientId: 'existing' },
        { op: 'update', clientId: 'to-update', eventTypes: [CREDENTIAL_CHANGE], expectedVersion: 1 },
        { op: 'update', clientId: 'missing', eventTypes: null },
        { op: 'update', clientId: 'existing', eventTypes: null, expectedVersion: 7 },
        { op: 'delete', clientId: 'to-delete' },
        { op: 'delete', clientId: 'missing' },
        { op: 'register', clientId: 'bad#id' },
        { op: 'upsert', clientId: 'x' },
        { op: 'update', clientId: 'existing' },
      ] as BulkOperation[];
      // Act
      const out = await destinations.bulk('prov-a', operations);
      // Assess
      expect(out.results.map((r) => [r.index, r.clientId, r.ok, r.status])).toEqual([
        [0, 'new', true, 201],
        [1, 'existing', false, 409],
        [2, 'to-update', true, 200],
        [3, 'missing', false, 404],
        [4, 'existing', false, 409],
        [5, 'to-delete', true, 204],
        [6, 'missing', false, 404],
        [7, 'bad#id', false, 400],
        [8, 'x', false, 400],
        [9, 'existing', false, 400],
      ]);
      expect(out.results[0]!.destination).toMatchObject({ clientId: 'new', version: 1, eventTypes: [SESSION_REVOKED] });
      expect(out.results[2]!.destination).toMatchObject({ clientId: 'to-update', version: 2, eventTypes: [CREDENTIAL_CHANGE] });
      expect(out.results[1]!.error).toEqual({ err: 'conflict', description: expect.any(String) });
      expect(out.results[3]!.error?.err).toBe('not_found');
      expect(out.results[7]!.error?.err).toBe('invalid_request');
      expect(out).toMatchObject({ atomic: false, applied: true, totals: { succeeded: 3, failed: 7 } });
      expect((await destinations.list('prov-a')).items.map((d) => d.clientId)).toEqual(['existing', 'new', 'to-update']);
    });

    it('runs operations on one destination in the order given', async () => {
      const { destinations } = await setupNotifier();
      const out = await destinations.bulk('prov-a', [
        { op: 'register', clientId: 'x' },
        { op: 'update', clientId: 'x', eventTypes: [SESSION_REVOKED], expectedVersion: 1 },
        { op: 'update', clientId: 'x', eventTypes: null, expectedVersion: 2 },
        { op: 'delete', clientId: 'x', expectedVersion: 3 },
        { op: 'register', clientId: 'x', eventTypes: [CREDENTIAL_CHANGE] },
      ]);
      expect(out.results.map((r) => r.status)).toEqual([201, 200, 200, 204, 201]);
      expect(await destinations.get('prov-a', 'x')).toMatchObject({ version: 1, eventTypes: [CREDENTIAL_CHANGE] });
    });

    it(`accepts ${MAX_BULK_ITEMS} operations and answers 400 for ${MAX_BULK_ITEMS + 1} or none`, async () => {
      const { destinations } = await setupNotifier();
      const ops = (n: number): BulkOperation[] => Array.from({ length: n }, (_, i) => ({ op: 'register', clientId: `d-${String(i).padStart(3, '0')}` }));
      await expect(destinations.bulk('prov-a', ops(MAX_BULK_ITEMS + 1))).rejects.toThrow(InvalidRequest);
      await expect(destinations.bulk('prov-a', ops(MAX_BULK_ITEMS + 1), { atomic: true })).rejects.toThrow(InvalidRequest);
      await expect(destinations.bulk('prov-a', [])).rejects.toThrow(InvalidRequest);
      expect(await destinations.list('prov-a')).toEqual({ items: [] });
      const out = await destinations.bulk('prov-a', ops(MAX_BULK_ITEMS), { atomic: true });
      expect(out).toMatchObject({ applied: true, totals: { succeeded: MAX_BULK_ITEMS, failed: 0 } });
    });

    it('reports a dependency failure on one item as 503 and still applies and reports the others', async () => {
      // Prepare: every DynamoDB call about "flaky" fails with a 5xx.
      const { destinations } = await setupNotifier({
        wrapClient: (client) => failingClient(client, (input) => JSON.stringify(input).includes('D#flaky')),
      });
      // Act
      const out = await destinations.bulk('prov-a', [
        { op: 'register', clientId: 'steady-1' },
        { op: 'register', clientId: 'flaky' },
        { op: 'register', clientId: 'steady-2' },
      ]);
      // Assess
      expect(out.results.map((r) => [r.clientId, r.ok, r.status])).toEqual([
        ['steady-1', true, 201],
        ['flaky', false, 503],
        ['steady-2', true, 201],
      ]);
      expect(out.results[1]!.error?.err).toBe('temporarily_unavailable');
      expect((await destinations.list('prov-a')).items.map((d) => d.clientId)).toEqual(['steady-1', 'steady-2']);
    });

    describe('atomic', () => {
      it('applies every operation in one transaction', async () => {
        const { destinations } = await setupNotifier();
        await destinations.register('prov-a', { clientId: 'to-update' });
        await destinations.register('prov-a', { clientId: 'to-delete' });
        const out = await destinations.bulk(
          'prov-a',
          [
            { op: 'register', clientId: 'new', eventTypes: [SESSION_REVOKED] },
            { op: 'update', clientId: 'to-update', eventTypes: [CREDENTIAL_CHANGE], expectedVersion: 1 },
            { op: 'delete', clientId: 'to-delete', expectedVersion: 1 },
          ],
          { atomic: true },
        );
        expect(out).toMatchObject({ atomic: true, applied: true, totals: { succeeded: 3, failed: 0 } });
        expect(out.results.map((r) => r.status)).toEqual([201, 200, 204]);
        expect(out.results[1]!.destination).toEqual(await destinations.get('prov-a', 'to-update'));
        expect(out.results[1]!.destination).toMatchObject({ version: 2, eventTypes: [CREDENTIAL_CHANGE] });
        expect((await destinations.list('prov-a')).items.map((d) => d.clientId)).toEqual(['new', 'to-update']);
      });

      it.each([
        ['a duplicate register', { op: 'register', clientId: 'existing' }, 409],
        ['a stale update', { op: 'update', clientId: 'existing', eventTypes: null, expectedVersion: 9 }, 409],
        ['an update of a missing destination', { op: 'update', clientId: 'missing', eventTypes: null }, 404],
        ['a delete of a missing destination', { op: 'delete', clientId: 'missing' }, 404],
        ['a stale delete', { op: 'delete', clientId: 'existing', expectedVersion: 2 }, 409],
        ['an invalid operation', { op: 'register', clientId: 'bad id' }, 400],
      ] as const)('applies nothing when one operation fails (%s): it says why, the others answer 424', async (_, failing, status) => {
        // Prepare
        const { destinations } = await setupNotifier();
        await destinations.register('prov-a', { clientId: 'existing', eventTypes: [SESSION_REVOKED] });
        await destinations.register('prov-a', { clientId: 'doomed' });
        const before = (await destinations.list('prov-a')).items;
        // Act
        const out = await destinations.bulk(
          'prov-a',
          [
            { op: 'register', clientId: 'new-1' },
            { op: 'delete', clientId: 'doomed' },
            failing as BulkOperation,
            { op: 'register', clientId: 'new-2', eventTypes: [CREDENTIAL_CHANGE] },
          ],
          { atomic: true },
        );
        // Assess
        expect(out).toMatchObject({ atomic: true, applied: false, totals: { succeeded: 0, failed: 4 } });
        expect(out.results.map((r) => r.status)).toEqual([424, 424, status, 424]);
        expect(out.results[0]!.error?.err).toBe('not_applied');
        expect(out.results.every((r) => !r.ok && r.destination === undefined)).toBe(true);
        expect((await destinations.list('prov-a')).items).toEqual(before);
      });

      it('answers 400 for a clientId named twice, applying nothing', async () => {
        const { destinations } = await setupNotifier();
        const out = await destinations.bulk(
          'prov-a',
          [
            { op: 'register', clientId: 'x' },
            { op: 'update', clientId: 'x', eventTypes: null },
          ],
          { atomic: true },
        );
        expect(out.results.map((r) => r.status)).toEqual([424, 400]);
        expect(await destinations.list('prov-a')).toEqual({ items: [] });
      });
    });
  });
});
