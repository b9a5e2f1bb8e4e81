import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SetSigner } from '../producer/signer.ts';
import type { QueueStore } from '../store/queue-store.ts';
import { DestinationService } from './destinations.ts';
import { NotificationService, type FanOutScheduler } from './notifications.ts';

/** The Notifier's services behind the management API. */
export interface NotifierServices {
  readonly destinations: DestinationService;
  readonly notifications: NotificationService;
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
}

/** Builds the Notifier's services; called by the composition root (lambdas/composition.ts) only. */
export function createNotifierServices(parts: NotifierParts): NotifierServices {
  const { client, tableName, queue, signer, issuer, scheduler, fanOutPageSize, fanOutBudgetMs, now } = parts;
  const destinations = new DestinationService({ client, tableName, ...(now ? { now } : {}) });
  const notifications = new NotificationService({
    client,
    tableName,
    queue,
    signer,
    issuer,
    destinations,
    ...(scheduler ? { scheduler } : {}),
    ...(fanOutPageSize === undefined ? {} : { fanOutPageSize }),
    ...(fanOutBudgetMs === undefined ? {} : { fanOutBudgetMs }),
    ...(now ? { now } : {}),
  });
  return { destinations, notifications };
}

export type NotifierFactory = typeof createNotifierServices;
