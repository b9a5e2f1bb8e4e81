import { QueueStore, type DeliveryRecord, type EnqueueOutcome, type ErrorReport, type Lease, type NewSet, type QueueHead, type QueuePage, type QueuedSet } from './queue-store.ts';

/**
 * A QueueStore that hands every call, arguments and answer unchanged, to the store it wraps
 * (`inner`): the base of a store that changes some calls and keeps the rest, as the SSF stream
 * filter (lambdas/ssf/stream-queue-store.ts) changes only `enqueue`.
 */
export class ForwardingQueueStore extends QueueStore {
  /** The wrapped store. */
  readonly inner: QueueStore;

  constructor(inner: QueueStore) {
    super();
    this.inner = inner;
  }

  enqueue(clientId: string, set: NewSet): Promise<EnqueueOutcome> {
    return this.inner.enqueue(clientId, set);
  }
  readLease(clientId: string, consistent: boolean): Promise<Lease> {
    return this.inner.readLease(clientId, consistent);
  }
  readHead(clientId: string, limit: number, consistent: boolean): Promise<QueueHead> {
    return this.inner.readHead(clientId, limit, consistent);
  }
  readQueue(clientId: string, limit: number, start?: Record<string, unknown>, consistent?: boolean): Promise<QueuePage> {
    return this.inner.readQueue(clientId, limit, start, consistent);
  }
  writeLease(clientId: string, expectedVersion: number, entries: ReadonlyMap<string, number>, withAcks?: ReadonlySet<string>): Promise<void> {
    return this.inner.writeLease(clientId, expectedVersion, entries, withAcks);
  }
  acknowledge(clientId: string, jtis: readonly string[]): Promise<{ readonly queued: number; readonly failed: number }> {
    return this.inner.acknowledge(clientId, jtis);
  }
  deleteSets(clientId: string, jtis: readonly string[]): Promise<number> {
    return this.inner.deleteSets(clientId, jtis);
  }
  recordError(clientId: string, jti: string, report: ErrorReport, now: number): Promise<boolean> {
    return this.inner.recordError(clientId, jti, report, now);
  }
  noteError(clientId: string, jti: string, report: ErrorReport, now: number): Promise<boolean> {
    return this.inner.noteError(clientId, jti, report, now);
  }
  markFailed(clientId: string, item: QueuedSet, now: number): Promise<boolean> {
    return this.inner.markFailed(clientId, item, now);
  }
  countAttempts(clientId: string, jtis: readonly string[]): Promise<void> {
    return this.inner.countAttempts(clientId, jtis);
  }
  readRecord(clientId: string, jti: string): Promise<DeliveryRecord | undefined> {
    return this.inner.readRecord(clientId, jti);
  }
}
