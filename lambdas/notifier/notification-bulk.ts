import { SetpollError } from '../core/errors.ts';
import type { NotificationItem } from '../store/notifier-items.ts';
import { mapLimit } from '../shared/helpers.ts';
import { hasWork, type Advance } from './fan-out.ts';
import { toNotification, type IssueBulkItemResult, type IssueBulkResult, type NotificationInput } from './notification-types.ts';
import { isObject } from './validation.ts';

/** Notifications of one bulk request created (and fanned out) at once. */
const BULK_CONCURRENCY = 8;
const BULK_FAN_OUT_CONCURRENCY = 4;

/** What a bulk issue needs of NotificationService. */
export interface BulkIssuer {
  /** Parses and creates one notification (or finds the same one: `created: false`). */
  create(providerId: string, input: unknown): Promise<{ item: NotificationItem; created: boolean }>;
  /** Fans out within the budget from `startedAt`; `minPages` 0 lets a late item do none. */
  advance(providerId: string, item: NotificationItem, startedAt: number, minPages: number): Promise<Advance>;
  scheduleIfDue(providerId: string, advance: Advance): Promise<boolean>;
}

/**
 * Notifications (their number checked by the caller), each answered on its own. All are created
 * first; then they fan out within one shared time budget, and those not done are scheduled.
 */
export async function issueBulk(issuer: BulkIssuer, providerId: string, inputs: readonly NotificationInput[], startedAt: number): Promise<IssueBulkResult> {
  const results = new Array<IssueBulkItemResult>(inputs.length);
  const created = new Map<number, { item: NotificationItem; created: boolean }>();
  await mapLimit(inputs, BULK_CONCURRENCY, async (input: unknown, index) => {
    const givenId = isObject(input) && typeof input.notificationId === 'string' ? input.notificationId : undefined;
    try {
      created.set(index, await issuer.create(providerId, input));
    } catch (error) {
      results[index] = bulkFailure(index, givenId, error);
    }
  });
  await mapLimit([...created], BULK_FAN_OUT_CONCURRENCY, async ([index, { item, created: isNew }]) => {
    let advance: Advance = { item, done: !hasWork(item), contended: false };
    let scheduled = false;
    try {
      // Fan out only while the shared budget lasts; the rest is scheduled right away.
      advance = await issuer.advance(providerId, item, startedAt, 0);
      scheduled = await issuer.scheduleIfDue(providerId, advance);
    } catch (error) {
      // The notification exists; retrying the same item resumes its fan-out safely.
      results[index] = { ...bulkFailure(index, item.notificationId, error), notification: toNotification(advance.item) };
      return;
    }
    results[index] = {
      index,
      notificationId: item.notificationId,
      ok: true,
      status: isNew ? 201 : 200,
      notification: toNotification(advance.item),
      done: advance.done,
      scheduled,
    };
  });
  const succeeded = results.filter((r) => r.ok).length;
  return { results, totals: { succeeded, failed: results.length - succeeded } };
}

/** Every notification answered as failed, each with `errorOf(input)` (nothing was created). */
export function notIssued(inputs: readonly unknown[], errorOf: (input: unknown) => unknown): IssueBulkResult {
  const results = inputs.map((input, index) => bulkFailure(index, isObject(input) && typeof input.notificationId === 'string' ? input.notificationId : undefined, errorOf(input)));
  return { results, totals: { succeeded: 0, failed: results.length } };
}

function bulkFailure(index: number, notificationId: string | undefined, error: unknown): IssueBulkItemResult {
  const base = { index, ...(notificationId === undefined ? {} : { notificationId }), ok: false };
  if (error instanceof SetpollError && error.expose && (error.statusCode === 400 || error.statusCode === 409)) {
    return { ...base, status: error.statusCode, error: { err: error.code, description: error.message } };
  }
  if (error instanceof TypeError) throw error;
  return {
    ...base,
    status: 503,
    error: { err: 'temporarily_unavailable', description: 'A dependency failed; retry this notification with the same id and claims' },
  };
}
