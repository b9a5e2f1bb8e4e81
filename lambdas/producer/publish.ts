import type { JWTPayload } from 'jose';
import type { EnqueueOutcome, QueueStore } from '../store/queue-store.ts';
import type { SetSigner } from './signer.ts';
import { setClaims } from '../shared/helpers.ts';
import { uuidv7 } from './uuidv7.ts';

/** The event claims of one SET (RFC 8417 §2.2). */
export interface PublishInput {
  /** Recipient client ids whose queues receive the SET. */
  readonly recipients: readonly string[];
  /** `events`: event type URI -> event payload. */
  readonly events: Record<string, Record<string, unknown>>;
  /** @default a UUIDv7, so the queue (read in jti order) stays oldest first */
  readonly jti?: string;
  /** @default the recipients' client ids */
  readonly aud?: string | readonly string[];
  readonly sub?: string;
  /** RFC 9493 subject identifier. */
  readonly sub_id?: Record<string, unknown>;
  readonly txn?: string;
  /** Time of event, epoch seconds. */
  readonly toe?: number;
  /** How long the SET stays queued. @default the publisher's ttlSeconds */
  readonly ttlSeconds?: number;
}

export interface PublishResult {
  readonly jti: string;
  readonly set: string;
  /**
   * Per recipient: 'queued'; 'duplicate' when a SET with this jti was already queued (and is kept);
   * 'filtered' when the recipient's SSF stream does not take this event type (or is disabled or
   * deleted): not queued, and not an error. A SET outside the SSF SET profile for a recipient with a
   * stream is refused (StreamProfileViolation) before any recipient's queue gets it.
   */
  readonly outcomes: ReadonlyMap<string, EnqueueOutcome>;
}

/** A store that can refuse a SET for some recipients (the SSF stream filter, lambdas/ssf/stream-queue-store.ts). */
export interface SetAdmission {
  /** Throws when any recipient refuses the SET, before anything is queued. */
  admit(clientIds: readonly string[], compact: string): Promise<void>;
}

export interface PublisherOptions {
  /** With `admit` (the stream-aware store), a SET one recipient refuses is queued to none. */
  readonly store: QueueStore & Partial<SetAdmission>;
  readonly signer: SetSigner;
  readonly issuer: string;
  /** @default 7 days */
  readonly ttlSeconds?: number;
  readonly now?: () => number;
}

export const DEFAULT_SET_TTL_SECONDS = 7 * 24 * 3600;

/** The producer library: builds SET claims, signs them (`typ: secevent+jwt`) and enqueues them. */
export class Publisher {
  readonly #store: QueueStore & Partial<SetAdmission>;
  readonly #signer: SetSigner;
  readonly #issuer: string;
  readonly #ttl: number;
  readonly #now: () => number;

  constructor(options: PublisherOptions) {
    if (!options.issuer) throw new TypeError('issuer is required');
    this.#store = options.store;
    this.#signer = options.signer;
    this.#issuer = options.issuer;
    this.#ttl = options.ttlSeconds ?? DEFAULT_SET_TTL_SECONDS;
    this.#now = options.now ?? Date.now;
  }

  async publish(input: PublishInput): Promise<PublishResult> {
    if (input.recipients.length === 0) throw new TypeError('At least one recipient is required');
    if (typeof input.events !== 'object' || input.events === null || Object.keys(input.events).length === 0) {
      throw new TypeError('events must name at least one event type');
    }
    const ttlSeconds = input.ttlSeconds ?? this.#ttl;
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) throw new TypeError('ttlSeconds must be a positive integer');
    const now = this.#now();
    const jti = input.jti ?? uuidv7(now);
    if (jti.length < 1 || jti.length > 128) throw new TypeError('jti must be 1 to 128 characters');

    const iat = Math.floor(now / 1000);
    const recipients = [...new Set(input.recipients)];
    const aud = input.aud ?? (recipients.length === 1 ? recipients[0]! : recipients);
    const claims: JWTPayload = setClaims({ iss: this.#issuer, iat, jti, aud: typeof aud === 'string' ? aud : [...aud] }, input);
    const set = await this.#signer.sign(claims);
    const ttl = iat + ttlSeconds;

    // All or nothing: a recipient whose SSF stream refuses the SET's shape refuses it for all.
    await this.#store.admit?.(recipients, set);
    // The same signed SET is put to each queue, conditional on its jti: publishing a jti again is a no-op.
    const outcomes = new Map<string, EnqueueOutcome>();
    await Promise.all(
      recipients.map(async (recipient) => {
        outcomes.set(recipient, await this.#store.enqueue(recipient, { jti, set, ttl }));
      }),
    );
    return { jti, set, outcomes };
  }
}
