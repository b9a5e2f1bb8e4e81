import type { ReceiptItem } from './notifier-items.ts';
import type { ListPage } from './notifier-query.ts';

/**
 * Storage of receipts: one per notification and destination its SET was queued to (the latest
 * revision's). Raises StorageErrors only.
 */
export interface ReceiptStore {
  /** The (clientId, revision) of the receipts held for these destinations, strongly consistent. */
  revisions(providerId: string, notificationId: string, clientIds: readonly string[]): Promise<{ clientId: string; revision: number }[]>;
  /** Records a receipt unless one of this or a newer revision exists (a retry keeps the first). */
  record(providerId: string, notificationId: string, receipt: Omit<ReceiptItem, 'pk' | 'sk'>): Promise<void>;
  /** In clientId order, strongly consistent. InvalidCursor for a cursor of another listing. */
  list(providerId: string, notificationId: string, page: { readonly limit: number; readonly cursor?: string | undefined }): Promise<ListPage<ReceiptItem>>;
  /** The withdrawal sweep's read: after the sort key `afterSk`, strongly consistent. */
  pageAfter(providerId: string, notificationId: string, afterSk: string | undefined, limit: number): Promise<{ items: ReceiptItem[]; more: boolean; lastSk?: string }>;
}
