import type { InboxStore } from '../store/inbox-store.ts';
import type { NotifierQueue } from '../store/notifier-queue.ts';
import type { QueueStore } from '../store/queue-store.ts';
import { InvalidCursor } from '../store/store-errors.ts';
import { InvalidRequest } from '../core/errors.ts';
import { readStatuses, type DestinationStatus } from './status.ts';
import { inProtocol } from './storage-errors.ts';
import { checkLimit } from './validation.ts';

/** A notification SET addressed to the recipient, with where it is now (see DeliveryState). */
export type AddressedNotification = Omit<DestinationStatus, 'clientId'> & {
  /** The Data Provider that issued it (the SET's `data_provider`). */
  readonly providerId: string;
  readonly notificationId: string;
};

export interface RecipientReviewOptions {
  readonly inbox: InboxStore;
  readonly queue: QueueStore;
  readonly notifierQueue: NotifierQueue;
  /** Epoch ms. @default Date.now */
  readonly now?: () => number;
}

/**
 * A recipient's review of the notifications addressed to it (the Notifier's "enabling Data
 * Consumers to review notification information"): one entry per SET a Data Provider's notification
 * queued to it, each revision its own, in the order they were made, with the delivery state the
 * provider's status shows too. Keyed by the authenticated recipient only: never another's.
 */
export class RecipientReview {
  readonly #inbox: InboxStore;
  readonly #queue: QueueStore;
  readonly #notifierQueue: NotifierQueue;
  readonly #now: () => number;

  constructor(options: RecipientReviewOptions) {
    this.#inbox = options.inbox;
    this.#queue = options.queue;
    this.#notifierQueue = options.notifierQueue;
    this.#now = options.now ?? Date.now;
  }

  async notifications(recipientId: string, page: { limit?: number; cursor?: string }): Promise<{ items: AddressedNotification[]; nextCursor?: string }> {
    const limit = checkLimit(page.limit);
    const found = await this.#inbox.list(recipientId, { limit, cursor: page.cursor }).catch((error: unknown) => {
      throw error instanceof InvalidCursor ? new InvalidRequest(error.message, { cause: error }) : error;
    });
    const statuses = await inProtocol({ kind: 'notification', id: '' }, () => readStatuses(this.#queue, this.#notifierQueue, found.items, this.#now()));
    const items = statuses.map(({ clientId: _recipient, ...status }, index): AddressedNotification => {
      const entry = found.items[index]!;
      return { providerId: entry.providerId, notificationId: entry.notificationId, ...status };
    });
    return { items, ...(found.nextCursor ? { nextCursor: found.nextCursor } : {}) };
  }
}
