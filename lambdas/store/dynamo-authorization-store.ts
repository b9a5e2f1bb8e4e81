import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { InvalidClientId, isClientId } from '../shared/client-id.ts';
import { batchGetItems } from './notifier-batch.ts';
import { queryPage } from './notifier-query.ts';
import type { Authorization, AuthorizationPage, AuthorizationStore, GrantedBy } from './authorization-store.ts';
import { decodeCursor, encodeCursor } from './notifier-cursor.ts';
import { AUTHORIZED_PROVIDER_PREFIX, authorizationPk, authorizedProviderSk } from './schema.ts';
import { TableAdapter } from './table-adapter.ts';

interface AuthorizationItem {
  pk: string;
  sk: string;
  recipientId: string;
  providerId: string;
  grantedBy: GrantedBy;
  at: number;
}

const toAuthorization = (item: AuthorizationItem): Authorization => ({
  recipientId: item.recipientId,
  providerId: item.providerId,
  grantedBy: item.grantedBy,
  authorizedAt: item.at,
});

/**
 * Authorization records in the recipient's own partition `AUTH#<recipientId>`, one item
 * `P#<providerId>` per authorized provider: "is P authorized for R" is one GetItem, "who may
 * notify R" one Query of a small partition.
 */
export class DynamoAuthorizationStore extends TableAdapter implements AuthorizationStore {
  async authorize(recipientId: string, providerId: string, grantedBy: GrantedBy, now = Date.now()): Promise<{ outcome: 'created' | 'unchanged'; authorization: Authorization }> {
    for (const id of [recipientId, providerId]) if (!isClientId(id)) throw new InvalidClientId(id);
    const item: AuthorizationItem = { pk: authorizationPk(recipientId), sk: authorizedProviderSk(providerId), recipientId, providerId, grantedBy, at: now };
    try {
      await this.client.send(new PutCommand({ TableName: this.table, Item: item, ConditionExpression: 'attribute_not_exists(sk)' }));
      return { outcome: 'created', authorization: toAuthorization(item) };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    const existing = await this.#read(recipientId, providerId);
    // Removed between the two calls: authorize again.
    return existing ? { outcome: 'unchanged', authorization: toAuthorization(existing) } : this.authorize(recipientId, providerId, grantedBy, now);
  }

  async deauthorize(recipientId: string, providerId: string): Promise<boolean> {
    const out = await this.client.send(
      new DeleteCommand({ TableName: this.table, Key: { pk: authorizationPk(recipientId), sk: authorizedProviderSk(providerId) }, ReturnValues: 'ALL_OLD' }),
    );
    return out.Attributes !== undefined;
  }

  async isAuthorized(recipientId: string, providerId: string): Promise<boolean> {
    return (await this.#read(recipientId, providerId)) !== undefined;
  }

  async authorizedAmong(providerId: string, recipientIds: readonly string[]): Promise<Set<string>> {
    const keys = recipientIds.map((id) => ({ pk: authorizationPk(id), sk: authorizedProviderSk(providerId) }));
    const found = await batchGetItems<Pick<AuthorizationItem, 'recipientId'>>(this.client, this.table, keys, { expression: 'recipientId' });
    return new Set(found.map((item) => item.recipientId));
  }

  async #read(recipientId: string, providerId: string): Promise<AuthorizationItem | undefined> {
    const out = await this.client.send(
      new GetCommand({ TableName: this.table, Key: { pk: authorizationPk(recipientId), sk: authorizedProviderSk(providerId) }, ConsistentRead: true }),
    );
    return out.Item as AuthorizationItem | undefined;
  }

  async listProviders(recipientId: string, page: { readonly limit: number; readonly cursor?: string }): Promise<AuthorizationPage> {
    const pk = authorizationPk(recipientId);
    const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor, pk, AUTHORIZED_PROVIDER_PREFIX).sk;
    const result = await queryPage<AuthorizationItem>(this.client, this.table, {
      pk,
      prefix: AUTHORIZED_PROVIDER_PREFIX,
      limit: page.limit,
      consistent: true,
      ...(after === undefined ? {} : { afterSk: after }),
    });
    return {
      items: result.items.map(toAuthorization),
      ...(result.more && result.lastSk ? { nextCursor: encodeCursor({ pk, sk: result.lastSk }) } : {}),
    };
  }
}
