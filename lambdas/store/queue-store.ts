import type { RecordState } from './schema.ts';
import { codedStorageError } from './store-errors.ts';

/** A SET waiting in a recipient's queue, as the poll logic sees it. */
export interface QueuedSet {
  readonly jti: string;
  /** The compact JWS. */
  readonly set: string;
  /** Expiry, epoch seconds. */
  readonly ttl: number;
  /** Deliveries so far; only counted when a delivery-attempt limit is configured. */
  readonly attempts: number;
  /** The last error the recipient reported while the SET stayed queued (erroredSets `redeliver`). */
  readonly error?: ErrorReport;
}

/** A recipient's lease record: jti -> epoch ms until which that SET is withheld. Version 0: none yet. */
export interface Lease {
  readonly version: number;
  readonly entries: ReadonlyMap<string, number>;
  /**
   * Of `entries`, the SETs that went out in the response to a request carrying `ack` or `setErrs`:
   * when one comes back unacknowledged, its recipient likely ignores the SETs in such responses.
   */
  readonly withAcks: ReadonlySet<string>;
}

export interface QueuePage {
  readonly items: readonly QueuedSet[];
  /** Opaque; present when the queue may hold more items after this page. */
  readonly next?: Record<string, unknown>;
}

/**
 * An SSF stream that is not enabled holds its SETs: none is delivered, except (for a pause the
 * transmitter announced) those whose jti sorts at or before `after`, the announcement itself.
 */
export interface DeliveryGate {
  readonly status: 'paused' | 'disabled';
  readonly after?: string;
}

/** A recipient's lease record and the first page of its queue, read together. */
export interface QueueHead {
  readonly lease: Lease;
  readonly page: QueuePage;
  /** Present while the recipient's SSF stream is paused or disabled. */
  readonly gate?: DeliveryGate;
}

/**
 * 'filtered': a stream-aware store did not queue the SET (its type is not delivered to that stream).
 * 'unauthorized': a SET with an `origin` whose recipient does not authorize its provider.
 */
export type EnqueueOutcome = 'queued' | 'duplicate' | 'filtered' | 'unauthorized';

export interface ErrorReport {
  readonly err: string;
  readonly description?: string;
  readonly lang?: string;
}

export interface NewSet {
  readonly jti: string;
  readonly set: string;
  readonly ttl: number;
  /**
   * A Notifier SET's Data Provider and notification. The put is then conditional on the recipient's
   * authorization of that provider (else 'unauthorized', nothing queued), and the item names both.
   */
  readonly origin?: { readonly providerId: string; readonly notificationId: string };
}

export interface DeliveryRecord {
  readonly jti: string;
  readonly state: RecordState;
  readonly err?: string;
  readonly description?: string;
  readonly lang?: string;
  readonly attempts: number;
  /** When the record was written, epoch ms. */
  readonly at: number;
  readonly set: string;
  readonly ttl: number;
}

/** Thrown when a lease record changed between read and write: another poll won; retry. */
export class LeaseConflict extends codedStorageError('LeaseConflict', 'lease_conflict') {
  constructor(clientId: string) {
    super(`The lease record of ${clientId} changed concurrently`);
  }
}

/**
 * The persistence the poll protocol needs, behind an abstract base so the protocol core does not
 * depend on DynamoDB's API. `DynamoQueueStore` is the implementation used everywhere.
 */
export abstract class QueueStore {
  /** Idempotent put: 'duplicate' when a SET with this jti is already queued. */
  abstract enqueue(clientId: string, set: NewSet): Promise<EnqueueOutcome>;
  abstract readLease(clientId: string, consistent: boolean): Promise<Lease>;
  /**
   * The lease record and up to `limit` queued SETs in jti order, in one read whose view of the lease
   * record is never newer than its view of the SETs (the record is read first). Eventually
   * consistent unless `consistent`.
   */
  abstract readHead(clientId: string, limit: number, consistent: boolean): Promise<QueueHead>;
  /** In jti order; eventually consistent unless `consistent`. */
  abstract readQueue(clientId: string, limit: number, start?: Record<string, unknown>, consistent?: boolean): Promise<QueuePage>;
  /** Conditional on the version read; throws LeaseConflict when another poll wrote first. */
  abstract writeLease(clientId: string, expectedVersion: number, entries: ReadonlyMap<string, number>, withAcks?: ReadonlySet<string>): Promise<void>;
  /** Conditional deletes; answers how many existed. Unknown keys are not an error. */
  abstract deleteSets(clientId: string, jtis: readonly string[]): Promise<number>;
  /**
   * Acknowledgements: deletes each queued SET, and for a jti no longer queued, its `failed` delivery
   * record (an ack is honoured whenever it arrives, also after the SET ran out of attempts). Answers
   * how many of each it removed; unknown jtis are not an error.
   */
  abstract acknowledge(clientId: string, jtis: readonly string[]): Promise<{ readonly queued: number; readonly failed: number }>;
  /** Moves a queued SET to an `errored` delivery record. False when the SET was no longer queued. */
  abstract recordError(clientId: string, jti: string, report: ErrorReport, now: number): Promise<boolean>;
  /**
   * Records the error on the queued SET, which stays queued (erroredSets `redeliver`); a later
   * `failed` record carries it. False when the SET was no longer queued.
   */
  abstract noteError(clientId: string, jti: string, report: ErrorReport, now: number): Promise<boolean>;
  /** Moves a SET that ran out of attempts to a `failed` delivery record. */
  abstract markFailed(clientId: string, item: QueuedSet, now: number): Promise<boolean>;
  /** Counts one delivery attempt on each SET. */
  abstract countAttempts(clientId: string, jtis: readonly string[]): Promise<void>;
  abstract readRecord(clientId: string, jti: string): Promise<DeliveryRecord | undefined>;
}
