import { randomUUID } from 'node:crypto';
import type { JWTPayload } from 'jose';
import { Conflict, NotFound, TooManyRequests } from '../core/errors.ts';
import type { SetSigner } from '../producer/signer.ts';
import { uuidv7 } from '../producer/uuidv7.ts';
import type { DeliveryGate, QueueStore } from '../store/queue-store.ts';
import { StreamWriteConflict, type StreamRecord, type StreamStatus, type StreamStore } from '../store/stream-store.ts';
import { parseStatusChange, parseStreamChange, parseVerification, type StatusChange, type StreamChange, type TransmitterValues } from './stream-request.ts';
import { CAEP_EVENT_TYPES, POLL_DELIVERY, STREAM_UPDATED_EVENT, VERIFICATION_EVENT } from './vocabulary.ts';

/** 429 for a verification request sooner than `min_verification_interval` after the last one (the core error). */
export { TooManyRequests } from '../core/errors.ts';

/** SSF §7.1.1 stream configuration, as answered. */
export interface StreamConfiguration {
  readonly stream_id: string;
  readonly iss: string;
  readonly aud: string;
  readonly events_supported: readonly string[];
  readonly events_requested: readonly string[];
  readonly events_delivered: readonly string[];
  readonly delivery: { readonly method: string; readonly endpoint_url: string };
  readonly min_verification_interval: number;
  readonly description?: string;
}

export interface StreamStatusBody {
  readonly stream_id: string;
  readonly status: StreamStatus;
  readonly reason?: string;
}

/** What the stream service needs of the stream-aware queue: the raw queue and its cache. */
export interface StreamQueue {
  /** The queue without the stream filter: control SETs are always queued. */
  readonly inner: QueueStore;
  forget(clientId: string): void;
}

export interface StreamServiceOptions {
  readonly streams: StreamStore;
  readonly queue: StreamQueue;
  readonly signer: SetSigner;
  /** The SETs' `iss` and the metadata's `issuer`. */
  readonly issuer: string;
  /** The RFC 8936 poll endpoint every stream's `delivery.endpoint_url` names. */
  readonly pollUrl: string;
  /** @default CAEP 1.0's event types */
  readonly eventsSupported?: readonly string[];
  /** @default 30 */
  readonly minVerificationIntervalSeconds?: number;
  /** How long control SETs (verification, stream-updated) stay queued. @default 7 days */
  readonly setTtlSeconds?: number;
  readonly now?: () => number;
}

/** Queued SETs a disable or create discards per request; more stay held behind the gate until they expire. */
const MAX_DISCARD = 10_000;
const DISCARD_PAGE = 100;

/**
 * Receiver-managed SSF streams over the existing queues: one stream per receiver, whose
 * `endpoint_url` is the receiver's own poll endpoint. A stream's status gates delivery (the gate
 * item the poll reads with its lease record), verification and announcements are ordinary SETs in
 * the same queue with the same leases, acks and setErrs, and the stream-aware queue lets only
 * `events_delivered` reach it. Every key is the authenticated client id: another receiver's
 * `stream_id` is a 404.
 */
export class StreamService {
  readonly #streams: StreamStore;
  readonly #queue: StreamQueue;
  readonly #signer: SetSigner;
  readonly #issuer: string;
  readonly #pollUrl: string;
  readonly #supported: readonly string[];
  readonly #minInterval: number;
  readonly #ttl: number;
  readonly #now: () => number;

  constructor(options: StreamServiceOptions) {
    this.#streams = options.streams;
    this.#queue = options.queue;
    this.#signer = options.signer;
    this.#issuer = options.issuer;
    this.#pollUrl = options.pollUrl;
    this.#supported = [...(options.eventsSupported ?? CAEP_EVENT_TYPES)];
    this.#minInterval = options.minVerificationIntervalSeconds ?? 30;
    this.#ttl = options.setTtlSeconds ?? 7 * 86_400;
    this.#now = options.now ?? Date.now;
  }

  get eventsSupported(): readonly string[] {
    return this.#supported;
  }

  async create(clientId: string, body: unknown): Promise<StreamConfiguration> {
    const change = parseStreamChange(body, this.#expected(clientId), 'create');
    const at = new Date(this.#now()).toISOString();
    const requested = change.eventsRequested ?? [];
    const record: StreamRecord = {
      clientId,
      streamId: randomUUID(),
      eventsRequested: requested,
      eventsDelivered: this.#delivered(requested),
      ...(change.description === undefined ? {} : { description: change.description }),
      status: 'enabled',
      version: 1,
      createdAt: at,
      updatedAt: at,
    };
    try {
      await this.#streams.create(record);
    } catch (error) {
      if (error instanceof StreamWriteConflict) throw new Conflict('This receiver has a stream already (one stream per receiver): update, replace or delete it');
      throw error;
    }
    this.#queue.forget(clientId);
    // A new stream starts empty: SETs queued before the receiver's consent are not its stream's.
    await this.#discard(clientId);
    return this.#configuration(record);
  }

  async get(clientId: string, streamId: string): Promise<StreamConfiguration> {
    return this.#configuration(await this.#own(clientId, streamId));
  }

  async list(clientId: string): Promise<StreamConfiguration[]> {
    const stream = await this.#streams.read(clientId, true);
    return typeof stream === 'object' ? [this.#configuration(stream)] : [];
  }

  /** PATCH merges the given members; PUT replaces them (a missing one takes its default). */
  async update(clientId: string, body: unknown, mode: 'update' | 'replace'): Promise<StreamConfiguration> {
    const change = parseStreamChange(body, this.#expected(clientId), mode);
    const current = await this.#own(clientId, change.streamId!);
    const requested = change.eventsRequested ?? (mode === 'update' ? current.eventsRequested : []);
    const description = mode === 'update' ? (change.description ?? current.description) : change.description;
    const { description: _old, ...rest } = current;
    const next: StreamRecord = {
      ...rest,
      eventsRequested: requested,
      eventsDelivered: this.#delivered(requested),
      ...(description === undefined ? {} : { description }),
      version: current.version + 1,
      updatedAt: new Date(this.#now()).toISOString(),
    };
    await this.#save(next, current.version, 'unchanged');
    return this.#configuration(next);
  }

  async delete(clientId: string, streamId: string): Promise<void> {
    const current = await this.#own(clientId, streamId);
    try {
      await this.#streams.markDeleted(clientId, current.version, new Date(this.#now()).toISOString());
    } catch (error) {
      if (error instanceof StreamWriteConflict) throw new Conflict('The stream changed meanwhile; read it and retry');
      throw error;
    }
    this.#queue.forget(clientId);
    await this.#discard(clientId);
  }

  async status(clientId: string, streamId: string): Promise<StreamStatusBody> {
    return statusBody(await this.#own(clientId, streamId));
  }

  /** The receiver's own status change (POST status_endpoint): not announced (SSF §7.1.2). */
  async setStatus(clientId: string, body: unknown): Promise<StreamStatusBody> {
    return this.changeStatus(clientId, parseStatusChange(body), { announce: false });
  }

  /**
   * A status change. One the transmitter makes on its own (an operator) is announced: a
   * stream-updated SET is queued first, and a pause or disable takes effect after it (the gate's
   * `after`), so the receiver learns of it before delivery stops; on re-enable it follows the held SETs.
   */
  async changeStatus(clientId: string, change: StatusChange, options: { announce: boolean }): Promise<StreamStatusBody> {
    const current = await this.#own(clientId, change.streamId);
    if (current.status === change.status && current.reason === change.reason) return statusBody(current);
    const announced = options.announce
      ? await this.#enqueueControl(current, STREAM_UPDATED_EVENT, { status: change.status, ...(change.reason === undefined ? {} : { reason: change.reason }) })
      : undefined;
    const { reason: _old, ...rest } = current;
    const next: StreamRecord = {
      ...rest,
      status: change.status,
      ...(change.reason === undefined ? {} : { reason: change.reason }),
      version: current.version + 1,
      updatedAt: new Date(this.#now()).toISOString(),
    };
    const gate: DeliveryGate | undefined = next.status === 'enabled' ? undefined : { status: next.status, ...(announced ? { after: announced } : {}) };
    await this.#save(next, current.version, gate);
    // Disabled holds nothing; re-enabling a disabled stream also drops what slipped in meanwhile.
    if (next.status === 'disabled' || current.status === 'disabled') await this.#discard(clientId, gate?.after);
    return statusBody(next);
  }

  /** SSF §7.1.4: queues a verification SET (after `min_verification_interval`, else 429). */
  async verify(clientId: string, body: unknown): Promise<void> {
    const request = parseVerification(body);
    const current = await this.#own(clientId, request.streamId);
    const now = this.#now();
    const claim = await this.#streams.claimVerification(clientId, current.streamId, now, now - this.#minInterval * 1000);
    if (!claim.accepted) {
      const retryAfter = Math.max(1, Math.ceil((claim.lastAt + this.#minInterval * 1000 - now) / 1000));
      throw new TooManyRequests(`At most one verification request every ${this.#minInterval} s (min_verification_interval)`, retryAfter);
    }
    // A disabled stream holds nothing, a verification SET included.
    if (current.status === 'disabled') return;
    await this.#enqueueControl(current, VERIFICATION_EVENT, request.state === undefined ? {} : { state: request.state });
  }

  async #own(clientId: string, streamId: string): Promise<StreamRecord> {
    const stream = await this.#streams.read(clientId, true);
    // Another receiver's stream id and an unknown one get the same answer.
    if (typeof stream !== 'object' || stream.streamId !== streamId) throw new NotFound('No such stream');
    return stream;
  }

  async #save(next: StreamRecord, expectedVersion: number, gate: DeliveryGate | undefined | 'unchanged'): Promise<void> {
    try {
      await this.#streams.save(next, expectedVersion, gate);
    } catch (error) {
      if (error instanceof StreamWriteConflict) throw new Conflict('The stream changed meanwhile; read it and retry');
      throw error;
    }
    this.#queue.forget(next.clientId);
  }

  /** Signs and queues a control SET in the SSF profile (sub_id = the stream); answers its jti. */
  async #enqueueControl(stream: StreamRecord, eventType: string, payload: Record<string, unknown>): Promise<string> {
    const now = this.#now();
    const jti = uuidv7(now);
    const iat = Math.floor(now / 1000);
    const claims: JWTPayload = {
      iss: this.#issuer,
      iat,
      jti,
      aud: stream.clientId,
      txn: randomUUID(),
      sub_id: { format: 'opaque', id: stream.streamId },
      events: { [eventType]: payload },
    };
    await this.#queue.inner.enqueue(stream.clientId, { jti, set: await this.#signer.sign(claims), ttl: iat + this.#ttl });
    return jti;
  }

  /** Deletes queued SETs (those after `keepThrough`, when given), up to MAX_DISCARD. */
  async #discard(clientId: string, keepThrough?: string): Promise<void> {
    const queue = this.#queue.inner;
    let start: Record<string, unknown> | undefined;
    for (let seen = 0; seen < MAX_DISCARD; seen += DISCARD_PAGE) {
      const page = await queue.readQueue(clientId, DISCARD_PAGE, start, true);
      const doomed = page.items.map((i) => i.jti).filter((jti) => keepThrough === undefined || jti > keepThrough);
      if (doomed.length > 0) await queue.deleteSets(clientId, doomed);
      if (!page.next) return;
      start = page.next;
    }
  }

  #delivered(requested: readonly string[]): string[] {
    return this.#supported.filter((type) => requested.includes(type));
  }

  #expected(clientId: string): TransmitterValues {
    return { iss: this.#issuer, aud: clientId, eventsSupported: this.#supported, endpointUrl: this.#pollUrl, minVerificationInterval: this.#minInterval };
  }

  #configuration(stream: StreamRecord): StreamConfiguration {
    return {
      stream_id: stream.streamId,
      iss: this.#issuer,
      aud: stream.clientId,
      events_supported: this.#supported,
      events_requested: stream.eventsRequested,
      events_delivered: stream.eventsDelivered,
      delivery: { method: POLL_DELIVERY, endpoint_url: this.#pollUrl },
      min_verification_interval: this.#minInterval,
      ...(stream.description === undefined ? {} : { description: stream.description }),
    };
  }
}

function statusBody(stream: StreamRecord): StreamStatusBody {
  return { stream_id: stream.streamId, status: stream.status, ...(stream.reason === undefined ? {} : { reason: stream.reason }) };
}
