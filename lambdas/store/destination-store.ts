import type { DestinationItem } from './notifier-items.ts';
import type { ListPage } from './notifier-query.ts';

/** One write of an atomic batch of destination changes. */
export type DestinationWrite =
  /** Creates the destination; refused (ItemExists) when it exists. */
  | { readonly kind: 'create'; readonly item: DestinationItem }
  /** Writes the whole new item, conditional on the stored version being `expectedVersion`. */
  | { readonly kind: 'replace'; readonly item: DestinationItem; readonly expectedVersion: number }
  /** Deletes the destination, conditional on its existence (and version, when given). */
  | { readonly kind: 'delete'; readonly clientId: string; readonly expectedVersion?: number | undefined };

/**
 * Storage of Data Providers' notification destinations (see schema.ts), keyed by provider: nothing
 * here can reach another provider's items. Raises StorageErrors only (store-errors.ts).
 */
export interface DestinationStore {
  /** Strongly consistent. */
  get(providerId: string, clientId: string): Promise<DestinationItem | undefined>;
  /** Strongly consistent batch read; keyed by clientId. */
  getMany(providerId: string, clientIds: readonly string[]): Promise<Map<string, DestinationItem>>;
  /** In clientId order, eventually consistent. InvalidCursor for a cursor of another listing. */
  list(providerId: string, page: { readonly limit: number; readonly cursor?: string | undefined }): Promise<ListPage<DestinationItem>>;
  /** The fan-out's read: after the sort key `afterSk`, strongly consistent; `more` is exact. */
  pageAfter(providerId: string, afterSk: string | undefined, limit: number): Promise<{ items: DestinationItem[]; more: boolean }>;
  /** ItemExists when the provider has a destination with this clientId. */
  create(item: DestinationItem): Promise<void>;
  /**
   * Sets (or, with null, removes) the event types and adds 1 to the version. ItemMissing when
   * absent; VersionConflict when `expectedVersion` is given and stale.
   */
  updateEventTypes(providerId: string, clientId: string, change: { eventTypes: string[] | null; expectedVersion?: number | undefined; at: string }): Promise<DestinationItem>;
  /** ItemMissing when absent; VersionConflict when `expectedVersion` is given and stale. */
  delete(providerId: string, clientId: string, expectedVersion?: number): Promise<void>;
  /**
   * All or nothing. When refused, a TransactionRefused says why per write index (ItemExists,
   * ItemMissing, VersionConflict, WriteContended, StoreUnavailable); writes without a reason were
   * valid but not applied.
   */
  applyAtomically(providerId: string, writes: readonly DestinationWrite[]): Promise<void>;
}

