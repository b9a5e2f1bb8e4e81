import { TransactionCanceledException, type ConsumedCapacity } from '@aws-sdk/client-dynamodb';
import { TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { pauseBeforeRetry } from '../shared/helpers.ts';
import type { NewSet } from './queue-store.ts';
import { authorizationPk, authorizedProviderSk, queuedSetItem, type QueuedSetItem } from './schema.ts';
import { StoreUnavailable } from './store-errors.ts';
import { anyTransient } from './table-adapter.ts';

const RETRIES = 5;

/**
 * Queues a Notifier SET (idempotent on the jti) only while the recipient's authorization of its
 * provider exists: one transaction of the put and a ConditionCheck of the `AUTH#` item, so a
 * deauthorization racing this write either comes first (the SET is refused: 'unauthorized') or after
 * (the SET is queued, and the deauthorization's withdrawal finds it). The item names the provider
 * and notification (`prov`, `nid`), which that withdrawal looks for.
 */
export async function enqueueWithConsent(
  client: DynamoDBDocumentClient,
  tableName: string,
  clientId: string,
  set: NewSet & { readonly origin: NonNullable<NewSet['origin']> },
): Promise<{ outcome: 'queued' | 'duplicate' | 'unauthorized'; capacity?: ConsumedCapacity[] | undefined }> {
  const item: QueuedSetItem = { ...queuedSetItem(clientId, set), prov: set.origin.providerId, nid: set.origin.notificationId };
  for (let attempt = 0; attempt < RETRIES; attempt++) {
    if (attempt > 0) await pauseBeforeRetry(attempt, 5);
    try {
      const out = await client.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: tableName, Item: item, ConditionExpression: 'attribute_not_exists(sk)' } },
            {
              ConditionCheck: {
                TableName: tableName,
                Key: { pk: authorizationPk(clientId), sk: authorizedProviderSk(set.origin.providerId) },
                ConditionExpression: 'attribute_exists(sk)',
              },
            },
          ],
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      return { outcome: 'queued', capacity: out.ConsumedCapacity };
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const [putReason, authReason] = error.CancellationReasons ?? [];
      if (authReason?.Code === 'ConditionalCheckFailed') return { outcome: 'unauthorized' };
      if (putReason?.Code === 'ConditionalCheckFailed') return { outcome: 'duplicate' };
      if (!anyTransient([putReason, authReason])) throw error;
    }
  }
  throw new StoreUnavailable(`The queue of ${clientId} is too busy to queue a SET; retry shortly`);
}
