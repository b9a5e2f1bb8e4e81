/**
 * The composition root: the one place that turns a table, a client and settings into setpoll's
 * services. The poll and management Lambda entry points (lambdas/handlers/*) and the local stack
 * (local/stack.ts) all call composeServices; only how they obtain its inputs differs (environment
 * variables in Lambda, files and an in-process authorization server locally). The management
 * handler's dependencies are composed from these services in composition-management.ts.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AccessTokenVerifier } from './core/access-token.ts';
import { ClientAuthenticator } from './core/client-authenticator.ts';
import type { PollSettings } from './core/settings.ts';
import type { NotifierFactory, NotifierParts, NotifierServices } from './notifier/services.ts';
import type { SsfFactory, SsfParts, SsfServices } from './ssf/services.ts';
import type { QueueStore } from './store/queue-store.ts';
import { DynamoQueueStore, type CapacityListener } from './store/dynamo-queue-store.ts';
import { RecipientRegistry } from './store/recipient-registry.ts';

export interface ServiceInputs {
  /** From createDocumentClient (lambdas/store/document-client.ts). */
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly settings: PollSettings;
  /** The access-token check (its key source differs between Lambda and the local stack). */
  readonly tokens: AccessTokenVerifier;
  /** Receives the ConsumedCapacity of every queue call. */
  readonly onCapacity?: CapacityListener;
  /** Epoch ms, for the Notifier. @default Date.now */
  readonly now?: () => number;
  /** The Notifier's inputs; without them no Notifier services are built (the poll function). */
  readonly notifier?: NotifierInputs;
  /** The SSF transmitter's inputs; with them every Notifier enqueue goes through the stream filter. */
  readonly ssf?: SsfInputs;
}

export interface SsfInputs extends Pick<SsfParts, 'signer' | 'issuer' | 'pollUrl'> {
  /** `createSsfServices` (lambdas/ssf/services.ts), passed in for the same reason as the Notifier's. */
  readonly create: SsfFactory;
}

export interface NotifierInputs extends Pick<NotifierParts, 'signer' | 'issuer' | 'scheduler' | 'fanOutPageSize' | 'fanOutBudgetMs' | 'limits'> {
  /**
   * `createNotifierServices` (lambdas/notifier/services.ts). Passed in rather than imported here,
   * so the poll function's bundle, which imports this module, holds no Notifier code.
   */
  readonly create: NotifierFactory;
}

export interface Services {
  readonly tableName: string;
  readonly settings: PollSettings;
  readonly store: DynamoQueueStore;
  readonly registry: RecipientRegistry;
  readonly authenticator: ClientAuthenticator;
  readonly tokens: AccessTokenVerifier;
}

export function composeServices(inputs: ServiceInputs & { readonly notifier: NotifierInputs; readonly ssf: SsfInputs }): Services & NotifierServices & SsfServices;
export function composeServices(inputs: ServiceInputs & { readonly notifier: NotifierInputs }): Services & NotifierServices & Partial<SsfServices>;
export function composeServices(inputs: ServiceInputs): Services;
export function composeServices(inputs: ServiceInputs): Services & Partial<NotifierServices> & Partial<SsfServices> {
  const { client, tableName, settings, tokens, onCapacity, now, notifier, ssf } = inputs;
  const store = new DynamoQueueStore({ client, tableName, ...(onCapacity ? { onCapacity } : {}) });
  const registry = new RecipientRegistry({ client, tableName });
  const authenticator = new ClientAuthenticator({ registry, realm: settings.realm, cacheSeconds: settings.identityCacheSeconds });
  const services: Services = { tableName, settings, store, registry, authenticator, tokens };
  const ssfServices = ssf ? ssf.create({ client, tableName, store, signer: ssf.signer, issuer: ssf.issuer, pollUrl: ssf.pollUrl, ...(now ? { now } : {}) }) : undefined;
  // With SSF, what the Notifier queues passes the stream filter (the poll reads the plain store).
  const queue: QueueStore = ssfServices?.streamQueue ?? store;
  if (!notifier) return { ...services, ...ssfServices };
  const { create, ...parts } = notifier;
  return { ...services, ...ssfServices, ...create({ client, tableName, queue, ...parts, ...(now ? { now } : {}) }) };
}
