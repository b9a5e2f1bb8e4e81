/**
 * What the operators' queue commands (queue-admin.ts, `setpoll queue ...`) answer: the backlog,
 * delivery records as operators see them, and the results of purge and replay.
 */
import type { DeliveryRecord } from './queue-store.ts';
import type { RecordState } from './schema.ts';

export const RECORD_STATES: readonly RecordState[] = ['errored', 'failed'];

/** A recipient's queue at one moment (not a snapshot: the reads take as long as the queue is big). */
export interface Backlog {
  readonly clientId: string;
  /** When the count started, epoch ms. */
  readonly at: number;
  /** Queued SETs that have not expired. */
  readonly queued: number;
  /** Of those, delivered and not yet acknowledged: named by the lease record with an unexpired lease. */
  readonly leased: number;
  /** Of those, deliverable to the next poll (never delivered, or their lease ran out). */
  readonly ready: number;
  /** Queued SETs past their expiry that TTL has not removed yet; polls skip and delete them. */
  readonly expired: number;
  /** The first unexpired SET in jti order: the oldest when jtis are UUIDv7 (setpoll's are). */
  readonly oldest?: { readonly jti: string; /** From a UUIDv7 jti, epoch ms; absent otherwise. */ readonly createdAt?: number };
  /** Unexpired delivery records by state; `expired` counts the records past their SET's expiry. */
  readonly records: { readonly errored: number; readonly failed: number; readonly expired: number };
  /** Read capacity units the count consumed (as DynamoDB reports them). */
  readonly readUnits: number;
  /** Query pages read. */
  readonly pages: number;
}

/** A delivery record as operators see it; `set` only when asked for. */
export type RecordView = Omit<DeliveryRecord, 'set'> & { readonly set?: string };

export interface PurgeResult {
  readonly clientId: string;
  readonly dryRun: boolean;
  /** Dry run: the queued SETs a purge would delete now (expired ones included). */
  readonly found: number;
  /** SETs this purge deleted (0 in a dry run). A SET acked while the purge ran is not counted. */
  readonly deleted: number;
  readonly readUnits: number;
  readonly writeUnits: number;
}

export type ReplayOutcome =
  /** Back in the queue (dry run: would be). */
  | 'replayed'
  /** Left as a record: the SET expired, a poll would drop it. */
  | 'expired'
  /** Left as a record: a SET with this jti is queued already (published again). */
  | 'already_queued'
  /** Left as a record: it changed while this replay ran (replayed by someone else, or written anew). */
  | 'changed'
  /** No delivery record (of the requested state) for this jti. */
  | 'missing';

export interface ReplayItem {
  readonly jti: string;
  readonly state?: RecordState;
  readonly outcome: ReplayOutcome;
}

export interface ReplayResult {
  readonly clientId: string;
  readonly dryRun: boolean;
  readonly items: readonly ReplayItem[];
}
