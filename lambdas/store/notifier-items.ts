/**
 * The Notifier's items as stored (see the table in schema.ts). Only lambdas/notifier/ and the
 * notifier-* store modules read or write them.
 */

/** A Data Provider's notification destination: a recipient (SET queue) and the event types it wants. */
export interface DestinationItem {
  pk: string;
  sk: string;
  clientId: string;
  /** Event-type URIs; absent means every type. */
  eventTypes?: string[];
  version: number;
  createdAt: string;
  updatedAt: string;
}

export type NotificationState = 'fanning_out' | 'issued' | 'withdrawn';

/** The SET claims a notification carries besides iss, iat, jti and aud. */
export interface NotificationClaims {
  events: Record<string, Record<string, unknown>>;
  sub?: string;
  sub_id?: Record<string, unknown>;
  txn?: string;
  toe?: number;
}

export interface NotificationItem {
  pk: string;
  sk: string;
  notificationId: string;
  /** 1 on issue; each replace adds 1 and makes a new jti. */
  revision: number;
  /** The jti of every SET of this revision: made once, so a retried fan-out re-puts the same jti. */
  jti: string;
  /** `iat` of this revision's SETs, epoch s; they expire at iat + ttlSeconds. */
  iat: number;
  claims: NotificationClaims;
  ttlSeconds: number;
  state: NotificationState;
  /** Fan-out: the last destination sk processed. */
  cursor?: string;
  queued: number;
  skipped: number;
  /** Destinations whose SSF stream did not take the SET (absent until one did not). */
  filtered?: number;
  /** True while undelivered SETs of earlier revisions (or, once withdrawn, of this one) are withdrawn. */
  sweeping?: boolean;
  /** Sweep: the last receipt sk processed. */
  sweepCursor?: string;
  /** SETs taken out of queues by the current sweep. */
  withdrawnSets: number;
  /** Progress saves so far: the condition that lets only one of two concurrent continuations advance. */
  step: number;
  /** The caller-visible version: changes on issue, replace and withdraw, not on fan-out progress. */
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** One Notifier SET queued to a recipient, in the recipient's inbox: what its review lists. */
export interface InboxItem extends ReceiptItem {
  providerId: string;
  notificationId: string;
  ttl: number;
}

/** One notification revision's SET queued to one destination: where status is read from. */
export interface ReceiptItem {
  pk: string;
  sk: string;
  clientId: string;
  jti: string;
  revision: number;
  queuedAt: string;
  /** Epoch s: the SET's `ttl`. */
  expiresAt: number;
  withdrawn?: boolean;
  withdrawnAt?: string;
}
