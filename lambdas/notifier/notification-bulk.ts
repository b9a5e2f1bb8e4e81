import { InvalidRequest, SetpollError } from '../core/errors.ts';
import type { NotificationAdmission } from './admission.ts';
import type { NotificationItem } from '../store/notifier-items.ts';
import { mapLimit } from '../shared/helpers.ts';
import { hasWork, type Advance } from './fan-out.ts';
import { parseNotificationOperation, type NotificationOperation } from './notification-input.ts';
import { toNotification, type IssueBulkItemResult, type IssueBulkResult } from './notification-types.ts';
import { isObject } from './validation.ts';

/** Operations of one bulk request applied (written) at once. */
const BULK_CONCURRENCY = 8;
const BULK_FAN_OUT_CONCURRENCY = 4;

/** What a bulk request needs of NotificationService. */
export interface BulkIssuer {
  /**
   * One operation's write, as the single-item API makes it (issue: create, or find the same one:
   * 200; replace: the next revision; withdraw: the withdrawal), without its fan-out.
   */
  apply(providerId: string, operation: NotificationOperation): Promise<{ item: NotificationItem; status: 200 | 201 }>;
  /** Fans out within the budget from `startedAt`; `minPages` 0 lets a late item do none. */
  advance(providerId: string, item: NotificationItem, startedAt: number, minPages: number): Promise<Advance>;
  scheduleIfDue(providerId: string, advance: Advance): Promise<boolean>;
}

/** Each operation parsed, or the InvalidRequest it earned; a notificationId may appear once per request. */
export function parseOperations(raw: readonly unknown[]): (NotificationOperation | InvalidRequest)[] {
  const seen = new Set<string>();
  return raw.map((item) => {
    try {
      const operation = parseNotificationOperation(item);
      const id = operation.op === 'issue' ? (typeof operation.input.notificationId === 'string' ? operation.input.notificationId : undefined) : operation.notificationId;
      if (id !== undefined && seen.has(id)) throw new InvalidRequest(`notificationId ${id} appears more than once in the bulk request`);
      if (id !== undefined) seen.add(id);
      return operation;
    } catch (error) {
      if (error instanceof InvalidRequest) return error;
      throw error;
    }
  });
}

/**
 * Operations (their number checked by the caller), each answered on its own. All are written first
 * (issues created, replaces' next revisions, withdrawals); then their fan-outs and withdrawal sweeps
 * run within one shared time budget, and those not done are scheduled.
 */
export async function applyBulk(issuer: BulkIssuer, providerId: string, operations: readonly (NotificationOperation | InvalidRequest)[], raw: readonly unknown[], startedAt: number): Promise<IssueBulkResult> {
  const results = new Array<IssueBulkItemResult>(operations.length);
  const written = new Map<number, { item: NotificationItem; status: 200 | 201 }>();
  // An id repeated (only `notifications` allows it) is written in the order given: the first is
  // created, a later one is its safe retry or a 409, never the other way round.
  const previous = new Map<string, Promise<unknown>>();
  await mapLimit(operations, BULK_CONCURRENCY, async (operation, index) => {
    if (operation instanceof InvalidRequest) return void (results[index] = bulkFailure(index, givenId(raw[index]), operation));
    const id = givenId(raw[index]);
    const write = (previous.get(id ?? '') ?? Promise.resolve()).then(() => issuer.apply(providerId, operation));
    if (id !== undefined) previous.set(id, write.catch(() => undefined));
    try {
      written.set(index, await write);
    } catch (error) {
      results[index] = bulkFailure(index, givenId(raw[index]), error);
    }
  });
  await mapLimit([...written], BULK_FAN_OUT_CONCURRENCY, async ([index, { item, status }]) => {
    let advance: Advance = { item, done: !hasWork(item), contended: false };
    let scheduled = false;
    try {
      // Fan out only while the shared budget lasts; the rest is scheduled right away.
      advance = await issuer.advance(providerId, item, startedAt, 0);
      scheduled = await issuer.scheduleIfDue(providerId, advance);
    } catch (error) {
      // The change is written; retrying the same item resumes its fan-out safely.
      results[index] = { ...bulkFailure(index, item.notificationId, error), notification: toNotification(advance.item) };
      return;
    }
    results[index] = { index, notificationId: item.notificationId, ok: true, status, notification: toNotification(advance.item), done: advance.done, scheduled };
  });
  const succeeded = results.filter((r) => r.ok).length;
  return { results, totals: { succeeded, failed: results.length - succeeded } };
}

/** Every operation answered as failed, each with `errorOf(index)` (nothing was written). */
export function notApplied(raw: readonly unknown[], errorOf: (index: number) => unknown): IssueBulkResult {
  const results = raw.map((item, index) => bulkFailure(index, givenId(item), errorOf(index)));
  return { results, totals: { succeeded: 0, failed: results.length } };
}

const givenId = (raw: unknown): string | undefined => (isObject(raw) && typeof raw.notificationId === 'string' ? raw.notificationId : undefined);

function bulkFailure(index: number, notificationId: string | undefined, error: unknown): IssueBulkItemResult {
  const base = { index, ...(notificationId === undefined ? {} : { notificationId }), ok: false };
  if (error instanceof SetpollError && error.expose && (error.statusCode === 400 || error.statusCode === 404 || error.statusCode === 409)) {
    return { ...base, status: error.statusCode, error: { err: error.code, description: error.message } };
  }
  if (error instanceof TypeError) throw error;
  return {
    ...base,
    status: 503,
    error: { err: 'temporarily_unavailable', description: 'A dependency failed; retry this notification with the same id and claims' },
  };
}

/**
 * The bulk request as a whole: its valid issues and replaces are admitted first (the SETs-per-request
 * limit, 400, and the rate, 429, refuse the whole request); a dependency failure there is each
 * operation's 503, as it would be later. Then applyBulk.
 */
export async function admittedBulk(
  parts: { readonly issuer: BulkIssuer; readonly admission: NotificationAdmission; readonly problemOf: (input: unknown) => InvalidRequest | undefined },
  providerId: string,
  raw: readonly unknown[],
  operations: readonly (NotificationOperation | InvalidRequest)[],
  startedAt: number,
): Promise<IssueBulkResult> {
  const problems = operations.map((operation) => (operation instanceof InvalidRequest ? operation : operation.op === 'withdraw' ? undefined : parts.problemOf(operation.input)));
  const signing = operations.filter((operation, index) => problems[index] === undefined && !(operation instanceof InvalidRequest) && operation.op !== 'withdraw').length;
  try {
    if (signing > 0) await parts.admission.admitBulk(providerId, signing);
  } catch (error) {
    if (error instanceof SetpollError && error.statusCode < 500) throw error;
    return notApplied(raw, (index) => problems[index] ?? error);
  }
  return applyBulk(parts.issuer, providerId, operations, raw, startedAt);
}
