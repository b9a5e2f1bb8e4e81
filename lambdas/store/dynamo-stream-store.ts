import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DeliveryGate } from './queue-store.ts';
import { GATE_SK, STREAM_SK, queuePk } from './schema.ts';
import { StreamWriteConflict, type StreamLookup, type StreamStore, type StreamRecord } from './stream-store.ts';
import { TableAdapter, written, type TransactWriteItem } from './table-adapter.ts';

/**
 * The stream item (`Q#<clientId>` / `SSF#STREAM`) and its delivery gate (`Q#<clientId>` /
 * `S!STATUS`) in the receiver's own queue partition: one stream per receiver by construction, and
 * every key built from the authenticated client id. A deleted stream leaves a tombstone
 * (`deleted: true`), so the receiver stays an SSF receiver that is sent nothing until it creates
 * another stream.
 */
export class DynamoStreamStore extends TableAdapter implements StreamStore {
  async read(clientId: string, consistent: boolean): Promise<StreamLookup> {
    const out = await this.client.send(new GetCommand({ TableName: this.table, Key: key(clientId), ConsistentRead: consistent }));
    if (!out.Item) return undefined;
    return out.Item.deleted === true ? 'deleted' : toRecord(out.Item);
  }

  async create(record: StreamRecord): Promise<void> {
    const created = await written(
      this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: toItem(record),
          ConditionExpression: 'attribute_not_exists(sk) OR deleted = :true',
          ExpressionAttributeValues: { ':true': true },
        }),
      ),
    );
    if (!created) throw new StreamWriteConflict(record.clientId);
  }

  async save(record: StreamRecord, expectedVersion: number, gate: DeliveryGate | undefined | 'unchanged'): Promise<void> {
    const gateKey = { pk: queuePk(record.clientId), sk: GATE_SK };
    const put = {
      Put: {
        TableName: this.table,
        Item: toItem(record),
        ConditionExpression: 'version = :v AND attribute_not_exists(deleted)',
        ExpressionAttributeValues: { ':v': expectedVersion },
      },
    };
    if (gate === 'unchanged') {
      await this.#transactOrConflict(record.clientId, [put]);
      return;
    }
    await this.#transactOrConflict(record.clientId, [
      put,
      gate ? { Put: { TableName: this.table, Item: { ...gateKey, ...gate } } } : { Delete: { TableName: this.table, Key: gateKey } },
    ]);
  }

  async markDeleted(clientId: string, expectedVersion: number, at: string): Promise<void> {
    await this.#transactOrConflict(clientId, [
      {
        Put: {
          TableName: this.table,
          Item: { ...key(clientId), deleted: true, version: expectedVersion + 1, updatedAt: at },
          ConditionExpression: 'version = :v AND attribute_not_exists(deleted)',
          ExpressionAttributeValues: { ':v': expectedVersion },
        },
      },
      { Delete: { TableName: this.table, Key: { pk: queuePk(clientId), sk: GATE_SK } } },
    ]);
  }

  async claimVerification(clientId: string, streamId: string, now: number, notBefore: number): Promise<{ accepted: true } | { accepted: false; lastAt: number }> {
    const claimed = await written(
      this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key(clientId),
          UpdateExpression: 'SET verifiedAt = :now',
          ConditionExpression: 'streamId = :sid AND attribute_not_exists(deleted) AND (attribute_not_exists(verifiedAt) OR verifiedAt <= :notBefore)',
          ExpressionAttributeValues: { ':now': now, ':sid': streamId, ':notBefore': notBefore },
        }),
      ),
    );
    if (claimed) return { accepted: true };
    const current = await this.read(clientId, true);
    if (typeof current !== 'object' || current.streamId !== streamId) throw new StreamWriteConflict(clientId);
    return { accepted: false, lastAt: current.verifiedAt ?? now };
  }

  async #transactOrConflict(clientId: string, items: TransactWriteItem[]): Promise<void> {
    try {
      await this.transact(items);
    } catch (error) {
      const conditionFailed =
        error instanceof TransactionCanceledException && (error.CancellationReasons ?? []).some((r) => r.Code === 'ConditionalCheckFailed');
      if (conditionFailed) throw new StreamWriteConflict(clientId);
      throw error;
    }
  }
}

const key = (clientId: string) => ({ pk: queuePk(clientId), sk: STREAM_SK });

function toItem(record: StreamRecord): Record<string, unknown> {
  return {
    ...key(record.clientId),
    clientId: record.clientId,
    streamId: record.streamId,
    eventsRequested: [...record.eventsRequested],
    eventsDelivered: [...record.eventsDelivered],
    ...(record.description === undefined ? {} : { description: record.description }),
    status: record.status,
    ...(record.reason === undefined ? {} : { reason: record.reason }),
    version: record.version,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    ...(record.verifiedAt === undefined ? {} : { verifiedAt: record.verifiedAt }),
  };
}

function toRecord(item: Record<string, unknown>): StreamRecord {
  const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []);
  const status = item.status === 'paused' || item.status === 'disabled' ? item.status : 'enabled';
  return {
    clientId: String(item.clientId),
    streamId: String(item.streamId),
    eventsRequested: strings(item.eventsRequested),
    eventsDelivered: strings(item.eventsDelivered),
    ...(typeof item.description === 'string' ? { description: item.description } : {}),
    status,
    ...(typeof item.reason === 'string' ? { reason: item.reason } : {}),
    version: Number(item.version),
    createdAt: String(item.createdAt),
    updatedAt: String(item.updatedAt),
    ...(typeof item.verifiedAt === 'number' ? { verifiedAt: item.verifiedAt } : {}),
  };
}
