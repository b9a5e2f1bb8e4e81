import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException, TransactionCanceledException, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DestinationStore, DestinationWrite } from './destination-store.ts';
import { batchGetItems } from './notifier-batch.ts';
import type { DestinationItem } from './notifier-items.ts';
import { listPage, queryPage, type ListPage } from './notifier-query.ts';
import { DESTINATION_PREFIX, destinationSk, providerPk } from './schema.ts';
import { ItemExists, ItemMissing, StoreUnavailable, TransactionRefused, VersionConflict, WriteContended, type StorageError } from './store-errors.ts';
import { TableAdapter, type TransactWriteItem } from './table-adapter.ts';

// Named sub-expressions of the conditions (the Powertools idempotency style): each says one thing.
const DESTINATION_ABSENT = 'attribute_not_exists(#sk)';
const DESTINATION_EXISTS = 'attribute_exists(#sk)';
const VERSION_MATCHES = '#version = :expectedVersion';

/** The version in an ALL_OLD image returned with a failed condition; undefined when the item was absent. */
const versionOf = (old: Record<string, AttributeValue> | undefined): number | undefined =>
  old === undefined ? undefined : Number(old.version?.N ?? Number.NaN);

/** A failed condition on an existing item is a stale version; on a missing one, a missing item. */
function missingOrStale(clientId: string, old: Record<string, AttributeValue> | undefined, cause?: unknown): StorageError {
  const current = versionOf(old);
  if (current === undefined) return new ItemMissing(`No destination ${clientId}`, { cause });
  return new VersionConflict(`The destination ${clientId} is at version ${current}`, current, { cause });
}

/** The DestinationStore on the setpoll table (items `P#<providerId>` / `D#<clientId>`). */
export class DynamoDestinationStore extends TableAdapter implements DestinationStore {
  async get(providerId: string, clientId: string): Promise<DestinationItem | undefined> {
    const out = await this.client.send(
      new GetCommand({ TableName: this.table, Key: { pk: providerPk(providerId), sk: destinationSk(clientId) }, ConsistentRead: true }),
    );
    return out.Item as DestinationItem | undefined;
  }

  async getMany(providerId: string, clientIds: readonly string[]): Promise<Map<string, DestinationItem>> {
    const items = await batchGetItems<DestinationItem>(
      this.client,
      this.table,
      clientIds.map((id) => ({ pk: providerPk(providerId), sk: destinationSk(id) })),
    );
    return new Map(items.map((item) => [item.clientId, item]));
  }

  list(providerId: string, page: { limit: number; cursor?: string | undefined }): Promise<ListPage<DestinationItem>> {
    return listPage<DestinationItem>(this.client, this.table, { pk: providerPk(providerId), prefix: DESTINATION_PREFIX, ...page, consistent: false });
  }

  async pageAfter(providerId: string, afterSk: string | undefined, limit: number): Promise<{ items: DestinationItem[]; more: boolean }> {
    const page = await queryPage<DestinationItem>(this.client, this.table, {
      pk: providerPk(providerId),
      prefix: DESTINATION_PREFIX,
      limit,
      consistent: true,
      ...(afterSk === undefined ? {} : { afterSk }),
    });
    return { items: page.items, more: page.more };
  }

  async create(item: DestinationItem): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({ TableName: this.table, Item: item, ConditionExpression: DESTINATION_ABSENT, ExpressionAttributeNames: { '#sk': 'sk' } }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new ItemExists(`A destination ${item.clientId} is already registered`, { cause: error });
      throw error;
    }
  }

  async updateEventTypes(
    providerId: string,
    clientId: string,
    change: { eventTypes: string[] | null; expectedVersion?: number | undefined; at: string },
  ): Promise<DestinationItem> {
    const { eventTypes, expectedVersion, at } = change;
    const condition = expectedVersion === undefined ? DESTINATION_EXISTS : `${DESTINATION_EXISTS} AND ${VERSION_MATCHES}`;
    const set = ['#version = #version + :one', '#updatedAt = :now', ...(eventTypes === null ? [] : ['#eventTypes = :eventTypes'])];
    try {
      const out = await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: providerPk(providerId), sk: destinationSk(clientId) },
          UpdateExpression: `SET ${set.join(', ')}${eventTypes === null ? ' REMOVE #eventTypes' : ''}`,
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#sk': 'sk', '#version': 'version', '#updatedAt': 'updatedAt', '#eventTypes': 'eventTypes' },
          ExpressionAttributeValues: {
            ':one': 1,
            ':now': at,
            ...(eventTypes === null ? {} : { ':eventTypes': eventTypes }),
            ...(expectedVersion === undefined ? {} : { ':expectedVersion': expectedVersion }),
          },
          ReturnValues: 'ALL_NEW',
          // Tells a missing destination from a stale version without a second read.
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return out.Attributes as DestinationItem;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw missingOrStale(clientId, error.Item, error);
      throw error;
    }
  }

  async delete(providerId: string, clientId: string, expectedVersion?: number): Promise<void> {
    try {
      await this.client.send(new DeleteCommand({ TableName: this.table, ...this.#deletion(providerPk(providerId), clientId, expectedVersion) }));
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw missingOrStale(clientId, error.Item, error);
      throw error;
    }
  }

  async applyAtomically(providerId: string, writes: readonly DestinationWrite[]): Promise<void> {
    const pk = providerPk(providerId);
    const transactItems = writes.map((write): TransactWriteItem => {
      switch (write.kind) {
        case 'create':
          return { Put: { TableName: this.table, Item: write.item, ConditionExpression: DESTINATION_ABSENT, ExpressionAttributeNames: { '#sk': 'sk' } } };
        case 'replace':
          return {
            Put: {
              TableName: this.table,
              Item: write.item,
              ConditionExpression: `${DESTINATION_EXISTS} AND ${VERSION_MATCHES}`,
              ExpressionAttributeNames: { '#sk': 'sk', '#version': 'version' },
              ExpressionAttributeValues: { ':expectedVersion': write.expectedVersion },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            },
          };
        case 'delete':
          return { Delete: { TableName: this.table, ...this.#deletion(pk, write.clientId, write.expectedVersion) } };
      }
    });
    try {
      // The token makes the SDK's own retries of this call idempotent (for 10 minutes).
      await this.transact(transactItems, { ClientRequestToken: randomUUID() });
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const reasons = new Map<number, StorageError>();
      (error.CancellationReasons ?? []).forEach((reason, index) => {
        const write = writes[index];
        if (write === undefined || reason.Code === undefined || reason.Code === 'None') return;
        const clientId = write.kind === 'delete' ? write.clientId : write.item.clientId;
        if (reason.Code === 'ConditionalCheckFailed') {
          reasons.set(index, write.kind === 'create' ? new ItemExists(`A destination ${clientId} is already registered`) : missingOrStale(clientId, reason.Item));
        } else if (reason.Code === 'TransactionConflict') {
          reasons.set(index, new WriteContended(`The destination ${clientId} was changed concurrently`));
        } else {
          reasons.set(index, new StoreUnavailable(`DynamoDB could not apply the operation (${reason.Code}); retry`));
        }
      });
      if (reasons.size === 0) throw error;
      throw new TransactionRefused('The atomic destination batch was not applied', reasons, { cause: error });
    }
  }

  /** A conditional delete of one destination, as a DeleteCommand or transaction item. */
  #deletion(pk: string, clientId: string, expectedVersion: number | undefined) {
    return {
      Key: { pk, sk: destinationSk(clientId) },
      ConditionExpression: expectedVersion === undefined ? DESTINATION_EXISTS : `${DESTINATION_EXISTS} AND ${VERSION_MATCHES}`,
      ExpressionAttributeNames: { '#sk': 'sk', ...(expectedVersion === undefined ? {} : { '#version': 'version' }) },
      ...(expectedVersion === undefined ? {} : { ExpressionAttributeValues: { ':expectedVersion': expectedVersion } }),
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
    };
  }
}
