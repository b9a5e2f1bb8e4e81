import { PutItemCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoClient } from '../../local/dynamodb.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';

/**
 * What a producer's grant (PutItem, queue partitions, queued-SET attributes) still allows: IAM has
 * no condition on the sort key, so a SET-shaped item can land on a lease record's key. The queue
 * must keep working and the lease record must come back.
 */
describe('a SET-shaped item put at the lease record key', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('does not stop delivery: the next poll replaces it with a lease record', async () => {
    const { jti } = await stack.publisher.publish({ recipients: ['tpp-alpha'], events: { 'https://example.com/e': {} } });
    const client = createDynamoClient(stack.config.dynamodb.endpoint);
    const TableName = stack.config.dynamodb.tableName;
    await client.send(
      new PutItemCommand({
        TableName,
        Item: { pk: { S: 'Q#tpp-alpha' }, sk: { S: 'S!LEASE' }, jti: { S: 'x' }, set: { S: 'a.b.c' }, ttl: { N: String(Math.floor(Date.now() / 1000) + 3600) } },
      }),
    );

    const first = await stack.poll('tpp-alpha', { returnImmediately: true });
    const lease = await client.send(new GetItemCommand({ TableName, Key: { pk: { S: 'Q#tpp-alpha' }, sk: { S: 'S!LEASE' } }, ConsistentRead: true }));
    const ack = await stack.poll('tpp-alpha', { returnImmediately: true, ack: [jti], maxEvents: 0 });
    client.destroy();

    expect(first.status).toBe(200);
    expect(Object.keys(first.json<{ sets: Record<string, string> }>().sets)).toEqual([jti]);
    expect(lease.Item?.v).toEqual({ N: '1' });
    expect(lease.Item?.jti).toBeUndefined();
    expect([ack.status, ack.json()]).toEqual([200, { sets: {}, moreAvailable: false }]);
  });
});
