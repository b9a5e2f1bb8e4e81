import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { decodeCursor, encodeCursor } from './notifier-cursor.ts';

export interface QueryPage<T> {
  readonly items: T[];
  /** True when the partition holds more items of the prefix after the last one returned. */
  readonly more: boolean;
  /** Sort key of the last item returned: where the next page starts after. */
  readonly lastSk?: string;
}

/**
 * One page of a partition's items whose sort key starts with `prefix`, in sort-key order, starting
 * after `afterSk`. Reads one item more than asked, so `more` is exact: a page that ends the listing
 * carries no cursor, and the caller never fetches an empty last page.
 */
export async function queryPage<T extends { sk: string }>(
  client: DynamoDBDocumentClient,
  tableName: string,
  params: { pk: string; prefix: string; limit: number; afterSk?: string; consistent: boolean },
): Promise<QueryPage<T>> {
  const { pk, prefix, limit, afterSk, consistent } = params;
  const out = await client.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
      ExpressionAttributeValues: { ':pk': pk, ':prefix': prefix },
      Limit: limit + 1,
      ConsistentRead: consistent,
      ...(afterSk === undefined ? {} : { ExclusiveStartKey: { pk, sk: afterSk } }),
    }),
  );
  const all = (out.Items ?? []) as T[];
  const items = all.slice(0, limit);
  // More than asked came back, or DynamoDB stopped early at its 1 MB page limit.
  const more = all.length > limit || out.LastEvaluatedKey !== undefined;
  const lastSk = items.at(-1)?.sk;
  return { items, more: more && lastSk !== undefined, ...(lastSk === undefined ? {} : { lastSk }) };
}

/** A page of a public listing: its items and, exactly when more follow, an opaque cursor. */
export interface ListPage<T> {
  readonly items: T[];
  readonly nextCursor?: string;
}

/**
 * One page of a public listing: `cursor` (a `nextCursor` this function made for the same partition
 * and prefix) is checked (InvalidCursor) before anything is read.
 */
export async function listPage<T extends { sk: string }>(
  client: DynamoDBDocumentClient,
  tableName: string,
  params: { pk: string; prefix: string; limit: number; cursor?: string | undefined; consistent: boolean },
): Promise<ListPage<T>> {
  const { pk, prefix, limit, cursor, consistent } = params;
  const after = cursor === undefined ? undefined : decodeCursor(cursor, pk, prefix).sk;
  const page = await queryPage<T>(client, tableName, { pk, prefix, limit, consistent, ...(after === undefined ? {} : { afterSk: after }) });
  return { items: page.items, ...(page.more && page.lastSk ? { nextCursor: encodeCursor({ pk, sk: page.lastSk }) } : {}) };
}
