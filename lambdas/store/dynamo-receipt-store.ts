import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { batchGetItems } from './notifier-batch.ts';
import type { ReceiptItem } from './notifier-items.ts';
import { listPage, queryPage, type ListPage } from './notifier-query.ts';
import type { ReceiptStore } from './receipt-store.ts';
import { DESTINATION_PREFIX, receiptPk, receiptSk } from './schema.ts';
import { TableAdapter } from './table-adapter.ts';

/** The ReceiptStore on the setpoll table (items `P#<providerId>#N#<notificationId>` / `D#<clientId>`). */
export class DynamoReceiptStore extends TableAdapter implements ReceiptStore {
  async revisions(providerId: string, notificationId: string, clientIds: readonly string[]): Promise<{ clientId: string; revision: number }[]> {
    const pk = receiptPk(providerId, notificationId);
    const found = await batchGetItems<ReceiptItem>(
      this.client,
      this.table,
      clientIds.map((clientId) => ({ pk, sk: receiptSk(clientId) })),
      { expression: 'clientId, revision' },
    );
    return found.map((r) => ({ clientId: r.clientId, revision: Number(r.revision) }));
  }

  async record(providerId: string, notificationId: string, receipt: Omit<ReceiptItem, 'pk' | 'sk'>): Promise<void> {
    const receiptAbsent = 'attribute_not_exists(#sk)';
    const receiptOfOlderRevision = '#revision < :revision';
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: receiptPk(providerId, notificationId), sk: receiptSk(receipt.clientId), ...receipt },
          // A retry keeps the first receipt (and its withdrawn mark); a late page of an older revision
          // never overwrites a newer one.
          ConditionExpression: `${receiptAbsent} OR ${receiptOfOlderRevision}`,
          ExpressionAttributeNames: { '#sk': 'sk', '#revision': 'revision' },
          ExpressionAttributeValues: { ':revision': receipt.revision },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  list(providerId: string, notificationId: string, page: { limit: number; cursor?: string | undefined }): Promise<ListPage<ReceiptItem>> {
    return listPage<ReceiptItem>(this.client, this.table, { pk: receiptPk(providerId, notificationId), prefix: DESTINATION_PREFIX, ...page, consistent: true });
  }

  pageAfter(providerId: string, notificationId: string, afterSk: string | undefined, limit: number): Promise<{ items: ReceiptItem[]; more: boolean; lastSk?: string }> {
    return queryPage<ReceiptItem>(this.client, this.table, {
      pk: receiptPk(providerId, notificationId),
      prefix: DESTINATION_PREFIX,
      limit,
      consistent: true,
      ...(afterSk === undefined ? {} : { afterSk }),
    });
  }
}
