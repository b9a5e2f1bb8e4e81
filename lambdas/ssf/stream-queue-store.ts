import { decodeJwt, decodeProtectedHeader } from 'jose';
import { InvalidRequest } from '../core/errors.ts';
import { ForwardingQueueStore } from '../store/forwarding-queue-store.ts';
import type { EnqueueOutcome, NewSet, QueueStore } from '../store/queue-store.ts';
import type { StreamLookup, StreamStore } from '../store/stream-store.ts';

/** A SET that breaks the SSF SET profile, addressed to a recipient with a stream: the producer's error. */
export class StreamProfileViolation extends InvalidRequest {}

export interface StreamQueueStoreOptions {
  readonly queue: QueueStore;
  readonly streams: StreamStore;
  /** The SETs' `iss`, which an SSF SET must carry (SSF §4.1). */
  readonly issuer: string;
  /** How long a recipient's stream is remembered per process. @default 5 */
  readonly cacheSeconds?: number;
  readonly now?: () => number;
}

const MAX_CACHED = 10_000;

/**
 * The one enqueue point (producers' Publisher and the Notifier's fan-out both call `enqueue`), made
 * stream-aware: a recipient without a stream is served as before (OB polling unchanged); one with a
 * stream gets only SETs of a type in its `events_delivered` (others are 'filtered'), nothing when
 * it is disabled or deleted, and only SETs in the SSF profile (anything else is refused with a
 * StreamProfileViolation naming the rule). Every other call is forwarded to the wrapped store.
 *
 * Streams are remembered for `cacheSeconds` per process (this process's own stream changes forget
 * them at once): a change made through another process applies to enqueues within that time.
 */
export class StreamQueueStore extends ForwardingQueueStore {
  readonly #streams: StreamStore;
  readonly #issuer: string;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, { stream: StreamLookup; until: number }>();

  constructor(options: StreamQueueStoreOptions) {
    super(options.queue);
    this.#streams = options.streams;
    this.#issuer = options.issuer;
    this.#ttlMs = (options.cacheSeconds ?? 5) * 1000;
    this.#now = options.now ?? Date.now;
  }

  /** Forgets a recipient's stream after this process changed it. */
  forget(clientId: string): void {
    this.#cache.delete(clientId);
  }

  /** Through the recipient's stream filter; control SETs (verification, stream-updated) go to `inner` directly. */
  override async enqueue(clientId: string, set: NewSet): Promise<EnqueueOutcome> {
    return (await this.#takes(clientId, set.set)) ? this.inner.enqueue(clientId, set) : 'filtered';
  }

  /**
   * Checks one signed SET against every recipient's stream before any is queued, so a producer's
   * SET outside the SSF profile is refused whole (StreamProfileViolation) rather than after some
   * recipients got it.
   */
  async admit(clientIds: readonly string[], compact: string): Promise<void> {
    await Promise.all(clientIds.map((clientId) => this.#takes(clientId, compact)));
  }

  /** Whether the recipient's queue takes the SET: yes without a stream; throws StreamProfileViolation. */
  async #takes(clientId: string, compact: string): Promise<boolean> {
    const stream = await this.#stream(clientId);
    if (stream === undefined) return true;
    if (stream === 'deleted' || stream.status === 'disabled') return false;
    return stream.eventsDelivered.includes(checkSsfProfile(compact, this.#issuer, clientId));
  }

  async #stream(clientId: string): Promise<StreamLookup> {
    const now = this.#now();
    const cached = this.#cache.get(clientId);
    if (cached && cached.until > now) return cached.stream;
    const stream = await this.#streams.read(clientId, false);
    if (this.#cache.size >= MAX_CACHED) this.#cache.clear();
    this.#cache.set(clientId, { stream, until: now + this.#ttlMs });
    return stream;
  }
}

/**
 * SSF §4.1 (and the CAEP interoperability profile) on a signed SET: `typ: secevent+jwt`, `iss` the
 * transmitter's, no `sub`, no `exp`, exactly one event, `txn` set. Answers the event type.
 */
export function checkSsfProfile(compact: string, issuer: string, clientId: string): string {
  const refuse = (rule: string) =>
    new StreamProfileViolation(`${clientId} receives SETs through an SSF stream, so a SET to it ${rule} (SSF 1.0 §4.1)`);
  let header: ReturnType<typeof decodeProtectedHeader>;
  let claims: ReturnType<typeof decodeJwt>;
  try {
    header = decodeProtectedHeader(compact);
    claims = decodeJwt(compact);
  } catch {
    throw refuse('must be a signed JWT');
  }
  if (header.typ !== 'secevent+jwt') throw refuse('must have typ secevent+jwt');
  if (claims.iss !== issuer) throw refuse(`must have iss ${issuer}`);
  if (claims.sub !== undefined) throw refuse('must not carry sub (use sub_id or the event\'s subject)');
  if (claims.exp !== undefined) throw refuse('must not carry exp');
  if (typeof claims.txn !== 'string' || claims.txn === '') throw refuse('must carry txn');
  const events = claims.events;
  const types = typeof events === 'object' && events !== null && !Array.isArray(events) ? Object.keys(events) : [];
  if (types.length !== 1) throw refuse('must carry exactly one event');
  return types[0]!;
}
