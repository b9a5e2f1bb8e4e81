/**
 * From the queue's DynamoDB items (schema.ts) to the QueueStore port's types: the lease record, the
 * delivery gate, a queued SET and a delivery record. Unreadable attributes read as empty or closed.
 */
import type { DeliveryRecordItem, QueuedSetItem } from './schema.ts';
import type { DeliveryGate, DeliveryRecord, ErrorReport, Lease, QueuedSet } from './queue-store.ts';

/**
 * The members of a recipient's error report that are present, in their order (`err`, `description`,
 * `lang`): how a delivery record, a queued SET's last error and the operators' view carry one.
 */
export function reportMembers(report: Partial<ErrorReport> | undefined): Partial<ErrorReport> {
  return {
    ...(report?.err === undefined ? {} : { err: report.err }),
    ...(report?.description === undefined ? {} : { description: report.description }),
    ...(report?.lang === undefined ? {} : { lang: report.lang }),
  };
}

/** A delivery record item as the store's callers see it (also the operators' view, queue-admin.ts). */
export function toDeliveryRecord(item: DeliveryRecordItem): DeliveryRecord {
  return {
    jti: item.jti,
    state: item.state,
    ...reportMembers(item),
    attempts: Number(item.att ?? 0),
    at: Number(item.at),
    set: item.set,
    ttl: Number(item.ttl),
  };
}

export function toLease(item: Record<string, unknown> | undefined): Lease {
  const entries = new Map<string, number>();
  const withAcks = new Set<string>();
  for (const pair of (item?.l ?? []) as unknown[]) {
    if (Array.isArray(pair) && typeof pair[0] === 'string' && typeof pair[1] === 'number') {
      entries.set(pair[0], pair[1]);
      if (pair[2] === 1) withAcks.add(pair[0]);
    }
  }
  return { version: Number(item?.v ?? 0), entries, withAcks };
}

/** A gate item whose status is not 'disabled' holds SETs as a pause does: unreadable means closed. */
export function toGate(item: Record<string, unknown> | undefined): DeliveryGate | undefined {
  if (!item) return undefined;
  const status = item.status === 'disabled' ? 'disabled' : 'paused';
  return typeof item.after === 'string' ? { status, after: item.after } : { status };
}

export function toQueuedSet(raw: Record<string, unknown>): QueuedSet {
  const item = raw as unknown as QueuedSetItem;
  const queued = { jti: item.jti, set: item.set, ttl: Number(item.ttl), attempts: Number(item.att ?? 0) };
  if (item.err === undefined) return queued;
  return { ...queued, error: { ...reportMembers(item), err: item.err } };
}
