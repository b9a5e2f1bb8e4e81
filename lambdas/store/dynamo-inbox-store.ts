import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { InboxStore, NewInboxEntry } from './inbox-store.ts';
import type { InboxItem } from './notifier-items.ts';
import { listPage, type ListPage } from './notifier-query.ts';
import { INBOX_PREFIX, inboxPk, inboxSk } from './schema.ts';
import { TableAdapter } from './table-adapter.ts';

/** An entry outlives its SET's retention by a week, so an expired SET can still be reviewed as such. */
const KEPT_AFTER_EXPIRY_SECONDS = 7 * 86_400;

/** The InboxStore on the setpoll table (items `INBOX#<recipientId>` / `N#<jti>`). */
export class DynamoInboxStore extends TableAdapter implements InboxStore {
  async record(entry: NewInboxEntry): Promise<void> {
    const item: InboxItem = { pk: inboxPk(entry.clientId), sk: inboxSk(entry.jti), ...entry, ttl: Number(entry.expiresAt) + KEPT_AFTER_EXPIRY_SECONDS };
    try {
      await this.client.send(new PutCommand({ TableName: this.table, Item: item, ConditionExpression: 'attribute_not_exists(#sk)', ExpressionAttributeNames: { '#sk': 'sk' } }));
    } catch (error) {
      // Recorded by an earlier attempt (which a withdrawal may have marked since): keep it.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  list(recipientId: string, page: { limit: number; cursor?: string | undefined }): Promise<ListPage<InboxItem>> {
    return listPage<InboxItem>(this.client, this.table, { pk: inboxPk(recipientId), prefix: INBOX_PREFIX, ...page, consistent: true });
  }
}
