import type { NotificationItem } from './notifier-items.ts';
import type { ListPage } from './notifier-query.ts';

/** A notification as first stored, before its keys. */
export type NewNotification = Omit<NotificationItem, 'pk' | 'sk'>;

/** A fan-out or sweep step's progress, saved on the notification item. */
export interface ProgressChange {
  readonly set: Partial<Pick<NotificationItem, 'cursor' | 'state' | 'sweepCursor'>>;
  readonly add: Partial<Record<'queued' | 'skipped' | 'filtered' | 'withdrawnSets', number>>;
  readonly remove: readonly (keyof NotificationItem)[];
}

/**
 * Storage of Data Providers' notifications (see schema.ts), keyed by provider. Raises StorageErrors
 * only (store-errors.ts).
 */
export interface NotificationStore {
  /** Strongly consistent. */
  read(providerId: string, notificationId: string): Promise<NotificationItem | undefined>;
  /** In notificationId order, eventually consistent. InvalidCursor for a cursor of another listing. */
  list(providerId: string, page: { readonly limit: number; readonly cursor?: string | undefined }): Promise<ListPage<NotificationItem>>;
  /** Stores a new notification under the provider; ItemExists when one with this id exists. */
  create(providerId: string, fields: NewNotification): Promise<NotificationItem>;
  /** Writes the whole next revision, conditional on the stored version being `readVersion`: ItemMissing, VersionConflict. */
  replace(next: NotificationItem, readVersion: number): Promise<void>;
  /** Marks the notification withdrawn and starts its sweep, conditional on `item.version`: ItemMissing, VersionConflict. */
  withdraw(item: NotificationItem, at: string): Promise<NotificationItem>;
  /**
   * Saves fan-out progress, conditional on the version and step `item` was read at. Undefined when
   * that condition failed: a replace, a withdraw or another continuation got there first.
   */
  saveProgress(item: NotificationItem, change: ProgressChange, at: string): Promise<NotificationItem | undefined>;
}
