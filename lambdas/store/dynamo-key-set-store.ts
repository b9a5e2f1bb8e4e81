import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand, UpdateCommand, paginateQuery } from '@aws-sdk/lib-dynamodb';
import type { JWK } from 'jose';
import { KeyAlreadyPublished, type KeySetStore, type PublishedKey, type PublishedKeyKind } from './key-set-store.ts';
import { KEYS_PK, keySk } from './schema.ts';
import { TableAdapter } from './table-adapter.ts';

/**
 * Published keys in the queue table, all in the one partition `KEYS` (schema.ts): one Query reads
 * the whole set, and no recipient, provider or producer partition can reach it. The item's `ttl`
 * lets DynamoDB delete an expired key eventually; readers filter on `until` because TTL deletion
 * can lag by days.
 */
export class DynamoKeySetStore extends TableAdapter implements KeySetStore {
  async list(): Promise<PublishedKey[]> {
    const keys: PublishedKey[] = [];
    const pages = paginateQuery(
      { client: this.client },
      { TableName: this.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': KEYS_PK }, ConsistentRead: true },
    );
    for await (const page of pages) for (const item of page.Items ?? []) keys.push(fromItem(item));
    return keys;
  }

  async add(key: PublishedKey): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: KEYS_PK,
            sk: keySk(key.kid),
            kid: key.kid,
            jwk: JSON.stringify(key.jwk),
            kind: key.kind,
            at: key.addedAt,
            ...(key.label === undefined ? {} : { label: key.label }),
            ...(key.until === undefined ? {} : { until: key.until, ttl: key.until }),
          },
          ConditionExpression: 'attribute_not_exists(sk)',
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new KeyAlreadyPublished(key.kid);
      throw error;
    }
  }

  async expire(kid: string, until: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: KEYS_PK, sk: keySk(kid) },
          UpdateExpression: 'SET #until = :until, #ttl = :until',
          ConditionExpression: 'attribute_exists(sk)',
          ExpressionAttributeNames: { '#until': 'until', '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':until': until },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async remove(kid: string): Promise<boolean> {
    const out = await this.client.send(
      new DeleteCommand({ TableName: this.table, Key: { pk: KEYS_PK, sk: keySk(kid) }, ReturnValues: 'ALL_OLD' }),
    );
    return out.Attributes !== undefined;
  }
}

function fromItem(item: Record<string, unknown>): PublishedKey {
  return {
    kid: String(item.kid),
    // Stored as a JSON string: a JWK is opaque to DynamoDB and keeps its exact members.
    jwk: JSON.parse(String(item.jwk)) as JWK,
    kind: item.kind as PublishedKeyKind,
    addedAt: Number(item.at),
    ...(typeof item.label === 'string' ? { label: item.label } : {}),
    ...(typeof item.until === 'number' ? { until: item.until } : {}),
  };
}
