import type { InboxItem } from './notifier-items.ts';
import type { ListPage } from './notifier-query.ts';

/** An inbox entry as recorded, before its keys and ttl. */
export type NewInboxEntry = Omit<InboxItem, 'pk' | 'sk' | 'ttl' | 'withdrawn' | 'withdrawnAt'>;

/**
 * Each recipient's inbox: one entry per Notifier SET queued to it (the port; DynamoInboxStore is the
 * adapter), so a recipient can review what was addressed to it. Keyed by the recipient: nothing here
 * reaches another recipient's entries. Raises StorageErrors only.
 */
export interface InboxStore {
  /** Records the entry; a retry keeps the first. */
  record(entry: NewInboxEntry): Promise<void>;
  /** In jti order (the order the SETs were made), strongly consistent. InvalidCursor for a cursor of another listing. */
  list(recipientId: string, page: { readonly limit: number; readonly cursor?: string | undefined }): Promise<ListPage<InboxItem>>;
}
