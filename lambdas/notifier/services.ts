import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SetSigner } from '../producer/signer.ts';
import { DynamoDestinationStore } from '../store/dynamo-destination-store.ts';
import { DynamoNotificationStore } from '../store/dynamo-notification-store.ts';
import { DynamoReceiptStore } from '../store/dynamo-receipt-store.ts';
import { NotifierQueue } from '../store/notifier-queue.ts';
import type { QueueStore } from '../store/queue-store.ts';
import { DynamoAuthorizationStore } from '../store/dynamo-authorization-store.ts';
import { DynamoProviderQuotaStore } from '../store/dynamo-provider-quota-store.ts';
import { DynamoInboxStore } from '../store/dynamo-inbox-store.ts';
import { RecipientReview } from './recipient-review.ts';
import type { NotifierLimits } from './limits.ts';
import { AuthorizationService } from './authorizations.ts';
import { DestinationService } from './destinations.ts';
import { providerSetsWithdrawal } from './provider-withdrawal.ts';
import { NotificationService, type FanOutScheduler } from './notifications.ts';

/** The Notifier's services behind the management API. */
export interface NotifierServices {
  readonly destinations: DestinationService;
  readonly notifications: NotificationService;
  readonly authorizations: AuthorizationService;
  /** A recipient's review of the notifications addressed to it. */
  readonly review: RecipientReview;
}

export interface NotifierParts {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** The recipients' queues the fan-out writes to. */
  readonly queue: QueueStore;
  readonly signer: SetSigner;
  /** `iss` of every SET. */
  readonly issuer: string;
  readonly scheduler?: FanOutScheduler;
  /** Destinations per fan-out page. @default NotificationService's */
  readonly fanOutPageSize?: number;
  /** Time one call spends fanning out. @default NotificationService's */
  readonly fanOutBudgetMs?: number;
  /** Epoch ms. @default Date.now */
  readonly now?: () => number;
  /** Per-provider limits. @default the contract's NOTIFIER_LIMIT_DEFAULTS */
  readonly limits?: Partial<NotifierLimits>;
}

/**
 * Builds the Notifier's services on their DynamoDB stores; called by the composition root
 * (lambdas/composition.ts) and by tests that need the services alone.
 */
export function createNotifierServices(parts: NotifierParts): NotifierServices {
  const { client, tableName, queue, signer, issuer, scheduler, fanOutPageSize, fanOutBudgetMs, now, limits } = parts;
  const authorizationStore = new DynamoAuthorizationStore({ client, tableName });
  const quota = new DynamoProviderQuotaStore({ client, tableName });
  const inbox = new DynamoInboxStore({ client, tableName });
  const notifierQueue = new NotifierQueue({ client, tableName, queue });
  const destinations = new DestinationService({ store: new DynamoDestinationStore({ client, tableName }), authorizations: authorizationStore, quota, ...(limits ? { limits } : {}), ...(now ? { now } : {}) });
  const notifications = new NotificationService({
    notifications: new DynamoNotificationStore({ client, tableName }),
    receipts: new DynamoReceiptStore({ client, tableName }),
    queue,
    notifierQueue,
    signer,
    issuer,
    destinations,
    authorizations: authorizationStore,
    inbox,
    quota,
    ...(limits ? { limits } : {}),
    ...(scheduler ? { scheduler } : {}),
    ...(fanOutPageSize === undefined ? {} : { fanOutPageSize }),
    ...(fanOutBudgetMs === undefined ? {} : { fanOutBudgetMs }),
    ...(now ? { now } : {}),
  });
  const authorizations = new AuthorizationService({ store: authorizationStore, withdraw: providerSetsWithdrawal(notifierQueue, now) });
  const review = new RecipientReview({ inbox, queue, notifierQueue, ...(now ? { now } : {}) });
  return { destinations, notifications, authorizations, review };
}

export type NotifierFactory = typeof createNotifierServices;
