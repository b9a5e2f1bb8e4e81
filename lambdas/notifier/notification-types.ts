import type { NotificationClaims, NotificationItem, NotificationState } from '../store/notifier-items.ts';
import { hasWork } from './fan-out.ts';

/** The Notifier's notification API types: what the management API accepts and answers. */

/**
 * Runs `NotificationService.continueFanOut(providerId, notificationId)` later, in a fresh
 * invocation: an async Lambda self-invocation in AWS, a deferred call locally.
 *
 * Contract: when a scheduler is configured, the service itself schedules the next continuation
 * every time it stops with work left (issue, issueBulk, replace, withdraw and continueFanOut alike)
 * and says so with `scheduled: true`. A caller never schedules on its own then, so exactly one chain
 * of continuations runs per notification. A continuation that finds another one advancing
 * (`contended`) stops without scheduling: the winner owns the chain.
 */
export interface FanOutScheduler {
  schedule(providerId: string, notificationId: string): Promise<void>;
}

export interface NotificationInput {
  /** Chosen by the provider (1-128 chars of A-Z a-z 0-9 . _ ~ : -), or a UUIDv7 is made. */
  readonly notificationId?: string;
  /** `events` of the SET: event-type URI -> event object (RFC 8417). */
  readonly events: Record<string, Record<string, unknown>>;
  readonly sub?: string;
  /** RFC 9493 subject identifier. */
  readonly sub_id?: Record<string, unknown>;
  readonly txn?: string;
  /** Time of event, epoch s. */
  readonly toe?: number;
  /** How long each SET stays queued. @default the service's ttlSeconds (7 days) */
  readonly ttlSeconds?: number;
}

export interface FanOutProgress {
  /** Destinations of the current revision whose queue received its SET. */
  readonly queued: number;
  /** Destinations passed over: their eventTypes name none of the notification's event types. */
  readonly skipped: number;
  /**
   * Destinations whose SSF stream did not take the SET: an event type not in its
   * `events_delivered`, a disabled or deleted stream, or a SET outside the SSF SET profile. Nothing
   * is queued to them and they have no delivery status. Present when above 0.
   */
  readonly filtered?: number;
  /** Undelivered SETs taken back by the latest replace or withdraw. */
  readonly withdrawn: number;
  /** Fan-out or withdrawal work remains (a continuation runs or is due). */
  readonly pending: boolean;
}

export interface Notification {
  readonly notificationId: string;
  /** 1 on issue; each replace adds 1. */
  readonly revision: number;
  /** The jti of every SET of the current revision. */
  readonly jti: string;
  readonly claims: NotificationClaims;
  readonly ttlSeconds: number;
  /** `iat` of the current revision's SETs, epoch s. */
  readonly iat: number;
  /** ISO time the current revision's SETs expire. */
  readonly expiresAt: string;
  readonly state: NotificationState;
  readonly fanOut: FanOutProgress;
  /** Changes on issue, replace and withdraw (not on fan-out progress): pass it as `expectedVersion`. */
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface IssueResult {
  readonly notification: Notification;
  /** The fan-out (and any withdrawal sweep) is complete. */
  readonly done: boolean;
  /** False when the id existed with the same claims: a safe retry that resumed the existing one. */
  readonly created: boolean;
  /** A continuation was scheduled through the FanOutScheduler (only when not done). */
  readonly scheduled: boolean;
}

export interface ChangeResult {
  readonly notification: Notification;
  readonly done: boolean;
  readonly scheduled: boolean;
}

export interface FanOutResult extends ChangeResult {
  /** Another continuation advanced concurrently; this one stopped and left the work to it. */
  readonly contended: boolean;
}

/** 201 issued, 200 a safe retry or a replace or withdraw; 400, 404, 409; 503 a dependency failed (retry the item). */
export type IssueBulkStatus = 200 | 201 | 400 | 404 | 409 | 503;

export interface IssueBulkItemResult {
  readonly index: number;
  readonly notificationId?: string;
  readonly ok: boolean;
  readonly status: IssueBulkStatus;
  readonly notification?: Notification;
  readonly done?: boolean;
  readonly scheduled?: boolean;
  readonly error?: { readonly err: string; readonly description: string };
}

export interface IssueBulkResult {
  readonly results: IssueBulkItemResult[];
  readonly totals: { readonly succeeded: number; readonly failed: number };
}

/** The API view of a stored notification. */
export function toNotification(item: NotificationItem): Notification {
  return {
    notificationId: item.notificationId,
    revision: Number(item.revision),
    jti: item.jti,
    claims: item.claims,
    ttlSeconds: Number(item.ttlSeconds),
    iat: Number(item.iat),
    expiresAt: new Date((Number(item.iat) + Number(item.ttlSeconds)) * 1000).toISOString(),
    state: item.state,
    fanOut: {
      queued: Number(item.queued ?? 0),
      skipped: Number(item.skipped ?? 0),
      ...(Number(item.filtered ?? 0) > 0 ? { filtered: Number(item.filtered) } : {}),
      withdrawn: Number(item.withdrawnSets ?? 0),
      pending: hasWork(item),
    },
    version: Number(item.version),
    createdAt: item.createdAt,
    updatedAt: item.updatedAt,
  };
}
