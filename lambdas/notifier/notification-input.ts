import { InvalidRequest } from '../core/errors.ts';
import { uuidv7 } from '../producer/uuidv7.ts';
import type { NotificationClaims, NotificationItem } from '../store/notifier-items.ts';
import { checkClaims, checkExpectedVersion, checkNotificationId, checkTtlSeconds, isObject, rejectUnknownMembers } from './validation.ts';

const NOTIFICATION_MEMBERS = new Set(['notificationId', 'events', 'sub', 'sub_id', 'txn', 'toe', 'ttlSeconds']);

/** A validated notification. */
export interface ParsedNotification {
  readonly notificationId?: string;
  readonly claims: NotificationClaims;
  readonly ttlSeconds: number;
}

/** Checks a notification as given; `ttlSeconds` defaults to `defaultTtlSeconds`; its claims may take `maxClaimsBytes` of JSON. */
export function parseNotification(input: unknown, defaultTtlSeconds: number, maxClaimsBytes: number): ParsedNotification {
  if (!isObject(input)) throw new InvalidRequest('The notification must be a JSON object');
  rejectUnknownMembers(input, NOTIFICATION_MEMBERS, 'the notification');
  return {
    ...(input.notificationId === undefined ? {} : { notificationId: checkNotificationId(input.notificationId) }),
    claims: checkClaims(input, maxClaimsBytes),
    ttlSeconds: checkTtlSeconds(input.ttlSeconds, defaultTtlSeconds),
  };
}

/** One operation of a notification bulk request, its shape checked (its claims are checked as it runs). */
export type NotificationOperation =
  | { readonly op: 'issue'; readonly input: Record<string, unknown> }
  | { readonly op: 'replace'; readonly notificationId: string; readonly input: Record<string, unknown>; readonly expectedVersion: number | undefined }
  | { readonly op: 'withdraw'; readonly notificationId: string; readonly expectedVersion: number | undefined };

const WITHDRAW_MEMBERS = new Set(['op', 'notificationId', 'expectedVersion']);

/** `{op: issue|replace|withdraw, …}`: issue and replace carry a notification, replace and withdraw its id and an optional expectedVersion. */
export function parseNotificationOperation(raw: unknown): NotificationOperation {
  if (!isObject(raw)) throw new InvalidRequest('Each operation must be a JSON object');
  const { op, expectedVersion, ...input } = raw;
  switch (op) {
    case 'issue':
      if (expectedVersion !== undefined) throw new InvalidRequest('issue takes no expectedVersion');
      return { op, input };
    case 'replace':
      return { op, notificationId: checkNotificationId(input.notificationId), input, expectedVersion: checkExpectedVersion(expectedVersion) };
    case 'withdraw':
      rejectUnknownMembers(raw, WITHDRAW_MEMBERS, 'a withdraw operation');
      return { op, notificationId: checkNotificationId(input.notificationId), expectedVersion: checkExpectedVersion(expectedVersion) };
    default:
      throw new InvalidRequest('op must be "issue", "replace" or "withdraw"');
  }
}

/** The InvalidRequest a notification earns, or undefined when it is valid. */
export function notificationError(input: unknown, defaultTtlSeconds: number, maxClaimsBytes: number): InvalidRequest | undefined {
  try {
    parseNotification(input, defaultTtlSeconds, maxClaimsBytes);
    return undefined;
  } catch (error) {
    if (error instanceof InvalidRequest) return error;
    throw error;
  }
}

/** The next revision of `current` with the parsed claims: a new jti and iat, its fan-out to run after a sweep of the old one. */
export function nextRevision(current: NotificationItem, parsed: ParsedNotification, nowMs: number): NotificationItem {
  const { cursor: _cursor, sweepCursor: _sweepCursor, filtered: _filtered, ...kept } = current;
  return {
    ...kept,
    revision: current.revision + 1,
    jti: uuidv7(nowMs),
    iat: Math.floor(nowMs / 1000),
    claims: parsed.claims,
    ttlSeconds: parsed.ttlSeconds,
    state: 'fanning_out',
    queued: 0,
    skipped: 0,
    sweeping: true,
    withdrawnSets: 0,
    step: current.step + 1,
    version: current.version + 1,
    updatedAt: new Date(nowMs).toISOString(),
  };
}
