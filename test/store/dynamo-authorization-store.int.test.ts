import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidClientId } from '../../lambdas/shared/client-id.ts';
import { DynamoAuthorizationStore } from '../../lambdas/store/dynamo-authorization-store.ts';
import { createTestTable } from '../support/dynamo.ts';

describe('DynamoAuthorizationStore', () => {
  let table: Awaited<ReturnType<typeof createTestTable>>;
  let store: DynamoAuthorizationStore;
  beforeAll(async () => {
    table = await createTestTable();
    store = new DynamoAuthorizationStore({ client: table.client, tableName: table.tableName });
  });

  it('records one authorization per recipient and provider, keeps the first on a repeat, and answers isAuthorized for exactly that pair', async () => {
    // Act
    const first = await store.authorize('rcp-a', 'prov-x', 'operator', 1000);
    const again = await store.authorize('rcp-a', 'prov-x', 'recipient', 2000);
    // Assess
    expect(first).toEqual({ outcome: 'created', authorization: { recipientId: 'rcp-a', providerId: 'prov-x', grantedBy: 'operator', authorizedAt: 1000 } });
    expect(again).toEqual({ outcome: 'unchanged', authorization: first.authorization });
    expect(await store.isAuthorized('rcp-a', 'prov-x')).toBe(true);
    expect(await store.isAuthorized('rcp-a', 'prov-y')).toBe(false);
    expect(await store.isAuthorized('prov-x', 'rcp-a')).toBe(false);
    expect(await store.isAuthorized('rcp-b', 'prov-x')).toBe(false);
    const stored = await table.client.send(
      new QueryCommand({ TableName: table.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': 'AUTH#rcp-a' } }),
    );
    expect(stored.Items).toEqual([{ pk: 'AUTH#rcp-a', sk: 'P#prov-x', recipientId: 'rcp-a', providerId: 'prov-x', grantedBy: 'operator', at: 1000 }]);
  });

  it('removes an authorization at once, and says whether there was one', async () => {
    // Prepare
    await store.authorize('rcp-c', 'prov-x', 'recipient');
    // Act
    const removed = await store.deauthorize('rcp-c', 'prov-x');
    const again = await store.deauthorize('rcp-c', 'prov-x');
    // Assess
    expect([removed, again]).toEqual([true, false]);
    expect(await store.isAuthorized('rcp-c', 'prov-x')).toBe(false);
  });

  it('lists a recipient\'s providers in id order, page by page, and refuses another recipient\'s cursor', async () => {
    // Prepare
    for (const p of ['p-3', 'p-1', 'p-2']) await store.authorize('rcp-d', p, 'operator', 5000);
    await store.authorize('rcp-e', 'p-9', 'operator', 5000);
    // Act
    const first = await store.listProviders('rcp-d', { limit: 2 });
    const second = await store.listProviders('rcp-d', { limit: 2, cursor: first.nextCursor! });
    const foreign = await store.listProviders('rcp-e', { limit: 2, cursor: first.nextCursor! }).catch((e: unknown) => e);
    // Assess
    expect(first.items.map((a) => a.providerId)).toEqual(['p-1', 'p-2']);
    expect(first.nextCursor).toEqual(expect.any(String));
    expect(second).toEqual({ items: [{ recipientId: 'rcp-d', providerId: 'p-3', grantedBy: 'operator', authorizedAt: 5000 }] });
    expect(foreign).toMatchObject({ name: 'InvalidCursor', message: 'The cursor is not valid for this listing' });
  });

  it('refuses ids that break the client-id rule, and writes nothing', async () => {
    // Act
    const badRecipient = await store.authorize('rcp#1', 'prov-x', 'operator').catch((e: unknown) => e);
    const badProvider = await store.authorize('rcp-f', 'prov x', 'operator').catch((e: unknown) => e);
    // Assess
    expect(badRecipient).toBeInstanceOf(InvalidClientId);
    expect(badProvider).toBeInstanceOf(InvalidClientId);
    expect(await store.listProviders('rcp-f', { limit: 10 })).toEqual({ items: [] });
  });
});
