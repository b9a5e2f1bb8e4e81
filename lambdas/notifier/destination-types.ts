/** The Notifier's destination API types: what the management API accepts and answers. */
import type { DestinationItem } from '../store/notifier-items.ts';
import { destinationSk, providerPk } from '../store/schema.ts';
import { AccessDenied } from '../core/errors.ts';
import { NOTIFIER_LIMIT_DEFAULTS } from '../contract.ts';

/** A Data Provider's notification destination: a recipient and the event types it receives. */
export interface Destination {
  readonly clientId: string;
  /** Event-type URIs the destination receives; absent means every type. */
  readonly eventTypes?: readonly string[];
  /** Starts at 1; each update adds 1. Pass it back as `expectedVersion` for optimistic concurrency. */
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface RegisterDestinationInput {
  readonly clientId: string;
  /** Omitted (or null): every event type. */
  readonly eventTypes?: readonly string[] | null;
}

export interface UpdateDestinationInput {
  /** The new list, or null for every event type. Required. */
  readonly eventTypes?: readonly string[] | null;
}

export interface ListOptions {
  /** 1 to 100. @default 50 */
  readonly limit?: number;
  /** `nextCursor` of the previous page. */
  readonly cursor?: string;
}

export interface Page<T> {
  readonly items: T[];
  /** Present exactly when more items follow. Opaque. */
  readonly nextCursor?: string;
}

export type BulkOp = 'register' | 'update' | 'delete';

export interface BulkOperation {
  readonly op: BulkOp;
  readonly clientId: string;
  readonly eventTypes?: readonly string[] | null;
  readonly expectedVersion?: number;
}

export interface BulkItemError {
  readonly err: string;
  readonly description: string;
}

/**
 * 201 registered, 200 updated, 204 deleted; 400, 404, 409 as for the single operations;
 * 424 (atomic only) valid but not applied because another operation of the batch failed;
 * 503 a dependency failed on this item (non-atomic only): it may or may not have been applied.
 */
export type BulkItemStatus = 200 | 201 | 204 | 400 | 403 | 404 | 409 | 424 | 503;

export interface BulkItemResult {
  readonly index: number;
  /** As given; '' when the operation carried no string clientId. */
  readonly clientId: string;
  readonly ok: boolean;
  readonly status: BulkItemStatus;
  /** The destination after a register or an update. */
  readonly destination?: Destination;
  readonly error?: BulkItemError;
}

export interface BulkResult {
  readonly atomic: boolean;
  /** Atomic: whether the whole batch was applied. Non-atomic: whether any operation was. */
  readonly applied: boolean;
  /** One per operation, in the order given. */
  readonly results: BulkItemResult[];
  readonly totals: { readonly succeeded: number; readonly failed: number };
}

/** The documented cap on operations per bulk request; also DynamoDB's cap on one transaction. */
export const MAX_BULK_ITEMS = NOTIFIER_LIMIT_DEFAULTS.maxBulkItems;

/** The API view of a stored destination. */
export const toDestination = (item: DestinationItem): Destination => ({
  clientId: item.clientId,
  ...(item.eventTypes === undefined ? {} : { eventTypes: [...item.eventTypes] }),
  version: Number(item.version),
  createdAt: item.createdAt,
  updatedAt: item.updatedAt,
});

/** A destination as first stored: version 1. */
export function newDestinationItem(providerId: string, clientId: string, eventTypes: string[] | undefined, at: string): DestinationItem {
  return {
    pk: providerPk(providerId),
    sk: destinationSk(clientId),
    clientId,
    ...(eventTypes === undefined ? {} : { eventTypes }),
    version: 1,
    createdAt: at,
    updatedAt: at,
  };
}

/**
 * The one answer for a recipient that has not authorized the provider, and for an id no recipient
 * has: the same status and body, so a provider cannot probe which client ids exist. (An
 * authorization is made by the recipient itself or by the operator, so an unknown id has none.)
 */
export const notAuthorized = (): AccessDenied =>
  new AccessDenied('Not authorized to notify this client id: the recipient must first authorize this Data Provider');
