import { randomUUID } from 'node:crypto';
import { dynamoEndpoint } from './dynamo-endpoint.ts';
import type { ConsumedCapacity } from '@aws-sdk/client-dynamodb';
import { createDocumentClient, createDynamoClient, ensureTable } from '../../local/dynamodb.ts';
import { DynamoQueueStore } from '../../lambdas/store/dynamo-queue-store.ts';
import { RecipientRegistry } from '../../lambdas/store/recipient-registry.ts';

/** A fresh table in the run's shared DynamoDB Local, with the store and registry over it. */
export async function createTestTable() {
  const endpoint = dynamoEndpoint();
  const tableName = `t-${randomUUID()}`;
  const raw = createDynamoClient(endpoint);
  await ensureTable(raw, tableName);
  raw.destroy();
  const client = createDocumentClient(endpoint);
  const capacity: { operation: string; capacity: ConsumedCapacity | ConsumedCapacity[] | undefined }[] = [];
  const store = new DynamoQueueStore({ client, tableName, onCapacity: (operation, c) => capacity.push({ operation, capacity: c }) });
  const registry = new RecipientRegistry({ client, tableName });
  return { endpoint, tableName, client, store, registry, capacity };
}
