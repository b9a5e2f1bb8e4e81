/**
 * The DynamoDB adapter of the QueueStore port (queue-store.ts): every read and write the poll path
 * makes of a recipient's queue: enqueue, the lease record, the head read, acknowledgements, error
 * reports and delivery records (item shapes in schema.ts).
 *
 * Over 350 lines on purpose: it is one adapter of one port, method for method, and the benchmark's
 * capacity per SET (bench/) is measured on exactly these commands; split, the conditions that keep
 * one item schema consistent would be spread over several files. Consented enqueues live apart
 * (consented-enqueue.ts), as do the item-to-port mappers (queue-items.ts) and the operators' reads
 * (queue-admin.ts).
 */
import { ConditionalCheckFailedException, TransactionCanceledException, type ConsumedCapacity } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  GATE_SK,
  LEASE_SK,
  QUEUE_END_SK,
  SET_PREFIX,
  queuePk,
  recordSk,
  queuedSetItem,
  setSk,
  type DeliveryRecordItem,
  type QueuedSetItem,
} from './schema.ts';
import {
  LeaseConflict,
  type DeliveryRecord,
  type ErrorReport,
  type Lease,
  type NewSet,
  type QueueHead,
  type QueuePage,
  type QueuedSet,
  type QueueStore,
} from './queue-store.ts';
import { TableAdapter, type TableOptions } from './table-adapter.ts';
import { enqueueWithConsent } from './consented-enqueue.ts';
import { reportMembers, toDeliveryRecord, toGate, toLease, toQueuedSet } from './queue-items.ts';

export type CapacityListener = (operation: string, capacity: ConsumedCapacity | ConsumedCapacity[] | undefined) => void;

export interface DynamoQueueStoreOptions extends TableOptions {
  /** Receives `ConsumedCapacity` of every call (logged in debug mode, summed by the benchmark). */
  readonly onCapacity?: CapacityListener;
}

/** How many conditional deletes run at once; keeps within the SDK's socket pool. */
const DELETE_CONCURRENCY = 32;

export class DynamoQueueStore extends TableAdapter implements QueueStore {
  readonly #onCapacity: CapacityListener | undefined;

  constructor(options: DynamoQueueStoreOptions) {
    super(options);
    this.#onCapacity = options.onCapacity;
  }

  get tableName(): string {
    return this.table;
  }

  async enqueue(clientId: string, set: NewSet): Promise<'queued' | 'duplicate' | 'unauthorized'> {
    if (set.origin !== undefined) {
      const { outcome, capacity } = await enqueueWithConsent(this.client, this.table, clientId, { ...set, origin: set.origin });
      if (outcome === 'queued') this.#onCapacity?.('enqueue', capacity);
      return outcome;
    }
    const item = queuedSetItem(clientId, set);
    try {
      const out = await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: item,
          ConditionExpression: 'attribute_not_exists(sk)',
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      this.#onCapacity?.('enqueue', out.ConsumedCapacity);
      return 'queued';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'duplicate';
      throw error;
    }
  }

  async readLease(clientId: string, consistent: boolean): Promise<Lease> {
    const out = await this.client.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: queuePk(clientId), sk: LEASE_SK },
        ConsistentRead: consistent,
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    this.#onCapacity?.('readLease', out.ConsumedCapacity);
    return toLease(out.Item);
  }

  async readHead(clientId: string, limit: number, consistent: boolean): Promise<QueueHead> {
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.table,
        // `S!LEASE` sorts just before every `S#<jti>`: one Query reads the lease record, then the SETs.
        KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :lease AND :end',
        ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
        ExpressionAttributeValues: { ':pk': queuePk(clientId), ':lease': LEASE_SK, ':end': QUEUE_END_SK },
        // The lease record counts against Limit like any item.
        Limit: limit + 1,
        ConsistentRead: consistent,
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    this.#onCapacity?.('readHead', out.ConsumedCapacity);
    const raw = out.Items ?? [];
    let at = 0;
    const leaseItem = raw[at]?.sk === LEASE_SK ? raw[at++] : undefined;
    const gateItem = raw[at]?.sk === GATE_SK ? raw[at++] : undefined;
    const items = raw.slice(at).map(toQueuedSet);
    const page = out.LastEvaluatedKey ? { items, next: out.LastEvaluatedKey } : { items };
    const gate = toGate(gateItem);
    return { lease: toLease(leaseItem), page, ...(gate ? { gate } : {}) };
  }

  async readQueue(clientId: string, limit: number, start?: Record<string, unknown>, consistent = false): Promise<QueuePage> {
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
        ExpressionAttributeValues: { ':pk': queuePk(clientId), ':prefix': SET_PREFIX },
        Limit: limit,
        ExclusiveStartKey: start,
        // Eventually consistent by default: half the read cost (see PollService for when it is not).
        ConsistentRead: consistent,
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    this.#onCapacity?.('readQueue', out.ConsumedCapacity);
    const items = (out.Items ?? []).map(toQueuedSet);
    return out.LastEvaluatedKey ? { items, next: out.LastEvaluatedKey } : { items };
  }

  async writeLease(clientId: string, expectedVersion: number, entries: ReadonlyMap<string, number>, withAcks?: ReadonlySet<string>): Promise<void> {
    // A list of [jti, until] pairs, not a map keyed by jti: a jti is producer-chosen, and keys such
    // as `constructor` or `__proto__` break the SDK's map marshalling. A third element, 1, marks a
    // SET delivered in answer to a request that carried acks (readers of the pair ignore it).
    const l = [...entries].map(([jti, until]) => (withAcks?.has(jti) ? [jti, until, 1] : [jti, until]));
    let latest = 0;
    for (const until of entries.values()) latest = Math.max(latest, until);
    try {
      const out = await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: queuePk(clientId),
            sk: LEASE_SK,
            v: expectedVersion + 1,
            l,
            // The record is worthless once every lease in it ran out.
            ttl: Math.ceil(latest / 1000) + 86_400,
          },
          // Version 0: no record, or an item without `v` at the lease key (a producer's grant can put a
          // SET-shaped item there; the next lease write replaces it instead of failing on it forever).
          ConditionExpression: expectedVersion === 0 ? 'attribute_not_exists(#v)' : '#v = :v',
          ExpressionAttributeNames: { '#v': 'v' },
          ...(expectedVersion === 0 ? {} : { ExpressionAttributeValues: { ':v': expectedVersion } }),
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      this.#onCapacity?.('writeLease', out.ConsumedCapacity);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new LeaseConflict(clientId);
      throw error;
    }
  }

  async deleteSets(clientId: string, jtis: readonly string[]): Promise<number> {
    let deleted = 0;
    for (let i = 0; i < jtis.length; i += DELETE_CONCURRENCY) {
      const results = await Promise.all(jtis.slice(i, i + DELETE_CONCURRENCY).map((jti) => this.#deleteOne(clientId, jti)));
      deleted += results.filter(Boolean).length;
    }
    return deleted;
  }

  async acknowledge(clientId: string, jtis: readonly string[]): Promise<{ queued: number; failed: number }> {
    const counts = { queued: 0, failed: 0 };
    for (let i = 0; i < jtis.length; i += DELETE_CONCURRENCY) {
      await Promise.all(
        jtis.slice(i, i + DELETE_CONCURRENCY).map(async (jti) => {
          if (await this.#deleteOne(clientId, jti)) counts.queued++;
          // Only when the SET is no longer queued: the usual ack costs one delete, not two.
          else if (await this.#deleteFailedRecord(clientId, jti)) counts.failed++;
        }),
      );
    }
    return counts;
  }

  async #deleteOne(clientId: string, jti: string): Promise<boolean> {
    return this.#deleteIf(clientId, setSk(jti), 'attribute_exists(sk)', 'ack');
  }

  /** An `errored` record stays: the recipient's own report is kept as the SET's outcome. */
  async #deleteFailedRecord(clientId: string, jti: string): Promise<boolean> {
    return this.#deleteIf(clientId, recordSk(jti), '#state = :failed', 'ackFailed', { '#state': 'state' }, { ':failed': 'failed' });
  }

  async #deleteIf(
    clientId: string,
    sk: string,
    condition: string,
    operation: string,
    names?: Record<string, string>,
    values?: Record<string, unknown>,
  ): Promise<boolean> {
    try {
      const out = await this.client.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk: queuePk(clientId), sk },
          ConditionExpression: condition,
          ...(names ? { ExpressionAttributeNames: names } : {}),
          ...(values ? { ExpressionAttributeValues: values } : {}),
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      this.#onCapacity?.(operation, out.ConsumedCapacity);
      return true;
    } catch (error) {
      // Already acked, expired or never queued: acking it again is a silent success.
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async recordError(clientId: string, jti: string, report: ErrorReport, now: number): Promise<boolean> {
    const pk = queuePk(clientId);
    const got = await this.client.send(
      new GetCommand({ TableName: this.table, Key: { pk, sk: setSk(jti) }, ConsistentRead: true, ReturnConsumedCapacity: 'TOTAL' }),
    );
    this.#onCapacity?.('recordError.read', got.ConsumedCapacity);
    const item = got.Item as QueuedSetItem | undefined;
    if (!item) return false;
    const record: DeliveryRecordItem = {
      pk,
      sk: recordSk(jti),
      jti,
      state: 'errored',
      ...reportMembers(report),
      att: Number(item.att ?? 0),
      at: now,
      set: item.set,
      ttl: Number(item.ttl),
    };
    return this.#moveToRecord(item, record);
  }

  async noteError(clientId: string, jti: string, report: ErrorReport, now: number): Promise<boolean> {
    const set = ['#err = :err', '#errAt = :now'];
    const remove: string[] = [];
    const names: Record<string, string> = { '#err': 'err', '#errAt': 'errAt', '#description': 'description', '#lang': 'lang' };
    const values: Record<string, unknown> = { ':err': report.err, ':now': now };
    // A report replaces the previous one whole: no description from an older report stays.
    for (const key of ['description', 'lang'] as const) {
      if (report[key] === undefined) remove.push(`#${key}`);
      else {
        set.push(`#${key} = :${key}`);
        values[`:${key}`] = report[key];
      }
    }
    try {
      const out = await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: queuePk(clientId), sk: setSk(jti) },
          UpdateExpression: `SET ${set.join(', ')}${remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : ''}`,
          ConditionExpression: 'attribute_exists(sk)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      this.#onCapacity?.('noteError', out.ConsumedCapacity);
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async markFailed(clientId: string, item: QueuedSet, now: number): Promise<boolean> {
    const pk = queuePk(clientId);
    const record: DeliveryRecordItem = {
      pk,
      sk: recordSk(item.jti),
      jti: item.jti,
      state: 'failed',
      // The recipient's last report on it, when it reported one (erroredSets `redeliver`).
      ...reportMembers(item.error),
      att: item.attempts,
      at: now,
      set: item.set,
      ttl: item.ttl,
    };
    return this.#moveToRecord({ pk, sk: setSk(item.jti), jti: item.jti, set: item.set, ttl: item.ttl }, record);
  }

  /** Deletes the queued SET and writes its record in one transaction, so it is never in both or neither. */
  async #moveToRecord(item: QueuedSetItem, record: DeliveryRecordItem): Promise<boolean> {
    try {
      const out = await this.transact(
        [
          { Delete: { TableName: this.table, Key: { pk: item.pk, sk: item.sk }, ConditionExpression: 'attribute_exists(sk)' } },
          { Put: { TableName: this.table, Item: record } },
        ],
        { ReturnConsumedCapacity: 'TOTAL' },
      );
      this.#onCapacity?.('moveToRecord', out.ConsumedCapacity);
      return true;
    } catch (error) {
      // Someone else acked or moved it first.
      if (error instanceof TransactionCanceledException) {
        if (error.CancellationReasons?.some((r) => r.Code === 'ConditionalCheckFailed')) return false;
      }
      throw error;
    }
  }

  async countAttempts(clientId: string, jtis: readonly string[]): Promise<void> {
    await Promise.all(
      jtis.map(async (jti) => {
        try {
          const out = await this.client.send(
            new UpdateCommand({
              TableName: this.table,
              Key: { pk: queuePk(clientId), sk: setSk(jti) },
              UpdateExpression: 'ADD #att :one',
              ConditionExpression: 'attribute_exists(sk)',
              ExpressionAttributeNames: { '#att': 'att' },
              ExpressionAttributeValues: { ':one': 1 },
              ReturnConsumedCapacity: 'TOTAL',
            }),
          );
          this.#onCapacity?.('countAttempt', out.ConsumedCapacity);
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
        }
      }),
    );
  }

  async readRecord(clientId: string, jti: string): Promise<DeliveryRecord | undefined> {
    const out = await this.client.send(
      new GetCommand({ TableName: this.table, Key: { pk: queuePk(clientId), sk: recordSk(jti) }, ConsistentRead: true }),
    );
    const item = out.Item as DeliveryRecordItem | undefined;
    return item ? toDeliveryRecord(item) : undefined;
  }
}
