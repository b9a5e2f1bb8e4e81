/**
 * Operators' reads and writes of one recipient's queue (`setpoll queue ...`): the backlog, the
 * delivery records, purging the queued SETs and replaying delivery records into the queue.
 *
 * Nothing here is on the poll path, and none of it returns a SET's contents unless asked
 * (`listRecords(..., { withSets: true })`): SETs are sensitive.
 *
 * Cost: counting a queue reads every item of it (a Query is billed on the size of the items it
 * reads, whatever it returns or projects): about 0.5 read unit per 4 KB, i.e. ~125 read units per
 * 1,000 SETs of 1 KB, in pages of 1 MB. Each result says what it consumed (`readUnits`).
 *
 * What each command answers is declared in queue-admin-results.ts. Over 350 lines on purpose: the four
 * operator commands share one paging (paginateQuery) and batching core.
 */
import { TransactionCanceledException, type ConsumedCapacity } from '@aws-sdk/client-dynamodb';
import { GetCommand, paginateQuery, type QueryCommandInput, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import { jtiCreatedAt } from './set-age.ts';
import { toDeliveryRecord } from './queue-items.ts';
import { type Backlog, type PurgeResult, type RecordView, type ReplayItem, type ReplayOutcome, type ReplayResult } from './queue-admin-results.ts';
import type { QueueStore } from './queue-store.ts';
import { LEASE_SK, RECORD_PREFIX, SET_PREFIX, queuePk, recordSk, setSk, type DeliveryRecordItem, type QueuedSetItem, type RecordState } from './schema.ts';
import { mapLimit, pauseBeforeRetry } from '../shared/helpers.ts';
import { TableAdapter, anyTransient, type TableOptions } from './table-adapter.ts';
import { codedStorageError } from './store-errors.ts';

export { RECORD_STATES } from './queue-admin-results.ts';
export type { Backlog, PurgeResult, RecordView, ReplayItem, ReplayOutcome, ReplayResult } from './queue-admin-results.ts';

export class QueueBusy extends codedStorageError('QueueBusy', 'queue_busy') {}

export interface QueueAdminOptions extends TableOptions {
  /** Reads the lease record, in whatever shape the poll path writes it. */
  readonly queue: QueueStore;
  /** Epoch ms; injectable for tests. */
  readonly now?: () => number;
  /** Items read per counting Query page. @default as many as fit in DynamoDB's 1 MB page */
  readonly pageSize?: number;
}

/** Items per purge transaction: 100 is DynamoDB's limit, one of them is the lease record. */
const PURGE_BATCH = 99;
/** Transaction conflicts (e.g. with a poll writing the lease record) retried per batch. */
const CONFLICT_RETRIES = 10;
/** Replay transactions in flight at once. */
const REPLAY_CONCURRENCY = 16;
/** A lease record a purge had to create is worth keeping no longer than a day. */
const EMPTY_LEASE_TTL_SECONDS = 86_400;

export class QueueAdmin extends TableAdapter {
  readonly #queue: QueueStore;
  readonly #now: () => number;
  readonly #pageSize: number | undefined;

  constructor(options: QueueAdminOptions) {
    super(options);
    this.#queue = options.queue;
    this.#now = options.now ?? Date.now;
    this.#pageSize = options.pageSize;
  }

  /**
   * Counts the queue page by page (only the sort keys come back) and the delivery records (only
   * state and expiry come back). The lease record is read first, strongly consistent; a SET counts
   * as leased when it is still queued and the record holds an unexpired lease on it.
   */
  async backlog(clientId: string): Promise<Backlog> {
    const at = this.#now();
    const nowSeconds = Math.floor(at / 1000);
    const lease = await this.#queue.readLease(clientId, true);
    const held = new Set<string>();
    for (const [jti, until] of lease.entries) if (until > at) held.add(jti);

    let queued = 0;
    let leased = 0;
    let expired = 0;
    let oldest: string | undefined;
    const usage = { readUnits: 0, pages: 0 };
    await this.#pages(
      {
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        FilterExpression: '#ttl > :now',
        ProjectionExpression: '#sk',
        ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk', '#ttl': 'ttl' },
        ExpressionAttributeValues: { ':pk': queuePk(clientId), ':prefix': SET_PREFIX, ':now': nowSeconds },
      },
      usage,
      (out) => {
        for (const item of out.Items ?? []) {
          const jti = String(item.sk).slice(SET_PREFIX.length);
          queued++;
          oldest ??= jti;
          if (held.has(jti)) leased++;
        }
        expired += (out.ScannedCount ?? 0) - (out.Count ?? 0);
      },
    );

    const records = { errored: 0, failed: 0, expired: 0 };
    await this.#pages(
      {
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ProjectionExpression: '#state, #ttl',
        ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk', '#state': 'state', '#ttl': 'ttl' },
        ExpressionAttributeValues: { ':pk': queuePk(clientId), ':prefix': RECORD_PREFIX },
      },
      usage,
      (out) => {
        for (const item of out.Items ?? []) {
          if (Number(item.ttl) <= nowSeconds) records.expired++;
          else if (item.state === 'errored') records.errored++;
          else if (item.state === 'failed') records.failed++;
        }
      },
    );

    const createdAt = oldest === undefined ? undefined : jtiCreatedAt(oldest);
    return {
      clientId,
      at,
      queued,
      leased,
      ready: queued - leased,
      expired,
      ...(oldest === undefined ? {} : { oldest: createdAt === undefined ? { jti: oldest } : { jti: oldest, createdAt } }),
      records,
      readUnits: usage.readUnits,
      pages: usage.pages,
    };
  }

  /** Delivery records in jti order, at most `limit` (`more` says whether others follow). */
  async listRecords(
    clientId: string,
    options: { state?: RecordState; limit: number; withSets?: boolean },
  ): Promise<{ records: RecordView[]; more: boolean }> {
    const records: RecordView[] = [];
    let more = false;
    const attributes = ['#jti', '#state', '#err', '#description', '#lang', '#att', '#at', '#ttl', ...(options.withSets ? ['#set'] : [])];
    const pages = paginateQuery(
      { client: this.client },
      {
        TableName: this.table,
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ...(options.state ? { FilterExpression: '#state = :state' } : {}),
        ProjectionExpression: attributes.join(', '),
        ExpressionAttributeNames: {
          '#pk': 'pk',
          '#sk': 'sk',
          '#jti': 'jti',
          '#state': 'state',
          '#err': 'err',
          '#description': 'description',
          '#lang': 'lang',
          '#att': 'att',
          '#at': 'at',
          '#ttl': 'ttl',
          ...(options.withSets ? { '#set': 'set' } : {}),
        },
        ExpressionAttributeValues: { ':pk': queuePk(clientId), ':prefix': RECORD_PREFIX, ...(options.state ? { ':state': options.state } : {}) },
      },
    );
    // Reads on past the limit only to learn whether another (matching) record follows.
    for await (const out of pages) {
      for (const item of out.Items ?? []) {
        if (records.length >= options.limit) {
          more = true;
          break;
        }
        records.push(toRecordView(item as DeliveryRecordItem, options.withSets === true));
      }
      if (more) break;
    }
    return { records, more };
  }

  /**
   * Deletes every queued SET of the recipient (delivery records are kept), page by page. Each batch
   * of deletes is one transaction with a bump of the lease record's version `v` (monotonic: `ADD`;
   * a record is created with only `v` and `ttl` when there is none), so a poll that read the queue
   * before the deletes fails its conditional lease write and selects again: it can never hand out a
   * SET this purge deleted. The leases in the record are left as the poll path wrote them; the ones
   * naming deleted SETs simply run out. SETs queued while the purge runs may or may not be deleted.
   */
  async purge(clientId: string, options: { dryRun: boolean }): Promise<PurgeResult> {
    const usage = { readUnits: 0, pages: 0, writeUnits: 0 };
    if (options.dryRun) {
      let found = 0;
      await this.#pages(
        {
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
          Select: 'COUNT',
          ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
          ExpressionAttributeValues: { ':pk': queuePk(clientId), ':prefix': SET_PREFIX },
        },
        usage,
        (out) => void (found += out.Count ?? 0),
      );
      return { clientId, dryRun: true, found, deleted: 0, readUnits: usage.readUnits, writeUnits: 0 };
    }
    let found = 0;
    let deleted = 0;
    const pages = paginateQuery(
      { client: this.client, pageSize: PURGE_BATCH },
      {
        TableName: this.table,
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ProjectionExpression: '#sk',
        ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
        ExpressionAttributeValues: { ':pk': queuePk(clientId), ':prefix': SET_PREFIX },
        ConsistentRead: true,
        ReturnConsumedCapacity: 'TOTAL',
      },
    );
    // Deleting behind the cursor is safe: each page resumes after the last key read.
    for await (const out of pages) {
      usage.readUnits += units(out.ConsumedCapacity);
      const keys = (out.Items ?? []).map((i) => String(i.sk));
      found += keys.length;
      if (keys.length > 0) deleted += await this.#deleteBatch(clientId, keys, usage, deleted);
    }
    return { clientId, dryRun: false, found, deleted, readUnits: usage.readUnits, writeUnits: usage.writeUnits };
  }

  /**
   * Moves delivery records back into the queue: per record, one transaction puts the queued SET
   * (`attribute_not_exists(sk)`: a SET queued under the same jti is kept, and the record too) and
   * deletes the record on condition that it is still the one read (same `at` and `state`). So a SET
   * is never lost (both or neither) and never queued twice. The replayed SET starts with no counted
   * delivery attempts. Expired SETs are left as records. Without `jtis`, every record (of `state`).
   */
  async replay(clientId: string, options: { jtis?: readonly string[]; state?: RecordState; dryRun: boolean }): Promise<ReplayResult> {
    const nowSeconds = Math.floor(this.#now() / 1000);
    const items: ReplayItem[] = [];
    let candidates: { jti: string; record: DeliveryRecordItem | undefined }[];
    if (options.jtis) {
      const unique = [...new Set(options.jtis)];
      candidates = await mapLimit(unique, REPLAY_CONCURRENCY, async (jti) => ({ jti, record: await this.#getRecord(clientId, jti) }));
    } else {
      candidates = [];
      const pages = paginateQuery(
        { client: this.client },
        {
          TableName: this.table,
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
          ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
          ExpressionAttributeValues: { ':pk': queuePk(clientId), ':prefix': RECORD_PREFIX },
          ConsistentRead: true,
        },
      );
      for await (const out of pages) {
        for (const item of out.Items ?? []) {
          const record = item as DeliveryRecordItem;
          if (options.state === undefined || record.state === options.state) candidates.push({ jti: record.jti, record });
        }
      }
    }

    const outcomes = await mapLimit(candidates, REPLAY_CONCURRENCY, async ({ jti, record }): Promise<ReplayItem> => {
      if (!record || (options.state !== undefined && record.state !== options.state)) return { jti, outcome: 'missing' };
      const state = record.state;
      if (Number(record.ttl) <= nowSeconds) return { jti, state, outcome: 'expired' };
      if (options.dryRun) {
        const queued = await this.client.send(
          new GetCommand({ TableName: this.table, Key: { pk: queuePk(clientId), sk: setSk(jti) }, ProjectionExpression: '#sk', ExpressionAttributeNames: { '#sk': 'sk' }, ConsistentRead: true }),
        );
        return { jti, state, outcome: queued.Item ? 'already_queued' : 'replayed' };
      }
      return { jti, state, outcome: await this.#moveBack(clientId, record) };
    });
    items.push(...outcomes);
    return { clientId, dryRun: options.dryRun, items };
  }

  async #getRecord(clientId: string, jti: string): Promise<DeliveryRecordItem | undefined> {
    const out = await this.client.send(new GetCommand({ TableName: this.table, Key: { pk: queuePk(clientId), sk: recordSk(jti) }, ConsistentRead: true }));
    return out.Item as DeliveryRecordItem | undefined;
  }

  async #moveBack(clientId: string, record: DeliveryRecordItem): Promise<ReplayOutcome> {
    const pk = queuePk(clientId);
    const item: QueuedSetItem = { pk, sk: setSk(record.jti), jti: record.jti, set: record.set, ttl: Number(record.ttl) };
    for (let attempt = 0; ; attempt++) {
      try {
        await this.transact([
          { Put: { TableName: this.table, Item: item, ConditionExpression: 'attribute_not_exists(sk)' } },
          {
            Delete: {
              TableName: this.table,
              Key: { pk, sk: recordSk(record.jti) },
              ConditionExpression: '#at = :at AND #state = :state',
              ExpressionAttributeNames: { '#at': 'at', '#state': 'state' },
              ExpressionAttributeValues: { ':at': record.at, ':state': record.state },
            },
          },
        ]);
        return 'replayed';
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const [put, del] = error.CancellationReasons ?? [];
        if (put?.Code === 'ConditionalCheckFailed') return 'already_queued';
        if (del?.Code === 'ConditionalCheckFailed') return 'changed';
        const retryable = anyTransient([put, del]);
        if (!retryable || attempt >= CONFLICT_RETRIES) throw error;
        await pauseBeforeRetry(attempt + 1, 10);
      }
    }
  }

  /** Deletes `sortKeys` with a bump of the lease version in one transaction; answers how many existed. */
  async #deleteBatch(clientId: string, sortKeys: readonly string[], usage: { writeUnits: number }, deletedSoFar: number): Promise<number> {
    const pk = queuePk(clientId);
    let keys = [...sortKeys];
    let conflicts = 0;
    while (keys.length > 0) {
      try {
        const out = await this.transact(
          [
            {
              Update: {
                TableName: this.table,
                Key: { pk, sk: LEASE_SK },
                // Only the version changes (monotonically); the leases stay in the poll path's shape.
                UpdateExpression: 'SET #ttl = if_not_exists(#ttl, :ttl) ADD #v :one',
                ExpressionAttributeNames: { '#v': 'v', '#ttl': 'ttl' },
                ExpressionAttributeValues: { ':one': 1, ':ttl': Math.ceil(this.#now() / 1000) + EMPTY_LEASE_TTL_SECONDS },
              },
            },
            ...keys.map((sk) => ({ Delete: { TableName: this.table, Key: { pk, sk }, ConditionExpression: 'attribute_exists(sk)' } })),
          ],
          { ReturnConsumedCapacity: 'TOTAL' },
        );
        usage.writeUnits += units(out.ConsumedCapacity);
        return keys.length;
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const reasons = error.CancellationReasons ?? [];
        // Acked, reported or deleted meanwhile: not this purge's to count; delete the rest.
        const gone = new Set(keys.filter((_, i) => reasons[i + 1]?.Code === 'ConditionalCheckFailed'));
        if (gone.size > 0) {
          keys = keys.filter((k) => !gone.has(k));
          continue;
        }
        if (!anyTransient(reasons)) throw error;
        if (++conflicts > CONFLICT_RETRIES) {
          throw new QueueBusy(`The queue of ${clientId} is too busy to purge (${deletedSoFar} SETs deleted so far); run the purge again`);
        }
        await pauseBeforeRetry(conflicts, 10);
      }
    }
    return 0;
  }

  /** Runs a Query to its last page, eventually consistent, summing the capacity it consumed. */
  async #pages(
    input: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey' | 'ReturnConsumedCapacity' | 'Limit'>,
    usage: { readUnits: number; pages: number },
    onPage: (out: QueryCommandOutput) => void,
  ): Promise<void> {
    const pages = paginateQuery(
      { client: this.client, ...(this.#pageSize === undefined ? {} : { pageSize: this.#pageSize }) },
      { ...input, TableName: this.table, ReturnConsumedCapacity: 'TOTAL' },
    );
    for await (const out of pages) {
      usage.readUnits += units(out.ConsumedCapacity);
      usage.pages++;
      onPage(out);
    }
  }
}

function toRecordView(item: DeliveryRecordItem, withSet: boolean): RecordView {
  const { set, ...record } = toDeliveryRecord(item);
  return withSet && set !== undefined ? { ...record, set } : record;
}

function units(capacity: ConsumedCapacity | ConsumedCapacity[] | undefined): number {
  if (capacity === undefined) return 0;
  return (Array.isArray(capacity) ? capacity : [capacity]).reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
}
