import { InvalidRequest } from '../core/errors.ts';
import type { NotificationClaims } from '../store/notifier-items.ts';
import { checkClaims, checkNotificationId, checkTtlSeconds, isObject, rejectUnknownMembers } from './validation.ts';

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
