import { setTimeout as delay } from 'node:timers/promises';
import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { StoreUnavailable } from './store-errors.ts';

const BATCH_GET_MAX = 100;
const MAX_ROUNDS = 10;

/**
 * Strongly consistent BatchGetItem over any number of keys (100 per call), retrying the keys
 * DynamoDB leaves unprocessed with back-off. Items come back in no particular order; missing keys
 * are simply absent.
 */
export async function batchGetItems<T>(
  client: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly { pk: string; sk: string }[],
  projection?: { expression: string; names?: Record<string, string> },
): Promise<T[]> {
  const unique = [...new Map(keys.map((k) => [`${k.pk}\u0000${k.sk}`, k])).values()];
  const found: T[] = [];
  for (let i = 0; i < unique.length; i += BATCH_GET_MAX) {
    let pending: Record<string, unknown>[] = unique.slice(i, i + BATCH_GET_MAX).map((k) => ({ pk: k.pk, sk: k.sk }));
    for (let round = 0; pending.length > 0; round++) {
      if (round >= MAX_ROUNDS) throw new StoreUnavailable('DynamoDB left batch reads unprocessed');
      if (round > 0) await delay(Math.min(1000, 25 * 2 ** round));
      const out = await client.send(
        new BatchGetCommand({
          RequestItems: {
            [tableName]: {
              Keys: pending,
              ConsistentRead: true,
              ...(projection ? { ProjectionExpression: projection.expression, ...(projection.names ? { ExpressionAttributeNames: projection.names } : {}) } : {}),
            },
          },
        }),
      );
      found.push(...((out.Responses?.[tableName] ?? []) as T[]));
      pending = (out.UnprocessedKeys?.[tableName]?.Keys ?? []) as Record<string, unknown>[];
    }
  }
  return found;
}
