import type { DeliveryGate } from './queue-store.ts';
import { codedStorageError } from './store-errors.ts';

export type StreamStatus = 'enabled' | 'paused' | 'disabled';

/** One receiver's SSF stream, as stored (the service shapes the SSF JSON from it). */
export interface StreamRecord {
  readonly clientId: string;
  readonly streamId: string;
  /** As the receiver asked (unknown types kept, so a read echoes the request). */
  readonly eventsRequested: readonly string[];
  /** events_supported ∩ events_requested when last written: exactly what is queued to the stream. */
  readonly eventsDelivered: readonly string[];
  readonly description?: string;
  readonly status: StreamStatus;
  readonly reason?: string;
  /** 1 on creation, +1 on every change: the condition of every write. */
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Epoch ms of the last verification request that was accepted. */
  readonly verifiedAt?: number;
}

/**
 * What a recipient's stream item says: a live stream; 'deleted' (the receiver deleted its stream:
 * nothing is queued to it until it creates another); or undefined (never had one: not an SSF
 * receiver, so its queue works as before, e.g. for OB polling).
 */
export type StreamLookup = StreamRecord | 'deleted' | undefined;

/** A write lost to a concurrent one (version changed), or a create found a live stream. */
export class StreamWriteConflict extends codedStorageError('StreamWriteConflict', 'stream_conflict') {
  constructor(clientId: string) {
    super(`The stream of ${clientId} changed concurrently or already exists`);
  }
}

/** Persistence of streams; storage errors are thrown as they are, the service maps them. */
export abstract class StreamStore {
  abstract read(clientId: string, consistent: boolean): Promise<StreamLookup>;
  /** Creates the stream unless a live one exists (StreamWriteConflict). */
  abstract create(record: StreamRecord): Promise<void>;
  /**
   * Replaces the stream, conditional on `expectedVersion`, and in the same transaction puts the
   * delivery gate (or deletes it when `gate` is undefined: the stream delivers); 'unchanged' leaves it.
   */
  abstract save(record: StreamRecord, expectedVersion: number, gate: DeliveryGate | undefined | 'unchanged'): Promise<void>;
  /** Marks the stream deleted (conditional on its version) and removes its gate. */
  abstract markDeleted(clientId: string, expectedVersion: number, at: string): Promise<void>;
  /**
   * Records an accepted verification request at `now` unless one was accepted after `notBefore`:
   * answers the time of that earlier request when too soon.
   */
  abstract claimVerification(clientId: string, streamId: string, now: number, notBefore: number): Promise<{ accepted: true } | { accepted: false; lastAt: number }>;
}
