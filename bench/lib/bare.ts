/**
 * The DynamoDB calls the poll handler makes, issued straight from the benchmark with the same
 * parameters as DynamoQueueStore: the floor the handler is compared against.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DeleteCommand, GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LEASE_SK, QUEUE_END_SK, queuePk, setSk } from '../../lambdas/store/schema.ts';
import type { NewSet } from '../../lambdas/store/queue-store.ts';
import type { CapacityListener } from '../../lambdas/store/dynamo-queue-store.ts';

/**
 * The lease record's `l` as DynamoQueueStore writes it today: a list of [jti, until] pairs (it
 * was a map keyed by jti before; both are read). The bench's bare-path queues are its own, so a
 * change of this encoding in the product can never break the HTTPS path's queues.
 */
export function encodeLease(entries: ReadonlyMap<string, number>): [string, number][] {
  return [...entries];
}

export function decodeLease(l: unknown): Map<string, number> {
  const entries = new Map<string, number>();
  if (Array.isArray(l)) {
    for (const pair of l) if (Array.isArray(pair) && typeof pair[0] === 'string' && typeof pair[1] === 'number') entries.set(pair[0], pair[1]);
  } else if (typeof l === 'object' && l !== null) {
    for (const [jti, until] of Object.entries(l)) if (typeof until === 'number') entries.set(jti, until);
  }
  return entries;
}

export interface BareLease {
  readonly version: number;
  readonly entries: Map<string, number>;
}

export class BareQueue {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;
  readonly leaseSeconds: number;
  readonly #onCapacity: CapacityListener | undefined;

  /** `onCapacity` gets the same operation names as DynamoQueueStore's listener. */
  constructor(client: DynamoDBDocumentClient, table: string, leaseSeconds: number, onCapacity?: CapacityListener) {
    this.#client = client;
    this.#table = table;
    this.leaseSeconds = leaseSeconds;
    this.#onCapacity = onCapacity;
  }

  async getLease(clientId: string, consistent = false): Promise<BareLease> {
    const out = await this.#client.send(
      new GetCommand({ TableName: this.#table, Key: { pk: queuePk(clientId), sk: LEASE_SK }, ConsistentRead: consistent, ReturnConsumedCapacity: 'TOTAL' }),
    );
    this.#onCapacity?.('readLease', out.ConsumedCapacity);
    return { version: Number(out.Item?.v ?? 0), entries: decodeLease(out.Item?.l) };
  }

  /** The lease record and the queue's first `limit` SETs in one Query, as DynamoQueueStore.readHead. */
  async head(clientId: string, limit: number): Promise<{ lease: BareLease; items: { jti: string; set: string }[] }> {
    const out = await this.#client.send(
      new QueryCommand({
        TableName: this.#table,
        KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :lease AND :end',
        ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
        ExpressionAttributeValues: { ':pk': queuePk(clientId), ':lease': LEASE_SK, ':end': QUEUE_END_SK },
        Limit: limit + 1,
        ConsistentRead: false,
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    this.#onCapacity?.('readHead', out.ConsumedCapacity);
    const raw = out.Items ?? [];
    const leaseItem = raw[0]?.sk === LEASE_SK ? raw[0] : undefined;
    return {
      lease: { version: Number(leaseItem?.v ?? 0), entries: decodeLease(leaseItem?.l) },
      items: (leaseItem ? raw.slice(1) : raw).map((i) => ({ jti: String(i.jti), set: String(i.set) })),
    };
  }

  async putLease(clientId: string, expectedVersion: number, entries: ReadonlyMap<string, number>): Promise<void> {
    let latest = 0;
    for (const until of entries.values()) latest = Math.max(latest, until);
    const out = await this.#client.send(
      new PutCommand({
        TableName: this.#table,
        Item: { pk: queuePk(clientId), sk: LEASE_SK, v: expectedVersion + 1, l: encodeLease(entries), ttl: Math.ceil(latest / 1000) + 86_400 },
        ConditionExpression: expectedVersion === 0 ? 'attribute_not_exists(sk)' : '#v = :v',
        ...(expectedVersion === 0 ? {} : { ExpressionAttributeNames: { '#v': 'v' }, ExpressionAttributeValues: { ':v': expectedVersion } }),
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    this.#onCapacity?.('writeLease', out.ConsumedCapacity);
  }

  async deleteSet(clientId: string, jti: string): Promise<boolean> {
    try {
      const out = await this.#client.send(
        new DeleteCommand({
          TableName: this.#table,
          Key: { pk: queuePk(clientId), sk: setSk(jti) },
          ConditionExpression: 'attribute_exists(sk)',
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      this.#onCapacity?.('ack', out.ConsumedCapacity);
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** The producer's conditional put (docs/item-schema.md: idempotent on the jti). */
  async putSet(clientId: string, set: NewSet): Promise<boolean> {
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: { pk: queuePk(clientId), sk: setSk(set.jti), jti: set.jti, set: set.set, ttl: set.ttl },
          ConditionExpression: 'attribute_not_exists(sk)',
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Puts SETs back in a queue, 25 per BatchWriteItem. Bench housekeeping (refills), never timed. */
  async putSets(clientId: string, sets: readonly NewSet[]): Promise<void> {
    for (let i = 0; i < sets.length; i += 25) {
      let requests: Record<string, unknown>[] = sets.slice(i, i + 25).map((set) => ({
        PutRequest: { Item: { pk: queuePk(clientId), sk: setSk(set.jti), jti: set.jti, set: set.set, ttl: set.ttl } },
      }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt > 20) throw new Error('BatchWriteItem kept leaving items unprocessed');
        const out = await this.#client.send(new BatchWriteCommand({ RequestItems: { [this.#table]: requests } }));
        requests = (out.UnprocessedItems?.[this.#table] ?? []) as Record<string, unknown>[];
      }
    }
  }

  /** Empties the lease record of a bare-path queue. Bench housekeeping, never timed. */
  async clearLease(clientId: string): Promise<void> {
    const lease = await this.getLease(clientId, true);
    await this.putLease(clientId, lease.version, new Map());
  }

  /**
   * One poll as the handler does it, without HTTP, token or service logic: (acks ‖ one Query of the
   * lease record and the queue head), then the lease write when something was picked. Answers the
   * delivered jtis.
   */
  async poll(clientId: string, maxEvents: number, ack: readonly string[]): Promise<string[]> {
    const [, head] = await Promise.all([Promise.all(ack.map((jti) => this.deleteSet(clientId, jti))), this.head(clientId, maxEvents + 1 + ack.length)]);
    return this.#pickAndLease(clientId, maxEvents, ack, head.lease, head.items);
  }

  /**
   * What-if (not what the product does today): the acks' deletes first, then the reads, with the
   * queue read sized for the batch only. Acked SETs are gone by then, so the Query does not pay
   * for reading them; a stale eventually consistent read is still covered by excluding acked jtis.
   */
  async pollAcksFirst(clientId: string, maxEvents: number, ack: readonly string[]): Promise<string[]> {
    await Promise.all(ack.map((jti) => this.deleteSet(clientId, jti)));
    const head = await this.head(clientId, maxEvents + 1);
    return this.#pickAndLease(clientId, maxEvents, ack, head.lease, head.items);
  }

  async #pickAndLease(clientId: string, maxEvents: number, ack: readonly string[], lease: BareLease, items: readonly { jti: string }[]): Promise<string[]> {
    const now = Date.now();
    const acked = new Set(ack);
    // As PollService does (since f498c2d): the record is rewritten when this poll leases SETs, and
    // also when it only answers SETs still listed there.
    const answersListed = ack.some((jti) => (lease.entries.get(jti) ?? 0) > now);
    const picked: string[] = [];
    for (const item of items) {
      if (picked.length >= maxEvents) break;
      if (acked.has(item.jti) || (lease.entries.get(item.jti) ?? 0) > now) continue;
      picked.push(item.jti);
    }
    if (picked.length > 0 || answersListed) {
      const entries = new Map<string, number>();
      for (const [jti, until] of lease.entries) if (until > now && !acked.has(jti)) entries.set(jti, until);
      for (const jti of picked) entries.set(jti, now + this.leaseSeconds * 1000);
      await this.putLease(clientId, lease.version, entries);
    }
    return picked;
  }
}
